#pragma once

#include <memory>
#include <string>

#include "runtime/cluster_announcement.hpp"
#include "runtime/route_spec.hpp"
#include "runtime/route_table.hpp"

namespace weft {

/// The serialized DescriptorProtos of a route's request and reply types
/// ("" for bytes / JSON routes): equal on two nodes iff they agree on the
/// route's schema. Any thread.
std::string schema_digest(const route_spec& spec);

/// The routes a worker node announces to gateways: every route of `table`
/// except the built-in `weft.*` ones and HTTP routes (those stay with the
/// edge that has them), with the schemas of their protobuf types. Any
/// thread; `table` is immutable.
cluster_announcement announce_routes(const route_table& table,
                                     const std::string& node);

/// A gateway's spec of a route a worker announced: an actor route (the
/// node proxy is its worker) whose protobuf types are resolved in this
/// program's generated pool; a type the gateway does not know leaves the
/// route as bytes (no JSON conversion; docs/architecture.md).
std::shared_ptr<const route_spec> remote_route_spec(const remote_route& r);

} // namespace weft
