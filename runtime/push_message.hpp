#pragma once

#include <map>
#include <string>

#include "runtime/payload.hpp"
#include "weft/wire.pb.h"

namespace weft {

/// A message the server sends a client unasked (a PUSH frame, see
/// docs/protocol.md): to one client, to a topic's subscribers, or to all.
struct push_message {
  /// What the client's push handler dispatches on, e.g. "chat.said".
  std::string route;
  payload body;
  std::string content_type = "application/octet-stream";
  /// Full protobuf type name of the body, if any.
  std::string schema;
  std::map<std::string, std::string> metadata;
  /// URGENT 0 .. BULK 3 (docs/protocol.md §5).
  std::int32_t priority = weft::wire::PRIORITY_NORMAL;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, push_message& x) {
  return f(x.route, x.body, x.content_type, x.schema, x.metadata, x.priority);
}

} // namespace weft
