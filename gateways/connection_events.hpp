#pragma once

#include <string>

#include <absl/strings/string_view.h>
#include <caf/fwd.hpp>

#include "runtime/io/channel.hpp"

namespace weft {

/// Emits `what` (lifecycle::connection_opened or connection_closed) for
/// `channel` on the event bus of the node that owns `sys` (none: nothing),
/// with the attributes docs/services.md lists: connection, peer, protocol
/// ("binary", "http", ...), client, and for a close its reason (an errc
/// name, empty for a clean close). Called by a connection actor.
void emit_connection_event(caf::actor_system& sys, absl::string_view what,
                           const io::channel& channel,
                           absl::string_view protocol,
                           const std::string& client_id,
                           absl::string_view reason = {});

/// The reason attribute of connection.closed for a channel's io_closed
/// reason: empty for a clean close, else the errc name.
std::string close_reason(const caf::error& reason);

} // namespace weft
