#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace weft {

/// One route a worker node hosts, as it announces it to a gateway when it
/// joins (docs/architecture.md, "Distribution"): what the gateway needs to
/// dispatch to it and to convert JSON for it. Travels over BASP.
struct remote_route {
  /// The full route name ("hello.greet").
  std::string name;
  /// Full protobuf type names, or "bytes" / "json".
  std::string request_type;
  std::string reply_type;
  /// weft::dispatch_policy as a number, and its key (field or metadata).
  std::uint8_t dispatch = 0;
  std::string key;
  /// The pool's bound of requests in flight on that worker.
  std::uint64_t max_queue = 0;
  /// route_options::max_body_bytes (0: the gateway's --http-max-body).
  std::uint64_t max_body_bytes = 0;
  /// Serialized DescriptorProtos of the request and reply types: two nodes
  /// that disagree on a route's schema disagree here.
  std::string schema_digest;
  /// HTTP routes (blueprint::http with a plain function handler): the
  /// method and path pattern the gateway's HTTP edge serves them under;
  /// empty for other routes.
  std::string http_method;
  std::string http_path;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, remote_route& x) {
  return f(x.name, x.request_type, x.reply_type, x.dispatch, x.key,
           x.max_queue, x.max_body_bytes, x.schema_digest, x.http_method,
           x.http_path);
}

/// What a worker sends a gateway's cluster hub with its join:
/// `(join_atom, cluster_announcement, actor worker_endpoint) -> ok_atom`.
struct cluster_announcement {
  /// The worker's --name.
  std::string node;
  std::vector<remote_route> routes;
  /// A serialized google.protobuf.FileDescriptorSet with the files of every
  /// protobuf type of `routes` and their dependencies, so a gateway built
  /// without these types can still convert JSON for them.
  std::string schemas;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f,
                                        cluster_announcement& x) {
  return f(x.node, x.routes, x.schemas);
}

} // namespace weft
