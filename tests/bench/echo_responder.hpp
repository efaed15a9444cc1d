#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <absl/status/status.h>

#include "runtime/protocol/frame_decoder.hpp"
#include "runtime/protocol/frame_writer.hpp"
#include "runtime/protocol/protocol_settings.hpp"
#include "runtime/shared_bytes.hpp"

namespace weft::bench {

/// One complete echo request taken off the wire.
struct echo_request {
  std::uint32_t id = 0;
  std::string content_type;
  shared_bytes body;
};

/// The server side of one connection of the reference echo servers, sans-I/O:
/// the same preface, SETTINGS and MESSAGE framing as weft, through
/// runtime/protocol's frame_decoder / frame_writer / checksum, and nothing
/// else (no chunked messages, no flow control toward the client: the load
/// generator bounds what is in flight). Per MESSAGE it does the work weft's
/// session does for one: parse the protobuf header, verify the CRC-64
/// checksum, encode a REPLY header, checksum it, write the frame. Used by
/// one thread (an epoll loop or a broker).
class echo_responder {
public:
  /// Writes this side's preface and SETTINGS (protocol defaults).
  echo_responder();

  /// Feeds received bytes; appends complete requests to `requests` and
  /// answers PINGs and returns connection credit by itself. An error means
  /// "close the connection".
  absl::Status on_bytes(shared_bytes bytes, std::vector<echo_request>& requests);

  /// Writes the REPLY to `req` carrying `body` (a fresh even id).
  void reply(const echo_request& req, const shared_bytes& body);

  /// Bytes to write, in order.
  std::vector<shared_bytes> take_output() {
    return writer_.take();
  }

  bool wants_write() const noexcept {
    return !writer_.empty();
  }

private:
  absl::Status on_frame(const protocol::frame& f,
                        std::vector<echo_request>& requests);

  protocol::protocol_settings local_;
  protocol::frame_decoder decoder_;
  protocol::frame_writer writer_;
  std::vector<std::uint8_t> header_buf_;
  std::uint32_t next_id_ = 2;
  std::uint64_t unacked_ = 0;
  bool got_settings_ = false;
};

} // namespace weft::bench
