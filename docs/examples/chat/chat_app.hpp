#pragma once

#include "runtime/blueprint.hpp"

namespace weft::examples {

/// The chat room example: routes chat.join, chat.say and chat.history
/// (schemas/examples/chat.proto), served by the pool "chat.rooms" of four
/// room actors. Requests are dispatched by their `room` field, so one
/// room's state lives in exactly one actor, which sees that room's
/// requests one at a time and, per connection, in the order they were sent.
/// Each room keeps its last 1000 lines. Build it in main (or a test) and
/// hand it to node::serve.
blueprint chat_app();

} // namespace weft::examples
