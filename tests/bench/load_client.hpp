#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <absl/status/status.h>
#include <absl/strings/string_view.h>

#include "runtime/protocol/checksum.hpp"
#include "runtime/protocol/frame_decoder.hpp"
#include "runtime/protocol/frame_writer.hpp"
#include "runtime/protocol/protocol_settings.hpp"
#include "runtime/shared_bytes.hpp"

namespace weft::bench {

/// One reply (or a CANCEL of one of our requests) seen by the generator.
struct load_reply {
  std::uint32_t reply_to = 0;
  /// Status.code of the reply, or the CANCEL's error code.
  std::uint32_t code = 0;
  std::uint64_t body_size = 0;
  /// The body of a MESSAGE reply of at most 256 bytes (e.g. sink's JSON).
  std::string small_body;
  /// False when the CRC-64 checksum did not match (MESSAGE replies).
  bool checksum_ok = true;
};

/// The client end of one connection of the load generator, sans-I/O, on
/// runtime/protocol's frame_decoder / frame_writer / checksum: preface and
/// SETTINGS, MESSAGE requests, one chunked upload at a time under the
/// server's flow-control windows, replies (MESSAGE or chunked), PING
/// answers and connection credit. Used by one thread.
class load_client {
public:
  /// Writes the preface and SETTINGS (protocol defaults).
  load_client();

  /// Feeds received bytes; appends finished replies to `replies`. An error
  /// means the connection is unusable.
  absl::Status on_bytes(shared_bytes bytes, std::vector<load_reply>& replies);

  /// The server's SETTINGS arrived: requests may be sent.
  bool ready() const noexcept {
    return ready_;
  }

  /// Connection credit toward the server.
  std::int64_t send_window() const noexcept {
    return send_window_;
  }

  /// Writes a MESSAGE request; returns its id. The caller checks
  /// send_window() first.
  std::uint32_t request(absl::string_view route, std::uint32_t priority,
                        const shared_bytes& body);

  /// Starts the chunked upload of a `total`-byte request (one at a time);
  /// returns its id.
  std::uint32_t begin_upload(absl::string_view route, std::uint32_t priority,
                             std::uint64_t total);

  /// Body bytes the upload may send now (windows, frame size, what is left).
  std::size_t upload_room() const noexcept;

  /// Writes the next CHUNK of the upload from `piece` (at most
  /// upload_room() bytes); the last one gets END and the checksum.
  void upload_chunk(const shared_bytes& piece);

  std::uint64_t upload_left() const noexcept {
    return upload_total_ - upload_sent_;
  }

  std::vector<shared_bytes> take_output() {
    return writer_.take();
  }

  bool wants_write() const noexcept {
    return !writer_.empty();
  }

private:
  absl::Status on_frame(const protocol::frame& f,
                        std::vector<load_reply>& replies);
  void consumed(std::size_t n);

  protocol::protocol_settings local_;
  protocol::protocol_settings peer_;
  protocol::frame_decoder decoder_;
  protocol::frame_writer writer_;
  std::vector<std::uint8_t> header_buf_;
  bool ready_ = false;
  std::uint32_t next_id_ = 1;
  std::int64_t send_window_ = 0;
  std::uint64_t unacked_ = 0;
  // The upload in progress (id 0: none).
  std::uint32_t upload_id_ = 0;
  std::uint64_t upload_total_ = 0;
  std::uint64_t upload_sent_ = 0;
  std::int64_t upload_window_ = 0;
  protocol::checksum upload_sum_;
  // A chunked reply being received (id 0: none).
  std::uint32_t in_id_ = 0;
  load_reply in_reply_;
  std::uint64_t in_unacked_ = 0;
};

} // namespace weft::bench
