#pragma once

// Test-only helpers for the protocol codec: a client and a server session
// wired back to back in memory, a frame parser to look at what a session
// wrote, and builders of raw frames for tests that play a misbehaving peer.

#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <random>
#include <string>
#include <vector>

#include <absl/strings/string_view.h>
#include <absl/time/time.h>

#include "runtime/protocol/frame_decoder.hpp"
#include "runtime/protocol/session.hpp"
#include "runtime/shared_bytes.hpp"
#include "weft/wire.pb.h"

namespace weft::protocol::testing {

/// Concatenates slices returned by take_output().
std::string concat(const std::vector<shared_bytes>& slices);

/// One frame as seen on the wire, with its position in the stream.
struct wire_frame {
  std::uint8_t type = 0;
  std::uint8_t flags = 0;
  std::uint32_t id = 0;
  std::string payload;
  /// Offset of the frame's payload in the parsed stream.
  std::size_t payload_offset = 0;

  bool is(frame_type t) const noexcept {
    return type == static_cast<std::uint8_t>(t);
  }
};

/// Splits a well-formed stream (optionally opened by a preface) into frames.
/// A trailing partial frame is ignored.
std::vector<wire_frame> parse_frames(absl::string_view stream,
                                     bool has_preface);

/// The error code of a CANCEL or GOAWAY frame.
errc code_of_frame(const wire_frame& f);

// -- raw frame builders --------------------------------------------------------

/// A frame header (with `reserved`) and `payload`, as bytes.
std::string raw_frame(std::uint8_t type, std::uint8_t flags, std::uint32_t id,
                      absl::string_view payload, std::uint16_t reserved = 0);

std::string raw_frame(frame_type type, std::uint8_t flags, std::uint32_t id,
                      absl::string_view payload);

/// Preface (with `major`) followed by a SETTINGS frame announcing `s`.
std::string raw_preface_and_settings(const protocol_settings& s = {},
                                     std::uint8_t major = version_major);

std::string be32(std::uint32_t x);
std::string be64(std::uint64_t x);

/// A MESSAGE payload for `header` (its id and total_size set from the
/// arguments) with the right checksum.
std::string message_payload(weft::wire::MessageHeader header,
                            absl::string_view body);

/// The encoded header of a message with `id` and `total_size`.
std::string encoded_header(weft::wire::MessageHeader header, std::uint32_t id,
                           std::uint64_t total_size);

/// A request header for `route` with `priority`.
weft::wire::MessageHeader request(absl::string_view route,
                                  weft::wire::Priority priority
                                  = weft::wire::PRIORITY_NORMAL);

/// A one-way (client) or push (server) header.
weft::wire::MessageHeader one_way(weft::wire::Priority priority
                                  = weft::wire::PRIORITY_NORMAL);

/// A reply header answering `request_id`.
weft::wire::MessageHeader reply_to(std::uint32_t request_id);

/// Deterministic pseudo-random bytes.
shared_bytes random_bytes(std::size_t n, std::uint64_t seed);

/// Events of one kind.
std::vector<session_event> of_kind(absl::Span<const session_event> events,
                                   session_event::kind what);

// -- session_pair --------------------------------------------------------------

/// How bytes are cut when they are handed to the receiving session.
enum class cut_mode {
  /// In the pieces take_output() returned.
  as_written,
  /// In pieces cut at random points (rng()).
  random,
  /// One byte at a time.
  byte_by_byte,
};

/// A client and a server session back to back, with a virtual clock. Bytes
/// written by one side wait "in flight" until pumped into the other; a held
/// direction keeps them in flight (e.g. to withhold WINDOW frames).
class session_pair {
public:
  struct side {
    side(role r, session_options opt, absl::Time now)
      : s(r, std::move(opt), now) {
    }
    session s;
    /// Events taken from s so far.
    std::vector<session_event> events;
    /// Frames s wrote (when tapping).
    std::vector<wire_frame> wrote;
    /// Bytes s wrote that the peer has not received yet.
    std::deque<shared_bytes> in_flight;
    /// Keeps in_flight from being delivered.
    bool hold = false;
    /// Given to s.on_bytes: which requests s takes piece by piece.
    const body_stream_filter* streams = nullptr;
    frame_decoder tap_decoder{16'777'215, true};
  };

  explicit session_pair(session_options client_options = {},
                        session_options server_options = {},
                        std::uint64_t seed = 1);

  session& client() {
    return client_.s;
  }
  session& server() {
    return server_.s;
  }
  side& client_side() {
    return client_;
  }
  side& server_side() {
    return server_;
  }

  /// Events of the client / server so far (drains the sessions first).
  std::vector<session_event>& client_events();
  std::vector<session_event>& server_events();

  /// Moves up to `max_bytes` of `from`'s output toward its peer and delivers
  /// everything in flight unless the direction is held. Returns the bytes
  /// taken from `from` plus the bytes delivered.
  std::size_t pump_from(side& from, std::size_t max_bytes = SIZE_MAX);

  /// Pumps both ways until nothing moves (bounded); returns the rounds run.
  std::size_t pump(std::size_t max_bytes = SIZE_MAX);

  /// Delivers what is in flight from `from` (even when held).
  void release(side& from);

  void advance(absl::Duration d) {
    now_ += d;
  }
  absl::Time now() const {
    return now_;
  }

  /// Ticks both sessions at now().
  void tick();

  cut_mode cut = cut_mode::as_written;
  /// Records the frames each side writes in side::wrote.
  bool tap = true;
  std::mt19937_64 rng;

private:
  /// Hands `from`'s bytes in flight to `to`; returns how many.
  std::size_t deliver(side& from, side& to);
  void record(side& from, const shared_bytes& bytes);
  side& peer_of(side& s) {
    return &s == &client_ ? server_ : client_;
  }

  absl::Time now_;
  side client_;
  side server_;
};

/// A private spill directory, removed with its files at the end.
class temp_dir {
public:
  temp_dir() {
    std::string templ = "/tmp/weft-proto-test-XXXXXX";
    path_ = ::mkdtemp(templ.data());
  }
  ~temp_dir() {
    for (const auto& f : files())
      ::unlink((path_ + "/" + f).c_str());
    ::rmdir(path_.c_str());
  }
  const std::string& path() const {
    return path_;
  }
  std::vector<std::string> files() const {
    std::vector<std::string> out;
    if (auto* d = ::opendir(path_.c_str())) {
      while (auto* e = ::readdir(d))
        if (e->d_name[0] != '.')
          out.emplace_back(e->d_name);
      ::closedir(d);
    }
    return out;
  }

private:
  std::string path_;
};

} // namespace weft::protocol::testing
