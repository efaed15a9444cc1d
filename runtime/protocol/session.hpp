#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <absl/container/flat_hash_map.h>
#include <absl/functional/function_ref.h>
#include <absl/status/statusor.h>
#include <absl/time/time.h>
#include <absl/types/span.h>

#include "runtime/errc.hpp"
#include "runtime/payload.hpp"
#include "runtime/protocol/frame_decoder.hpp"
#include "runtime/protocol/frame_writer.hpp"
#include "runtime/protocol/protocol_settings.hpp"
#include "runtime/shared_bytes.hpp"
#include "runtime/small_fifo.hpp"
#include "weft/wire.pb.h"

namespace weft::protocol {

/// Which end of the connection a session is: clients send odd ids.
enum class role { client, server };

/// Local knobs of a session; `local` is announced to the peer in SETTINGS.
struct session_options {
  protocol_settings local;
  /// Inbound messages larger than this are assembled in a temporary file.
  std::uint64_t spill_threshold = 8 * 1024 * 1024;
  /// Bytes of partial inbound messages kept in memory (by announced size);
  /// messages past this budget spill to a file even when small.
  std::uint64_t memory_budget = 64 * 1024 * 1024;
  /// Directory of spill files.
  std::string spill_dir = "/tmp";
  /// Largest CHUNK body weft cuts (also bounded by the peer's frame size).
  std::uint32_t chunk_size = 64 * 1024;
  /// Control answers (pongs, windows) that may wait unwritten.
  std::size_t max_queued_control = 64;
  /// Cancel rate limit: a burst, then a steady rate per second.
  double cancel_burst = 500;
  double cancel_rate = 100;
  /// Emit progress events for inbound messages at least this large.
  std::uint64_t progress_min_size = 1024 * 1024;
  /// Requests without a deadline of their own get this one: when it passes
  /// unanswered, the session answers `deadline_exceeded` and tells the
  /// owner to drop the work (a `cancelled` event). Infinite: no limit.
  absl::Duration request_timeout = absl::InfiniteDuration();
};

/// Something the session tells its owner. Which fields are set depends on
/// `what` (see each kind).
struct session_event {
  enum class kind {
    /// The peer's SETTINGS arrived: messages may flow.
    ready,
    /// A whole inbound message (request, reply, push, one-way): `id`,
    /// `header`, `body`. A reply's header.reply_to names our request.
    message,
    /// Inbound progress of a large message `id`: `done` of `total` bytes;
    /// `header` holds its kind, route and reply_to.
    progress,
    /// A message ended early: `id`, `code`, `text`; `ours` tells whether
    /// the message was one we sent (rejected by the peer, or our request
    /// failed) or one we received (the peer abandoned it: drop its work).
    cancelled,
    /// A request whose body the owner takes as it arrives (the filter
    /// given to on_bytes said so): `id`, `header`, `total`. `piece` events
    /// follow, then `ended`, or `cancelled` (not ours) if it fails.
    begun,
    /// The next bytes of streamed request `id`, in order: `body` (in
    /// memory), `done` of `total` bytes so far. Not checked yet: only
    /// `ended` says that the whole body arrived with its checksum. Report
    /// each piece with piece_consumed() once used: the sender's credit for
    /// the message waits for it.
    piece,
    /// Streamed request `id` arrived whole and checked (`total` bytes):
    /// answer it like a `message` request.
    ended,
    /// A PING we sent came back after `rtt`.
    pong,
    /// The peer sent GOAWAY: `id` is its last processed id, `code`, `text`.
    goaway,
    /// The session is over: `code` (ok after a graceful shutdown) and
    /// `text`. Flush take_output(), then close the connection.
    closed,
  };

