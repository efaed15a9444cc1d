#pragma once

#include <memory>
#include <string>

#include <absl/status/statusor.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/dynamic_message.h>

#include "runtime/cluster_announcement.hpp"
#include "runtime/route_spec.hpp"
#include "runtime/route_table.hpp"

namespace weft {

/// The serialized DescriptorProtos of a route's request and reply types
/// ("" for bytes / JSON routes): equal on two nodes iff they agree on the
/// route's schema. Any thread.
std::string schema_digest(const route_spec& spec);

/// The routes a worker node announces to gateways: every route of `table`
/// except the built-in `weft.*` ones and asynchronous or streamed HTTP
/// routes (those answer through the HTTP connection's actor, so they stay
/// with the edge that has them), with the schemas of their protobuf types.
/// Any thread; `table` is immutable.
cluster_announcement announce_routes(const route_table& table,
                                     const std::string& node);

/// The protobuf schemas a worker announced (cluster_announcement::schemas),
/// rebuilt on a gateway whose own program lacks some of its types.
struct announced_schemas {
  google::protobuf::DescriptorPool pool;
  /// mutable: GetPrototype is not const, and DynamicMessageFactory guards
  /// its prototypes with its own mutex, so sharing it between threads is
  /// safe.
  mutable google::protobuf::DynamicMessageFactory factory{&pool};
};

/// Rebuilds a serialized FileDescriptorSet (files after their
/// dependencies) into a pool of its own. Errors: invalid_argument for bytes
/// that are not a set or files that do not build. shared_ptr: route specs
/// and schema registries of several route tables point into the pool.
absl::StatusOr<std::shared_ptr<const announced_schemas>>
rebuild_schemas(const std::string& serialized_set);

/// True if this program's generated pool lacks a protobuf type of `r`.
bool needs_announced_schemas(const remote_route& r);

/// A gateway's spec of a route a worker announced: an actor route (the
/// node proxy is its worker) whose protobuf types are resolved in this
/// program's generated pool, else in `rebuilt` (keeping it alive as long
/// as the spec); a type found in neither leaves the route as bytes (no
/// JSON conversion).
std::shared_ptr<const route_spec>
remote_route_spec(const remote_route& r,
                  const std::shared_ptr<const announced_schemas>& rebuilt
                  = {});

} // namespace weft
