#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include <absl/status/status.h>
#include <absl/strings/string_view.h>
#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "runtime/http_response.hpp"
#include "runtime/shared_bytes.hpp"
#include "runtime/sse_event.hpp"

namespace weft {

/// Metadata key of a response whose body follows as a stream ("chunked"
/// or "events"); set by http_stream, read by the HTTP gateway.
inline constexpr const char* http_stream_key = ":stream";

/// The response of a streamed HTTP route (blueprint::http with a handler
/// `(const http_request&, context&, http_stream out)`): a head, then
/// chunks written over time (Transfer-Encoding: chunked) or Server-Sent
/// Events, then the end.
///
///     api.get("/ticks", [](const weft::http_request& req, weft::context&,
///                          weft::http_stream out) {
///       out.start_events();
///       out.send({.data = "tick", .id = "1"});
///       out.end();
///     });
///
/// Any thread may call any method, at any time: keep a copy in a timer, a
/// background task or another actor. Copies share one stream. Writes are
/// bounded: at most window() bytes may be unacknowledged (not yet taken by
/// the client's socket); past that, write() refuses with `overloaded` and
/// on_writable() says when to go on. A slow client thus costs its own
/// stream (and the app decides: wait, drop events, or fail()), never
/// unbounded memory. When the last copy goes without end(), the client's
/// response is cut off (an error before the head).
class http_stream {
public:
  /// Unacknowledged bytes a stream allows by default.
  static constexpr std::size_t default_window = 256 * 1024;

  /// Counters shared by the copies and the writer actor.
  struct shared_state {
    std::atomic<std::uint64_t> unacked{0};
    std::atomic<bool> started{false};
    std::atomic<bool> ended{false};
    std::atomic<bool> closed{false};
    std::atomic<std::size_t> window{default_window};
  };

  /// Made by the route's wrapper around the writer actor (see
  /// spawn_http_stream_writer); not for handlers.
  http_stream(caf::actor writer, std::shared_ptr<shared_state> state);

  /// Sends the head: `head`'s status, content type and headers (its body,
  /// if any, as the first chunk). Errors: failed_precondition if the head
  /// was sent already. Without it, the first write() sends 200 with
  /// `application/octet-stream`.
  absl::Status start(http_response head = http_response::bytes(""));
  /// Sends the head of an event stream: `text/event-stream`,
  /// `Cache-Control: no-cache` and `head`'s status and other headers. The
  /// gateway then writes a keep-alive comment when the stream is idle.
  /// Without it, the first send() starts one with status 200.
  absl::Status start_events(http_response head = http_response::text(""));

  /// Writes `data` as one chunk (zero-copy for shared_bytes). Errors:
  /// overloaded (the window is full: nothing was written; see
  /// on_writable), unavailable (the client went away), failed_precondition
  /// (after end()).
  absl::Status write(shared_bytes data);
  absl::Status write(absl::string_view data);
  /// Writes one event (start_events() first, implicitly). Errors: those of
  /// write() and invalid_argument (see encode_sse).
  absl::Status send(const sse_event& ev);
  /// Writes an SSE comment line (`: text`), e.g. to keep proxies open.
  absl::Status comment(absl::string_view text);

  /// Ends the response (the last chunk). Later calls do nothing.
  void end();
  /// Before the head: the client gets `failure`'s status as the answer.
  /// After it: the response is cut off (the connection closes without the
  /// last chunk, so the client sees an incomplete body).
  void fail(const absl::Status& failure);

  /// True while fewer than window() bytes are unacknowledged and the
  /// stream is open.
  bool writable() const noexcept;
  /// Bytes written but not yet taken by the client's socket.
  std::uint64_t unacknowledged() const noexcept;
  /// The client went away, or the stream ended or failed.
  bool closed() const noexcept;
  std::size_t window() const noexcept;
  /// Changes the bound on unacknowledged bytes (at least 1).
  void set_window(std::size_t bytes) noexcept;
  /// Runs `fn` once, on the stream's writer actor, when half the window is
  /// free again or the stream closed (check closed()); at once (still on
  /// the writer) if that is so already. A later call replaces it.
  void on_writable(std::function<void()> fn);

private:
  struct owner;
  absl::Status write_kind(shared_bytes data, std::uint8_t kind);
  absl::Status ensure_started(bool events);
  // shared_ptr: every copy (in timers, tasks, callbacks) writes to the same
  // stream; the last one to go ends an unfinished stream (see owner).
  std::shared_ptr<owner> owner_;
};

/// Spawns the writer actor of one streamed response: it answers
/// (stream_open_atom) (delegated from the handler, on behalf of the HTTP
/// connection `connection`) with the head, forwards chunks to the
/// connection as exchange `seq`, and counts their acknowledgements in
/// `state`. It exits once the stream ended or the connection went away.
caf::actor
spawn_http_stream_writer(caf::actor_system& sys, caf::actor connection,
                         std::uint64_t seq,
                         std::shared_ptr<http_stream::shared_state> state);

} // namespace weft