  kind what = kind::ready;
  std::uint32_t id = 0;
  weft::wire::MessageHeader header;
  payload body;
  std::uint64_t done = 0;
  std::uint64_t total = 0;
  errc code = errc::ok;
  std::string text;
  bool ours = false;
  absl::Duration rtt;
};

/// Counters of one session, for metrics and leak checks in tests.
struct session_stats {
  std::uint64_t messages_in = 0;
  std::uint64_t messages_out = 0;
  std::uint64_t rejected_in = 0;
  std::uint64_t cancels_in = 0;
  std::size_t open_inbound = 0;
  std::size_t queued_outbound = 0;
  std::uint64_t inbound_memory = 0;
  std::size_t awaiting_reply = 0;
  std::size_t outstanding_requests = 0;
};

/// Picks the inbound requests whose body the owner takes piece by piece
/// (session_event::kind::begun) instead of whole (session::on_bytes).
class body_stream_filter {
public:
  /// True: request `header` (begun with a BEGIN frame) is streamed.
  virtual bool streams(const weft::wire::MessageHeader& header) const = 0;

protected:
  ~body_stream_filter() = default;
};

/// One end of a binary-protocol connection, sans-I/O: received bytes and
/// the clock go in; bytes to write and events come out. It owns all
/// protocol state: reassembly, limits, checksums, flow control, priorities,
/// cancel, deadlines, heartbeats, go-away (docs/protocol.md). Used by one
/// thread at a time: the connection's actor, or the client's actor.
class session {
public:
  session(role r, session_options options, absl::Time now);
  /// The same with options shared by many sessions (a gateway's
  /// connections): one copy instead of one per connection.
  session(role r, std::shared_ptr<const session_options> options,
          absl::Time now);
  ~session();

  session(const session&) = delete;
  session& operator=(const session&) = delete;

  // -- input ----------------------------------------------------------------

  /// Processes received bytes (any split). Events appear in take_events().
  /// Requests begun in these bytes that `streams` picks are handed over
  /// as they arrive (begun, piece, ended) rather than assembled; requests
  /// sent as one MESSAGE frame are always whole.
  void on_bytes(shared_bytes bytes, absl::Time now,
                const body_stream_filter* streams = nullptr);

  /// Runs timers: heartbeats, idle timeout, deadlines. Call at or after
  /// next_timeout(), or whenever convenient.
  void on_tick(absl::Time now);

  /// The next time on_tick has something to do (InfiniteFuture if none).
  absl::Time next_timeout() const;

  /// Frees what the session keeps between messages when it holds none
  /// (empty tables' capacity, the header scratch, the decoder's segment
  /// queue), so that a connection gone idle costs only its fixed state.
  /// Costs a few allocations when the next message comes; call it when
  /// the owner has nothing in flight.
  void trim();

  // -- commands -------------------------------------------------------------

  /// Queues a message and returns its id. `header.kind`, `route` /
  /// `reply_to`, `priority`, `deadline_ms`, `metadata`, ... come from the
  /// caller; id and total_size are set here. A reply to a request that was
  /// cancelled or timed out is dropped (`cancelled`). Fails with
  /// `unavailable` once the session is closing.
  absl::StatusOr<std::uint32_t> send(const weft::wire::MessageHeader& header,
                                     payload body, absl::Time now);

  /// send() of a reply to request `reply_to` that carries a content type
  /// and schema only (no metadata, no status): the same frame, without a
  /// protobuf header built and cleared per reply.
  absl::StatusOr<std::uint32_t> send_reply(std::uint32_t reply_to,
                                           const std::string& content_type,
                                           const std::string& schema,
                                           payload body, absl::Time now);

  /// The owner used `n` bytes of streamed request `id`'s pieces: the
  /// sender may send as many more (a WINDOW frame once half the message's
  /// window is owed). Ignored for a message no longer arriving. An owner
  /// that holds pieces and uses none of them for `request_timeout` fails
  /// the message with `deadline_exceeded` (a hung handler).
  void piece_consumed(std::uint32_t id, std::uint64_t n, absl::Time now);

  /// Ends message `id` (ours or the peer's) early with `code`.
  void cancel(std::uint32_t id, errc code, absl::string_view reason);

  /// Sends a PING carrying `now`; its pong event reports the RTT.
  void ping(absl::Time now);

  /// Starts a graceful shutdown: GOAWAY with the last processed id; the
  /// session closes once every accepted request is answered and every
  /// queued message is written.
  void go_away(absl::string_view text);

  /// Ends the session at once with a connection error (GOAWAY + closed).
  void fail(errc code, absl::string_view text);

  // -- output ---------------------------------------------------------------

  /// Frames to write, in order: control frames first, then message frames
  /// by priority, roughly `max_bytes` (at least one frame if any is ready).
  std::vector<shared_bytes> take_output(std::size_t max_bytes);

  /// True when take_output would return something now.
  bool wants_write() const;

  /// Events since the last call, in order. The span stays valid until the
  /// next take_events() or trim(); the session then reuses its events'
  /// storage (a header's strings included) for later ones, so move out
  /// what you keep.
  absl::Span<session_event> take_events();

