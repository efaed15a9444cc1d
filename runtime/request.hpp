#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "runtime/payload.hpp"

namespace weft {

/// A request as a route's handler actor receives it, whatever the edge it
/// came from: `(request_atom, request) -> response` (or a weft error).
struct request {
  /// The route it was sent to, e.g. "echo".
  std::string route;
  payload body;
  /// e.g. "application/octet-stream", "application/x-protobuf".
  std::string content_type;
  /// Full protobuf type name of the body, if any.
  std::string schema;
  std::map<std::string, std::string> metadata;
  /// The client as "ip:port".
  std::string peer;
  /// The connection and message id it arrived as (0 if not from a socket).
  std::uint64_t connection_id = 0;
  std::uint32_t message_id = 0;
  /// Absolute deadline in Unix nanoseconds; 0 = none.
  std::int64_t deadline_ns = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, request& x) {
  return f(x.route, x.body, x.content_type, x.schema, x.metadata, x.peer,
           x.connection_id, x.message_id, x.deadline_ns);
}

/// A successful answer of a handler; failures are weft errors instead.
struct response {
  payload body;
  std::string content_type;
  std::string schema;
  std::map<std::string, std::string> metadata;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, response& x) {
  return f(x.body, x.content_type, x.schema, x.metadata);
}

} // namespace weft
