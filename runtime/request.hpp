#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

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
  /// Who the client is: assigned by the edge (the connection for now), or
  /// claimed by the client and checked by middleware.
  std::string client_id;
  /// Request-scoped values set by middleware for the handler (Flask's `g`).
  std::map<std::string, std::string> values;
  /// The connection and message id it arrived as (0 if not from a socket).
  std::uint64_t connection_id = 0;
  std::uint32_t message_id = 0;
  /// Absolute deadline in Unix nanoseconds; 0 = none.
  std::int64_t deadline_ns = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, request& x) {
  return f(x.route, x.body, x.content_type, x.schema, x.metadata, x.peer,
           x.client_id, x.values, x.connection_id, x.message_id,
           x.deadline_ns);
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

/// Several requests for one route that arrived together (one read of one
/// connection). A handler that accepts batches answers
/// `(request_atom, request_batch) -> reply_batch` with one reply per
/// request; a batch costs one message each way instead of one per request.
struct request_batch {
  std::vector<request> items;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, request_batch& x) {
  return f(x.items);
}

/// The answer to one request of a batch: `code` 0 and `rsp`, or a weft
/// error code (weft::errc) and `message`.
struct batch_reply {
  std::uint32_t message_id = 0;
  std::uint8_t code = 0;
  std::string message;
  response rsp;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, batch_reply& x) {
  return f(x.message_id, x.code, x.message, x.rsp);
}

/// The answers to a request_batch, in any order.
struct reply_batch {
  std::vector<batch_reply> items;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, reply_batch& x) {
  return f(x.items);
}

} // namespace weft