  /// A received message waits for its spill file's writer (credit held
  /// back, or its end still being written); on_tick() moves it on, and
  /// next_timeout() asks for a tick every millisecond meanwhile.
  bool spilling() const noexcept {
    return spill_poll_at_ != absl::InfiniteFuture();
  }

  /// True when take_events would return something.
  bool has_events() const noexcept {
    return ev_ && ev_->used > 0;
  }

  // -- state ----------------------------------------------------------------

  bool closed() const noexcept {
    return state_ == state::closed;
  }

  /// The peer's SETTINGS arrived.
  bool ready() const noexcept {
    return peer_ready_;
  }

  const protocol_settings& peer_settings() const noexcept {
    return peer_;
  }

  session_stats stats() const;

  /// Flow-control credit we may still use toward the peer (connection).
  std::int64_t send_window() const noexcept {
    return send_window_;
  }

private:
  struct inbound;
  struct outbound;
  struct queues;
  struct request_entry;
  enum class state { open, draining, closed };

  void handle_frame(frame f, absl::Time now,
                    const body_stream_filter* streams);
  void on_settings(const frame& f);
  /// Takes the body out of `f`'s payload.
  void on_message(frame& f, absl::Time now);
  void on_begin(const frame& f, absl::Time now,
                const body_stream_filter* streams);
  void on_chunk(const frame& f, absl::Time now);
  void on_cancel(const frame& f, absl::Time now);
  void on_window(const frame& f);
  void on_ping(const frame& f, absl::Time now);
  void on_goaway(const frame& f);

  /// Checks parity and monotonicity of a new inbound id.
  bool accept_new_id(std::uint32_t id);
  /// Charges `n` bytes against our receive window of the connection.
  bool charge_connection(std::size_t n);
  /// Returns `n` consumed bytes of connection credit to the peer.
  void consumed_connection(std::size_t n);
  /// Rejects inbound message `id` with CANCEL `code`.
  void reject(std::uint32_t id, errc code, const std::string& text);
  /// Hands the complete, verified inbound message `id` whose header and
  /// body are in the last event (from new_event) to the owner, or takes
  /// that event back (a reply nobody waits for); a request must be
  /// answered by `deadline`.
  void deliver_last(std::uint32_t id, absl::Time deadline);
  void drop_inbound(std::uint32_t id);
  void drop_outbound(std::uint32_t id);
  void push_event(session_event ev);
  /// Appends an empty event of kind `what` to fill in place; the reference
  /// holds until the next event is added.
  session_event& new_event(session_event::kind what);
  /// The event new_event() made last, and taking it back.
  session_event& last_event() noexcept;
  void drop_last_event() noexcept;
  /// Returns the sender's credit for inbound `id` now, or holds it while
  /// its spill writer is too far behind.
  void grant_credit(std::uint32_t id, inbound& in, absl::Time now);
  /// Gives held credit back and delivers fully written messages once
  /// their spill writers caught up (from on_tick, every spill_poll).
  void poll_spills(absl::Time now);
  /// Hands inbound `id`, complete and checked, to the owner.
  void deliver_inbound(std::uint32_t id, inbound& in, absl::Time deadline);
  /// Pushes a `cancelled` event for message `id`.
  void push_cancelled(std::uint32_t id, errc code, std::string text,
                      bool ours);
  void maybe_finish_drain();
  void close_with(errc code, const std::string& text);

  enum class write_result {
    progress,
    finished,
    blocked_connection,
    blocked_window,
    blocked_slot
  };

