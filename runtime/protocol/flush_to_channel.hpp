#pragma once

#include <cstddef>

#include "runtime/io/channel.hpp"
#include "runtime/protocol/session.hpp"

namespace weft::protocol {

/// Hands `s`'s frames to `chan` while the reactor holds fewer than
/// `write_ahead` unwritten bytes (its own atomic counter). Keeping that
/// queue short keeps priority decisions late; when it is full, the
/// io_sent that follows its falling under the channel's low watermark is
/// the owner's cue to call this again. Header-only, so that the sans-I/O
/// protocol library does not link the reactor: its callers (the gateway's
/// connection actor and the client actor) do. Called on the owner's thread.
inline void flush_to_channel(session& s, io::channel& chan,
                             std::size_t write_ahead) {
  while (s.wants_write()) {
    auto queued = chan.bytes_queued();
    if (queued >= write_ahead)
      return;
    auto out = s.take_output(static_cast<std::size_t>(write_ahead - queued));
    if (out.empty())
      return;
    chan.send(std::move(out));
  }
}

} // namespace weft::protocol