  /// Writes the next frame of `out` into data_, or says what blocks it.
  write_result write_one(outbound& out);
  /// Fails an outbound message that cannot be sent (unreadable body, peer
  /// limits).
  void fail_outbound(outbound& out, const absl::Status& why);
  /// Writes the BEGIN frame of `out` (which must have a free slot).
  void write_begin(outbound& out);
  /// Begins every not yet started message older than `id`, so ids
  /// increase on the wire; false when a slot is missing for one.
  bool begin_older(std::uint32_t id);
  /// The outbound queues, made if there are none.
  queues& queues_made();
  /// Queued message `id`, or null.
  outbound* find_outbound(std::uint32_t id) const;
  /// Checks a message against the peer's announced limits.
  absl::Status check_peer_limits(std::size_t header_size,
                                 std::uint64_t total) const;
  /// What send() needs of a header besides its bytes.
  struct outgoing {
    weft::wire::Kind kind = weft::wire::KIND_REQUEST;
    std::uint32_t reply_to = 0;
    std::size_t priority = 0;
    std::uint32_t deadline_ms = 0;
  };
  /// send() with the header given as `encode(id, total_size, out)`, which
  /// appends its bytes to `out`.
  absl::StatusOr<std::uint32_t> send_encoded(
    const outgoing& what,
    absl::FunctionRef<void(std::uint32_t, std::uint64_t, std::string&)> encode,
    payload body, absl::Time now);
  /// Writes message `id` as one MESSAGE frame straight into data_ when
  /// nothing queued should go first and the window allows; false if it
  /// must take the queue.
  bool write_now(std::uint32_t id, const std::string& header_bytes,
                 const payload& body);
  /// A message of `frame_len` bytes as one frame, `total` of them body,
  /// goes as a single MESSAGE frame rather than chunked.
  bool fits_one_frame(std::uint64_t frame_len, std::uint64_t total) const;

  role role_;
  std::shared_ptr<const session_options> opt_;
  /// opt_->chunk_size, at least 64.
  std::uint32_t chunk_size_;
  protocol_settings peer_;
  state state_ = state::open;
  bool peer_ready_ = false;
  bool got_preface_ = false;
  bool peer_going_away_ = false;
  std::uint32_t goaway_last_id_ = 0;
  std::uint32_t sent_goaway_last_ = 0;
  bool sent_goaway_ = false;

  frame_decoder decoder_;
  frame_writer control_;
  frame_writer data_;
  /// The encoded header of the message being sent (capacity reused).
  /// Made at the first send(): an idle connection holds none.
  std::unique_ptr<std::string> header_scratch_;
  /// Events pile up in the first `used` slots of `filling`; the last ones
  /// handed out live in `handed`. Both keep their slots, whose headers keep
  /// their strings: no header is built or freed per message. Out of line
  /// and freed by trim(): an idle connection holds none.
  struct event_buffers {
    std::vector<session_event> filling;
    std::vector<session_event> handed;
    std::size_t used = 0;
  };
  std::unique_ptr<event_buffers> ev_;
  /// When on_tick looks at the spill writers next (InfiniteFuture: none
  /// holds credit or writes a finished message).
  absl::Time spill_poll_at_ = absl::InfiniteFuture();
  /// Messages of inbound_ past their END, waiting for their spill writer.
  std::uint32_t finishing_ = 0;

  // Inbound.
  std::uint32_t last_in_id_ = 0;
  absl::flat_hash_map<std::uint32_t, std::unique_ptr<inbound>> inbound_;
  std::uint64_t inbound_memory_ = 0;
  std::int64_t recv_window_ = 0;
  std::uint64_t unacked_connection_ = 0;
  /// Peer requests handed to the owner and not answered yet.
  absl::flat_hash_map<std::uint32_t, request_entry> awaiting_reply_;
  /// No unanswered entry of awaiting_reply_ has an earlier deadline: set
  /// exactly by on_tick, lowered by each new request, and left as it is
  /// when one goes, so that next_timeout need not visit every request in
  /// flight after each batch (a tick it calls too early finds nothing).
  absl::Time awaiting_earliest_ = absl::InfiniteFuture();

  // Outbound.
  std::uint32_t next_out_id_ = 0;
  /// Messages waiting to be written, with their queues: made when the
  /// first message has to wait and freed once all are written, so an idle
  /// connection (or one whose messages all go out at once) holds none.
  std::unique_ptr<queues> q_;
  std::size_t open_outbound_ = 0;
  std::int64_t send_window_ = 0;
  /// The last take_output could write no message frame; cleared by credit,
  /// a freed slot or a new message.
  bool data_stalled_ = false;
  /// Our requests waiting for a reply: id -> deadline.
  absl::flat_hash_map<std::uint32_t, absl::Time> outstanding_;

  // Liveness.
  absl::Time last_received_;
  absl::Time ping_sent_ = absl::InfiniteFuture();
  double cancel_tokens_;
  absl::Time cancel_refill_;

  /// The counted part of session_stats (the rest is read off the tables).
  struct counters {
    std::uint64_t messages_in = 0;
    std::uint64_t messages_out = 0;
    std::uint64_t rejected_in = 0;
    std::uint64_t cancels_in = 0;
  } stats_;
};

} // namespace weft::protocol
