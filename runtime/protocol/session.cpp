#include "runtime/protocol/session.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <system_error>
#include <unistd.h>

#include <absl/strings/str_cat.h>

#include "runtime/error_bridge.hpp"
#include "runtime/protocol/checksum.hpp"
#include "runtime/protocol/header_codec.hpp"
#include "runtime/protocol/spill_files.hpp"
#include "runtime/protocol/spill_writer.hpp"
#include "runtime/protocol/wire_format.hpp"

namespace weft::protocol {

namespace {

constexpr std::uint64_t progress_step = 1024 * 1024;

/// How far a spill file's writer may fall behind the connection (bytes of
/// a received message queued for it, views of read buffers): beyond this
/// the sender's credit waits for the writer, so that a slow disk pushes
/// back on the sender instead of on the connection's thread.
constexpr std::size_t spill_write_ahead = 8 * 1024 * 1024;
/// How often a session looks at its spill writers while one holds credit
/// back or still writes a finished message.
constexpr absl::Duration spill_poll = absl::Milliseconds(1);

absl::Span<const std::uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::string text_of(const shared_bytes& payload, std::size_t offset) {
  if (payload.size() <= offset)
    return std::string{};
  return std::string{payload.view().substr(offset)};
}

std::size_t priority_of(const weft::wire::MessageHeader& header) {
  auto p = static_cast<int>(header.priority());
  return static_cast<std::size_t>(std::clamp(p, 0, 3));
}

} // namespace

// -- internal state -----------------------------------------------------------

/// A chunked message being received.
struct session::inbound {
  weft::wire::MessageHeader header;
  std::uint64_t total = 0;
  std::uint64_t received = 0;
  std::int64_t window = 0;
  std::uint64_t unacked = 0;
  std::uint64_t last_progress = 0;
  checksum sum;
  bool in_memory = true;
  /// Handed to the owner piece by piece (session_event::kind::begun).
  bool streamed = false;
  /// Streamed: bytes handed to the owner and not reported used, and when
  /// the owner must have used some by (InfiniteFuture while it holds none).
  std::uint64_t held = 0;
  absl::Time stall_deadline = absl::InfiniteFuture();
  std::vector<std::uint8_t> memory;
  int fd = -1;
  std::string path;
  /// Writes the spill file off the connection's thread (null: inline,
  /// when no thread could be started).
  std::unique_ptr<spill_writer> writer;
  /// Credit owed to the sender, held while the writer is behind.
  bool credit_held = false;
  /// All of it arrived and checked; the writer still writes the end.
  bool writing_tail = false;
  absl::Time deliver_deadline;
  absl::Time deadline = absl::InfiniteFuture();

  inbound() = default;
  inbound(const inbound&) = delete;
  inbound& operator=(const inbound&) = delete;

  ~inbound() {
    writer.reset(); // stops writing before the file goes
    if (fd >= 0)
      ::close(fd);
    if (!path.empty())
      ::unlink(path.c_str());
  }

  absl::Status open_spill(const std::string& dir) {
    // Named after this host and process, so that a later start-up can
    // remove the file if this process dies without doing it
    // (sweep_stale_spill_files).
    std::string templ = spill_file_prefix(dir) + "XXXXXX";
    fd = ::mkostemp(templ.data(), O_CLOEXEC);
    if (fd < 0)
      return make_status(errc::io_error,
                         absl::StrCat("cannot create a spill file in ", dir,
                                      ": ", std::strerror(errno)));
    path = std::move(templ);
    in_memory = false;
    try {
      writer = std::make_unique<spill_writer>(fd, path);
    } catch (const std::system_error&) {
      // No thread to be had: this file is written inline instead.
    }
    return absl::OkStatus();
  }

  /// Adds the first `length` bytes of `piece` to the body.
  absl::Status append(const shared_bytes& piece, std::size_t length) {
    auto bytes = piece.span().subspan(0, length);
    if (in_memory) {
      memory.insert(memory.end(), bytes.begin(), bytes.end());
      return absl::OkStatus();
    }
    if (writer)
      return writer->write(piece.slice(0, length));
    return write_all(fd, bytes, path);
  }

  /// Hands the assembled body over once it is all written; the spill file
  /// now belongs to it.
  absl::StatusOr<payload> finish() {
    if (in_memory)
      return payload{shared_bytes{std::move(memory)}};
    if (writer) {
      auto written = writer->finish();
      writer.reset();
      if (!written.ok())
        return written;
    }
    ::close(fd);
    fd = -1;
    return payload::file(std::exchange(path, std::string{}), total, true);
  }
};

/// A message being sent.
struct session::outbound {
  std::uint32_t id = 0;
  std::size_t priority = 2;
  weft::wire::Kind kind = weft::wire::KIND_REQUEST;
  std::uint32_t reply_to = 0;
  std::string header_bytes;
  payload body;
  std::uint64_t total = 0;
  std::uint64_t sent = 0;
  bool begun = false;
  /// Between BEGIN and its END (counts against MAX_CONCURRENT_MESSAGES).
  bool open = false;
  bool blocked_window = false;
  /// Failed before its end (fail_outbound): not counted as sent.
  bool failed = false;
  std::int64_t window = 0;
  checksum sum;
};

/// Messages waiting to be written (made when the first one has to wait).
struct session::queues {
  absl::flat_hash_map<std::uint32_t, std::unique_ptr<outbound>> messages;
  /// Ids of messages with a frame to write, one queue per priority.
  /// small_fifo, not std::deque: a fresh queue allocates nothing.
  std::array<small_fifo<std::uint32_t>, 4> ready;
  /// Ids of messages whose first frame is not written yet, ascending.
  small_fifo<std::uint32_t> unbegun;
};

/// A peer request handed to the owner, not answered yet.
struct session::request_entry {
  absl::Time deadline = absl::InfiniteFuture();
  std::uint32_t reply_id = 0;
};

// -- construction -------------------------------------------------------------

session::session(role r, session_options options, absl::Time now)
  : session(r, std::make_shared<const session_options>(std::move(options)),
            now) {
}

session::session(role r, std::shared_ptr<const session_options> options,
                 absl::Time now)
  : role_(r),
    opt_(std::move(options)),
    // A chunk must at least hold an END chunk's checksum plus one byte, or
    // a message whose body is all sent could never be ended.
    chunk_size_(std::max<std::uint32_t>(opt_->chunk_size, 64)),
    decoder_(opt_->local.max_frame_size, true),
    recv_window_(opt_->local.initial_connection_window),
    next_out_id_(r == role::client ? 1 : 2),
    send_window_(peer_.initial_connection_window),
    last_received_(now),
    cancel_tokens_(opt_->cancel_burst),
    cancel_refill_(now) {
  control_.preface();
  control_.settings(opt_->local);
}

session::~session() = default;

// -- input --------------------------------------------------------------------

void session::on_bytes(shared_bytes bytes, absl::Time now,
                       const body_stream_filter* streams) {
  if (state_ == state::closed)
    return;
  last_received_ = now;
  decoder_.feed(std::move(bytes));
  bool more = true;
  while (more && state_ != state::closed) {
    switch (decoder_.next()) {
      case frame_decoder::result::need_more:
        more = false;
        break;
      case frame_decoder::result::error:
        fail(code_of(decoder_.error()), decoder_.error().message());
        return;
      case frame_decoder::result::preface: {
        got_preface_ = true;
        const auto& pre = decoder_.preface();
        if (pre.major != version_major) {
          fail(errc::unsupported_version,
               absl::StrCat("peer speaks ", pre.major, ".", pre.minor,
                            "; this endpoint speaks ", version_major, ".x"));
          return;
        }
        break;
      }
      case frame_decoder::result::frame:
        handle_frame(decoder_.take_frame(), now, streams);
        break;
    }
  }
  // The last reply a drain waited for may just have arrived.
  maybe_finish_drain();
}

void session::handle_frame(frame f, absl::Time now,
                           const body_stream_filter* streams) {
  if (!peer_ready_ && !f.is(frame_type::settings)) {
    fail(errc::malformed_frame, "the first frame must be SETTINGS");
    return;
  }
  auto needs_id = f.is(frame_type::message) || f.is(frame_type::begin)
                  || f.is(frame_type::chunk) || f.is(frame_type::cancel);
  auto needs_zero = f.is(frame_type::settings) || f.is(frame_type::ping)
                    || f.is(frame_type::goaway);
  if ((needs_id && f.id == 0) || (needs_zero && f.id != 0)) {
    fail(errc::malformed_frame,
         absl::StrCat("frame type ", f.type, " with message id ", f.id));
    return;
  }
  switch (static_cast<frame_type>(f.type)) {
    case frame_type::settings:
      on_settings(f);
      break;
    case frame_type::message:
      on_message(f, now);
      break;
    case frame_type::begin:
      on_begin(f, now, streams);
      break;
    case frame_type::chunk:
      on_chunk(f, now);
      break;
    case frame_type::cancel:
      on_cancel(f, now);
      break;
    case frame_type::window:
      on_window(f);
      break;
    case frame_type::ping:
      on_ping(f, now);
      break;
    case frame_type::goaway:
      on_goaway(f);
      break;
    default:
      break; // Unknown frame types are ignored (docs/protocol.md §3).
  }
}

void session::on_settings(const frame& f) {
  if (peer_ready_) {
    fail(errc::malformed_frame, "SETTINGS sent twice");
    return;
  }
  auto decoded = decode_settings_payload(f.payload.span());
  if (!decoded.ok()) {
    fail(code_of(decoded.status()), decoded.status().message());
    return;
  }
  peer_ = *decoded;
  send_window_ = peer_.initial_connection_window;
  peer_ready_ = true;
  data_stalled_ = false;
  session_event ev;
  ev.what = session_event::kind::ready;
  push_event(std::move(ev));
}

bool session::accept_new_id(std::uint32_t id) {
  bool peer_odd = role_ == role::server;
  if (((id & 1u) == 1u) != peer_odd || id <= last_in_id_) {
    fail(errc::bad_message_id,
         absl::StrCat("message id ", id, " after ", last_in_id_,
                      peer_odd ? " (client ids are odd)"
                               : " (server ids are even)"));
    return false;
  }
  last_in_id_ = id;
  return true;
}

bool session::charge_connection(std::size_t n) {
  recv_window_ -= static_cast<std::int64_t>(n);
  if (recv_window_ < 0) {
    fail(errc::flow_control_error,
         "the peer exceeded the connection's flow-control window");
    return false;
  }
  return true;
}

void session::consumed_connection(std::size_t n) {
  unacked_connection_ += n;
  if (unacked_connection_ >= opt_->local.initial_connection_window / 2) {
    control_.window(0, static_cast<std::uint32_t>(unacked_connection_));
    recv_window_ += static_cast<std::int64_t>(unacked_connection_);
    unacked_connection_ = 0;
  }
}

void session::reject(std::uint32_t id, errc code, const std::string& text) {
  control_.cancel(id, code, text);
  ++stats_.rejected_in;
  auto i = inbound_.find(id);
  // The owner of a streamed message holds its pieces: tell it to drop them.
  bool streamed = i != inbound_.end() && i->second->streamed;
  drop_inbound(id);
  if (streamed)
    push_cancelled(id, code, text, false);
}

void session::on_message(frame& f, absl::Time now) {
  auto len = f.payload.size();
  if (!charge_connection(len) || !accept_new_id(f.id))
    return;
  consumed_connection(len);
  if (sent_goaway_ && f.id > sent_goaway_last_)
    return; // Not processed: the peer learns so from our GOAWAY.
  if (len < header_length_size + checksum_size) {
    fail(errc::malformed_frame, "MESSAGE frame shorter than 12 bytes");
    return;
  }
  const auto* p = f.payload.data();
  auto header_len = load_u32(p);
  if (header_len > len - header_length_size - checksum_size) {
    fail(errc::malformed_frame, "MESSAGE header length exceeds the frame");
    return;
  }
  if (header_len > opt_->local.max_header_size) {
    reject(f.id, errc::header_too_large,
           absl::StrCat("header of ", header_len, " bytes exceeds ",
                        opt_->local.max_header_size));
    return;
  }
  // The header is parsed straight into the event the owner will get: a
  // protobuf header moved from event to event costs a construction, a swap
  // and a destruction each time. Nothing below pushes another event before
  // the message is delivered or its event taken back.
  auto& ev = new_event(session_event::kind::message);
  auto& header = ev.header;
  auto take_back = [this](std::uint32_t id, errc code, std::string text) {
    drop_last_event();
    reject(id, code, text);
  };
  if (!decode_header({p + header_length_size, header_len}, header)) {
    take_back(f.id, errc::malformed_frame, "message header does not parse");
    return;
  }
  auto body_len = len - header_length_size - header_len - checksum_size;
  if (header.id() != f.id || header.total_size() != body_len) {
    take_back(f.id, errc::malformed_frame,
              "message header disagrees with its frame (id or total_size)");
    return;
  }
  if (header.total_size() > opt_->local.max_message_size) {
    take_back(f.id, errc::message_too_large,
              absl::StrCat("message of ", header.total_size(),
                           " bytes exceeds ", opt_->local.max_message_size));
    return;
  }
  auto header_bytes = f.payload.span().subspan(header_length_size, header_len);
  auto expected = load_u64(p + len - checksum_size);
  if (checksum::of(header_bytes,
                   f.payload.span().subspan(header_length_size + header_len,
                                            body_len))
      != expected) {
    take_back(f.id, errc::checksum_mismatch, "CRC-64 checksum mismatch");
    return;
  }
  auto deadline = header.deadline_ms() > 0
                    ? now + absl::Milliseconds(header.deadline_ms())
                    : now + opt_->request_timeout;
  // The frame's view becomes the body's: no reference count is touched.
  f.payload.narrow(header_length_size + header_len, body_len);
  ev.body = payload{std::move(f.payload)};
  deliver_last(f.id, deadline);
}

void session::on_begin(const frame& f, absl::Time now,
                       const body_stream_filter* streams) {
  if (!accept_new_id(f.id))
    return;
  if (sent_goaway_ && f.id > sent_goaway_last_)
    return;
  // A message that ended and waits for its spill writer is no longer
  // open for its sender.
  if (inbound_.size() - finishing_ >= opt_->local.max_concurrent_messages) {
    reject(f.id, errc::too_many_messages,
           absl::StrCat("more than ", opt_->local.max_concurrent_messages,
                        " concurrent messages"));
    return;
  }
  if (f.payload.size() > opt_->local.max_header_size) {
    reject(f.id, errc::header_too_large,
           absl::StrCat("header of ", f.payload.size(), " bytes exceeds ",
                        opt_->local.max_header_size));
    return;
  }
  auto in = std::make_unique<inbound>();
  if (!decode_header(f.payload.span(), in->header)) {
    reject(f.id, errc::malformed_frame, "message header does not parse");
    return;
  }
  if (in->header.id() != f.id) {
    reject(f.id, errc::malformed_frame, "header id differs from frame id");
    return;
  }
  in->total = in->header.total_size();
  if (in->total > opt_->local.max_message_size) {
    reject(f.id, errc::message_too_large,
           absl::StrCat("message of ", in->total, " bytes exceeds ",
                        opt_->local.max_message_size));
    return;
  }
  if (in->header.deadline_ms() > 0)
    in->deadline = now + absl::Milliseconds(in->header.deadline_ms());
  in->window = opt_->local.initial_message_window;
  in->sum.update(f.payload.span());
  if (streams != nullptr && in->header.kind() == weft::wire::KIND_REQUEST
      && streams->streams(in->header)) {
    // The owner takes the header now and the body as it comes: nothing is
    // assembled, and the message window bounds what it holds.
    in->streamed = true;
    in->in_memory = false;
    auto& ev = new_event(session_event::kind::begun);
    ev.id = f.id;
    ev.total = in->total;
    // A copy: the transfer still needs the header (its deadline, what
    // progress events name), and this happens once per large message.
    ev.header.CopyFrom(in->header);
    inbound_.emplace(f.id, std::move(in));
    return;
  }
  if (in->total > opt_->spill_threshold
      || inbound_memory_ + in->total > opt_->memory_budget) {
    if (auto st = in->open_spill(opt_->spill_dir); !st.ok()) {
      reject(f.id, errc::io_error, std::string{st.message()});
      return;
    }
  } else {
    // Reserve it all at once (no copies as it grows): the size is at most
    // the spill threshold and counted in the memory budget, and untouched
    // pages of a large reservation cost nothing until data arrives.
    in->memory.reserve(static_cast<std::size_t>(in->total));
    inbound_memory_ += in->total;
  }
  inbound_.emplace(f.id, std::move(in));
}

void session::on_chunk(const frame& f, absl::Time now) {
  auto len = f.payload.size();
  if (!charge_connection(len))
    return;
  auto i = inbound_.find(f.id);
  if (i == inbound_.end()) {
    bool peer_odd = role_ == role::server;
    if (((f.id & 1u) == 1u) == peer_odd && f.id <= last_in_id_) {
      consumed_connection(len); // a rejected or cancelled message's tail
      return;
    }
    fail(errc::bad_message_id,
         absl::StrCat("CHUNK for message ", f.id, " that was never begun"));
    return;
  }
  auto& in = *i->second;
  if (in.writing_tail) {
    // Past its END: dropped, as the tail of a finished message would be.
    consumed_connection(len);
    return;
  }
  in.window -= static_cast<std::int64_t>(len);
  if (in.window < 0) {
    fail(errc::flow_control_error,
         absl::StrCat("message ", f.id, " exceeded its flow-control window"));
    return;
  }
  bool end = (f.flags & flag_end) != 0;
  if (end && len < checksum_size) {
    fail(errc::malformed_frame, "END chunk shorter than its checksum");
    return;
  }
  consumed_connection(len);
  auto body_len = end ? len - checksum_size : len;
  if (in.received + body_len > in.total) {
    reject(f.id, errc::size_mismatch,
           absl::StrCat("chunks exceed the announced ", in.total, " bytes"));
    return;
  }
  auto body = f.payload.span().subspan(0, body_len);
  if (in.streamed) {
    if (body_len > 0) {
      if (in.held == 0)
        in.stall_deadline = now + opt_->request_timeout;
      in.held += body_len;
      auto& ev = new_event(session_event::kind::piece);
      ev.id = f.id;
      ev.body = payload{f.payload.slice(0, body_len)};
      ev.done = in.received + body_len;
      ev.total = in.total;
    }
  } else if (auto st = in.append(f.payload, body_len); !st.ok()) {
    reject(f.id, errc::io_error, std::string{st.message()});
    return;
  }
  in.sum.update(body);
  in.received += body_len;
  if (in.total >= opt_->progress_min_size
      && (in.received - in.last_progress >= progress_step || end)) {
    in.last_progress = in.received;
    session_event ev;
    ev.what = session_event::kind::progress;
    ev.id = f.id;
    // Who the message answers, so a client can route progress to its call.
    ev.header.set_kind(in.header.kind());
    ev.header.set_reply_to(in.header.reply_to());
    ev.header.set_route(in.header.route());
    ev.done = in.received;
    ev.total = in.total;
    push_event(std::move(ev));
  }
  if (!end) {
    // A streamed message's credit comes back as the owner uses its pieces
    // (piece_consumed).
    if (in.streamed)
      return;
    in.unacked += len;
    if (in.unacked >= opt_->local.initial_message_window / 2)
      grant_credit(f.id, in, now);
    return;
  }
  if (in.received != in.total) {
    reject(f.id, errc::size_mismatch,
           absl::StrCat("message ended after ", in.received, " of ", in.total,
                        " bytes"));
    return;
  }
  if (in.sum.digest() != load_u64(f.payload.data() + body_len)) {
    reject(f.id, errc::checksum_mismatch, "CRC-64 checksum mismatch");
    return;
  }
  // The deadline counts from the BEGIN frame (docs/protocol.md §4.2).
  auto deadline = in.header.deadline_ms() > 0 ? in.deadline
                                              : now + opt_->request_timeout;
  if (in.streamed) {
    auto& ev = new_event(session_event::kind::ended);
    ev.header.set_kind(in.header.kind());
    ev.total = in.total;
    drop_inbound(f.id);
    deliver_last(f.id, deadline);
    return;
  }
  if (in.writer && in.writer->queued() > 0) {
    // Delivered once its spill file is all written (poll_spills), rather
    // than waiting for the writer on the connection's thread.
    in.writing_tail = true;
    ++finishing_;
    in.deliver_deadline = deadline;
    spill_poll_at_ = std::min(spill_poll_at_, now + spill_poll);
    return;
  }
  deliver_inbound(f.id, in, deadline);
}

void session::piece_consumed(std::uint32_t id, std::uint64_t n,
                             absl::Time now) {
  auto i = inbound_.find(id);
  if (i == inbound_.end() || !i->second->streamed || state_ == state::closed)
    return;
  auto& in = *i->second;
  in.held -= std::min(n, in.held);
  in.stall_deadline = in.held == 0 ? absl::InfiniteFuture()
                                   : now + opt_->request_timeout;
  in.unacked += n;
  if (in.unacked >= opt_->local.initial_message_window / 2)
    grant_credit(id, in, now);
}

void session::grant_credit(std::uint32_t id, inbound& in, absl::Time now) {
  if (in.writer && in.writer->queued() > spill_write_ahead) {
    in.credit_held = true;
    spill_poll_at_ = std::min(spill_poll_at_, now + spill_poll);
    return;
  }
  in.credit_held = false;
  if (in.unacked == 0)
    return;
  control_.window(id, static_cast<std::uint32_t>(in.unacked));
  in.window += static_cast<std::int64_t>(in.unacked);
  in.unacked = 0;
}

void session::poll_spills(absl::Time now) {
  // Whenever the owner ticks, not only at spill_poll_at_: a writer done
  // early is seen early.
  if (!spilling())
    return;
  spill_poll_at_ = absl::InfiniteFuture();
  std::vector<std::uint32_t> written;
  for (auto& [id, in] : inbound_) {
    if (in->credit_held)
      grant_credit(id, *in, now);
    if (in->writing_tail) {
      if (in->writer->queued() == 0)
        written.push_back(id);
      else
        spill_poll_at_ = std::min(spill_poll_at_, now + spill_poll);
    }
  }
  for (auto id : written) {
    auto& in = *inbound_.at(id);
    deliver_inbound(id, in, in.deliver_deadline);
  }
}

void session::deliver_inbound(std::uint32_t id, inbound& in,
                              absl::Time deadline) {
  auto body_done = in.finish();
  if (!body_done.ok()) {
    reject(id, errc::io_error, std::string{body_done.status().message()});
    return;
  }
  auto& ev = new_event(session_event::kind::message);
  ev.header.Swap(&in.header);
  ev.body = std::move(*body_done);
  drop_inbound(id);
  deliver_last(id, deadline);
}

void session::deliver_last(std::uint32_t id, absl::Time deadline) {
  auto& ev = last_event();
  const auto& header = ev.header;
  if (header.kind() == weft::wire::KIND_REPLY) {
    // A reply to a request we no longer wait for (cancelled, timed out) is
    // dropped here, so the owner never sees an answer twice.
    if (outstanding_.erase(header.reply_to()) == 0) {
      drop_last_event();
      return;
    }
  } else if (header.kind() == weft::wire::KIND_REQUEST) {
    request_entry entry;
    entry.deadline = deadline;
    awaiting_reply_[id] = entry;
    awaiting_earliest_ = std::min(awaiting_earliest_, deadline);
  }
  ++stats_.messages_in;
  ev.id = id;
}

void session::on_cancel(const frame& f, absl::Time now) {
  if (f.payload.size() < 4
      || f.payload.size() > 4 + max_reason_size) {
    fail(errc::malformed_frame, "CANCEL payload of invalid length");
    return;
  }
  auto elapsed = absl::ToDoubleSeconds(now - cancel_refill_);
  cancel_refill_ = now;
  cancel_tokens_ = std::min(opt_->cancel_burst,
                            cancel_tokens_ + std::max(0.0, elapsed)
                                               * opt_->cancel_rate);
  if (cancel_tokens_ < 1.0) {
    fail(errc::cancel_flood, "the peer exceeded the cancel rate limit");
    return;
  }
  cancel_tokens_ -= 1.0;
  ++stats_.cancels_in;
  auto code = errc_from_code(load_u32(f.payload.data()));
  auto text = text_of(f.payload, 4);
  bool ours = false;
  if (inbound_.count(f.id) != 0) {
    drop_inbound(f.id);
  } else if (auto a = awaiting_reply_.find(f.id); a != awaiting_reply_.end()) {
    auto reply_id = a->second.reply_id;
    awaiting_reply_.erase(a);
    if (auto* r = find_outbound(reply_id)) {
      if (r->begun)
        control_.cancel(reply_id, errc::cancelled, "request cancelled");
      drop_outbound(reply_id);
    }
  } else if (find_outbound(f.id) != nullptr
             || outstanding_.count(f.id) != 0) {
    drop_outbound(f.id);
    outstanding_.erase(f.id);
    ours = true;
  } else {
    return; // crossed an END or CANCEL on the wire
  }
  push_cancelled(f.id, code, std::move(text), ours);
  maybe_finish_drain();
}

void session::on_window(const frame& f) {
  if (f.payload.size() != 4) {
    fail(errc::malformed_frame, "WINDOW payload must be 4 bytes");
    return;
  }
  auto increment = load_u32(f.payload.data());
  if (increment == 0 || increment > max_window) {
    fail(errc::malformed_frame, "WINDOW increment of 0 or with the R bit");
    return;
  }
  data_stalled_ = false;
  if (f.id == 0) {
    send_window_ += increment;
    if (send_window_ > max_window)
      fail(errc::flow_control_error, "connection window above 2^31-1");
    return;
  }
  auto* found = find_outbound(f.id);
  if (found == nullptr)
    return;
  auto& out = *found;
  out.window += increment;
  if (out.window > max_window) {
    fail(errc::flow_control_error, "message window above 2^31-1");
    return;
  }
  if (out.blocked_window) {
    out.blocked_window = false;
    q_->ready[out.priority].push_back(out.id);
  }
}

void session::on_ping(const frame& f, absl::Time now) {
  if (f.payload.size() != 8) {
    fail(errc::malformed_frame, "PING payload must be 8 bytes");
    return;
  }
  if ((f.flags & flag_ack) != 0) {
    if (ping_sent_ == absl::InfiniteFuture())
      return;
    auto sent = absl::FromUnixNanos(static_cast<std::int64_t>(
      load_u64(f.payload.data())));
    ping_sent_ = absl::InfiniteFuture();
    session_event ev;
    ev.what = session_event::kind::pong;
    ev.rtt = std::max(absl::ZeroDuration(), now - sent);
    push_event(std::move(ev));
    return;
  }
  if (control_.frames() >= opt_->max_queued_control) {
    fail(errc::control_flood, "too many unanswered PINGs queued unread");
    return;
  }
  std::array<std::uint8_t, 8> opaque;
  std::copy_n(f.payload.data(), 8, opaque.begin());
  control_.ping(true, opaque);
}

void session::on_goaway(const frame& f) {
  if (f.payload.size() < 8 || f.payload.size() > 8 + max_reason_size) {
    fail(errc::malformed_frame, "GOAWAY payload of invalid length");
    return;
  }
  auto last = load_u32(f.payload.data());
  auto code = errc_from_code(load_u32(f.payload.data() + 4));
  auto text = text_of(f.payload, 8);
  peer_going_away_ = true;
  goaway_last_id_ = last;
  // Our messages above `last` were not processed: they fail, retryable.
  std::vector<std::uint32_t> unprocessed;
  if (q_)
    for (const auto& [id, out] : q_->messages)
      if (id > last && out->kind != weft::wire::KIND_REPLY)
        unprocessed.push_back(id);
  for (const auto& [id, deadline] : outstanding_)
    if (id > last && find_outbound(id) == nullptr)
      unprocessed.push_back(id);
  std::sort(unprocessed.begin(), unprocessed.end());
  for (auto id : unprocessed) {
    drop_outbound(id);
    outstanding_.erase(id);
    push_cancelled(id, errc::going_away, "the peer is going away and did not process this message", true);
  }
  session_event ev;
  ev.what = session_event::kind::goaway;
  ev.id = last;
  ev.code = code;
  ev.text = text;
  push_event(std::move(ev));
  if (code != errc::ok)
    close_with(code, text.empty() ? std::string{to_string(code)} : text);
  else
    maybe_finish_drain();
}

// -- timers -------------------------------------------------------------------

void session::on_tick(absl::Time now) {
  if (state_ == state::closed)
    return;
  poll_spills(now);
  if (opt_->local.idle_timeout_ms > 0
      && now - last_received_
           >= absl::Milliseconds(opt_->local.idle_timeout_ms)) {
    fail(errc::idle_timeout, "nothing arrived for the idle timeout");
    return;
  }
  if (opt_->local.heartbeat_interval_ms > 0) {
    auto interval = absl::Milliseconds(opt_->local.heartbeat_interval_ms);
    if (ping_sent_ != absl::InfiniteFuture()) {
      if (now - ping_sent_ >= interval) {
        fail(errc::heartbeat_timeout, "a heartbeat PING went unanswered");
        return;
      }
    } else if (now - last_received_ >= interval) {
      ping(now);
    }
  }
  // Inbound messages still arriving past their deadline are rejected, and
  // so are streamed ones whose owner has used none of its pieces for the
  // request timeout (its handler hangs).
  std::vector<std::uint32_t> expired;
  std::vector<std::uint32_t> stalled;
  for (const auto& [id, in] : inbound_) {
    if (in->deadline <= now)
      expired.push_back(id);
    else if (in->stall_deadline <= now)
      stalled.push_back(id);
  }
  for (auto id : expired)
    reject(id, errc::deadline_exceeded, "deadline passed during transfer");
  for (auto id : stalled)
    reject(id, errc::deadline_exceeded,
           "the handler took none of the body for the request timeout");
  // Requests we handle whose deadline passed get the deadline error now;
  // the owner is told to drop the work.
  expired.clear();
  awaiting_earliest_ = absl::InfiniteFuture();
  for (const auto& [id, entry] : awaiting_reply_) {
    if (entry.reply_id != 0)
      continue;
    if (entry.deadline <= now)
      expired.push_back(id);
    else
      awaiting_earliest_ = std::min(awaiting_earliest_, entry.deadline);
  }
  std::sort(expired.begin(), expired.end());
  for (auto id : expired) {
    weft::wire::MessageHeader reply;
    reply.set_kind(weft::wire::KIND_REPLY);
    reply.set_reply_to(id);
    reply.set_priority(weft::wire::PRIORITY_HIGH);
    reply.mutable_status()->set_code(
      static_cast<std::uint32_t>(errc::deadline_exceeded));
    reply.mutable_status()->set_message("deadline passed before the reply");
    auto sent = send(std::move(reply), payload{}, now);
    awaiting_reply_.erase(id);
    if (sent.ok()) {
      // Queued rather than written at once: nothing awaits it any more.
      if (auto* o = find_outbound(*sent))
        o->reply_to = 0;
    }
    push_cancelled(id, errc::deadline_exceeded, "deadline passed before the reply", false);
  }
  // Our requests whose deadline passed fail and are cancelled at the peer.
  expired.clear();
  for (const auto& [id, deadline] : outstanding_)
    if (deadline <= now)
      expired.push_back(id);
  std::sort(expired.begin(), expired.end());
  for (auto id : expired) {
    auto* o = find_outbound(id);
    bool on_wire = o == nullptr || o->begun;
    if (on_wire) {
      control_.cancel(id, errc::deadline_exceeded, "deadline passed");
    }
    drop_outbound(id);
    outstanding_.erase(id);
    push_cancelled(id, errc::deadline_exceeded, "deadline passed before the reply", true);
  }
  maybe_finish_drain();
}

absl::Time session::next_timeout() const {
  if (state_ == state::closed)
    return absl::InfiniteFuture();
  auto next = absl::InfiniteFuture();
  if (opt_->local.idle_timeout_ms > 0)
    next = std::min(next, last_received_
                            + absl::Milliseconds(opt_->local.idle_timeout_ms));
  if (opt_->local.heartbeat_interval_ms > 0) {
    auto interval = absl::Milliseconds(opt_->local.heartbeat_interval_ms);
    if (ping_sent_ != absl::InfiniteFuture())
      next = std::min(next, ping_sent_ + interval);
    else
      next = std::min(next, last_received_ + interval);
  }
  for (const auto& [id, in] : inbound_)
    next = std::min({next, in->deadline, in->stall_deadline});
  next = std::min(next, spill_poll_at_);
  next = std::min(next, awaiting_earliest_);
  for (const auto& [id, deadline] : outstanding_)
    next = std::min(next, deadline);
  return next;
}

// -- commands -----------------------------------------------------------------

absl::StatusOr<std::uint32_t>
session::send(const weft::wire::MessageHeader& header, payload body,
              absl::Time now) {
  outgoing what;
  what.kind = header.kind();
  what.reply_to = header.reply_to();
  what.priority = priority_of(header);
  what.deadline_ms = header.deadline_ms();
  // The id and total_size are the session's: written in place of the
  // caller's, without a copy of its header (a protobuf copy per message).
  return send_encoded(
    what,
    [&](std::uint32_t id, std::uint64_t total_size, std::string& out) {
      encode_header(header, id, total_size, out);
    },
    std::move(body), now);
}

absl::StatusOr<std::uint32_t>
session::send_reply(std::uint32_t reply_to, const std::string& content_type,
                    const std::string& schema, payload body, absl::Time now) {
  outgoing what;
  what.kind = weft::wire::KIND_REPLY;
  what.reply_to = reply_to;
  return send_encoded(
    what,
    [&](std::uint32_t id, std::uint64_t total_size, std::string& out) {
      encode_reply_header(id, reply_to, content_type, schema, total_size,
                          out);
    },
    std::move(body), now);
}

absl::StatusOr<std::uint32_t> session::send_encoded(
  const outgoing& what,
  absl::FunctionRef<void(std::uint32_t, std::uint64_t, std::string&)> encode,
  payload body, absl::Time now) {
  if (state_ != state::open && what.kind != weft::wire::KIND_REPLY)
    return make_status(errc::unavailable, "the connection is closing");
  if (state_ == state::closed)
    return make_status(errc::unavailable, "the connection is closed");
  if (peer_going_away_ && what.kind != weft::wire::KIND_REPLY)
    return make_status(errc::going_away, "the peer is going away");
  auto awaiting = awaiting_reply_.end();
  if (what.kind == weft::wire::KIND_REPLY) {
    awaiting = awaiting_reply_.find(what.reply_to);
    if (awaiting == awaiting_reply_.end() || awaiting->second.reply_id != 0)
      return make_status(errc::cancelled,
                         "the request was cancelled or already answered");
  }
  if (next_out_id_ == 0 || next_out_id_ > 0xfffffffdu)
    return make_status(errc::unavailable, "message ids exhausted");
  auto id = next_out_id_;
  // The header is encoded into a scratch string reused by every send, so
  // a message written at once (below) costs no allocation for it.
  if (!header_scratch_)
    header_scratch_ = std::make_unique<std::string>();
  auto& header_bytes = *header_scratch_;
  header_bytes.clear();
  encode(id, body.size(), header_bytes);
  if (peer_ready_) {
    if (auto st = check_peer_limits(header_bytes.size(), body.size());
        !st.ok())
      return st;
  }
  next_out_id_ += 2;
  if (what.kind == weft::wire::KIND_REQUEST)
    outstanding_[id] = what.deadline_ms > 0
                         ? now + absl::Milliseconds(what.deadline_ms)
                         : absl::InfiniteFuture();
  if (write_now(id, header_bytes, body)) {
    // Written whole: the message never enters the queues, so a reply
    // ends its request here rather than in take_output.
    ++stats_.messages_out;
    if (awaiting != awaiting_reply_.end())
      awaiting_reply_.erase(awaiting);
    return id;
  }
  auto out = std::make_unique<outbound>();
  out->id = id;
  out->priority = what.priority;
  out->kind = what.kind;
  out->reply_to = what.reply_to;
  out->header_bytes = header_bytes;
  out->total = body.size();
  out->body = std::move(body);
  if (awaiting != awaiting_reply_.end())
    awaiting->second.reply_id = id;
  auto& queued = queues_made();
  queued.ready[out->priority].push_back(id);
  queued.unbegun.push_back(id);
  queued.messages.emplace(id, std::move(out));
  data_stalled_ = false;
  return id;
}

bool session::write_now(std::uint32_t id, const std::string& header_bytes,
                        const payload& body) {
  // Only when nothing waits in the queues: then neither a message of
  // higher priority nor an older id could have gone first. The bytes
  // written ahead of take_output are bounded by one chunk, as a frame in
  // progress would be, so a later urgent message waits no longer than it
  // would behind a chunk.
  if (!peer_ready_ || state_ == state::closed || body.is_file()
      || data_.size() >= chunk_size_)
    return false;
  if (q_) {
    if (!q_->unbegun.empty())
      return false;
    for (const auto& queue : q_->ready)
      if (!queue.empty())
        return false;
  }
  auto total = body.size();
  auto frame_len = header_length_size + header_bytes.size() + total
                   + checksum_size;
  if (!fits_one_frame(frame_len, total)
      || send_window_ < static_cast<std::int64_t>(frame_len))
    return false;
  auto header = bytes_of(header_bytes);
  const auto& bytes = body.bytes();
  if (total < frame_writer::copy_below)
    data_.small_message(id, header, bytes.span());
  else
    data_.message(id, header, bytes, checksum::of(header, bytes.span()));
  send_window_ -= static_cast<std::int64_t>(frame_len);
  return true;
}

bool session::fits_one_frame(std::uint64_t frame_len,
                             std::uint64_t total) const {
  // A MESSAGE frame takes its whole length from the connection window in
  // one go. The peer returns credit once half its window is consumed, so
  // only frames up to half the window are sure to get credit; larger ones
  // (and bodies above a chunk) go chunked, which adapts to the credit.
  auto whole_limit = std::min<std::uint64_t>(
    peer_.max_frame_size, peer_.initial_connection_window / 2);
  return frame_len <= whole_limit && total <= chunk_size_;
}

void session::cancel(std::uint32_t id, errc code, absl::string_view reason) {
  if (state_ == state::closed)
    return;
  if (inbound_.count(id) != 0) {
    reject(id, code, std::string{reason});
    return;
  }
  if (auto a = awaiting_reply_.find(id); a != awaiting_reply_.end()) {
    // We will not answer this request: tell the peer it failed.
    auto reply_id = a->second.reply_id;
    awaiting_reply_.erase(a);
    if (reply_id != 0)
      drop_outbound(reply_id);
    control_.cancel(id, code, reason);
    maybe_finish_drain();
    return;
  }
  auto* o = find_outbound(id);
  bool on_wire = (o != nullptr && o->begun)
                 || (o == nullptr && outstanding_.count(id) != 0);
  if (o == nullptr && outstanding_.count(id) == 0)
    return;
  if (on_wire) {
    control_.cancel(id, code, reason);
  }
  drop_outbound(id);
  outstanding_.erase(id);
  maybe_finish_drain();
}

void session::ping(absl::Time now) {
  if (state_ == state::closed)
    return;
  std::array<std::uint8_t, 8> opaque;
  store_u64(opaque.data(), static_cast<std::uint64_t>(absl::ToUnixNanos(now)));
  control_.ping(false, opaque);
  ping_sent_ = now;
}

void session::go_away(absl::string_view text) {
  if (state_ != state::open)
    return;
  state_ = state::draining;
  sent_goaway_ = true;
  sent_goaway_last_ = last_in_id_;
  control_.goaway(last_in_id_, errc::ok, text);
  maybe_finish_drain();
}

void session::fail(errc code, absl::string_view text) {
  if (state_ == state::closed)
    return;
  control_.goaway(last_in_id_, code, text);
  close_with(code, std::string{text});
}

// -- output -------------------------------------------------------------------

session::write_result session::write_one(outbound& out) {
  if (!out.begun) {
    // Messages queued before the peer's SETTINGS arrived meet its limits
    // only now.
    if (auto st = check_peer_limits(out.header_bytes.size(), out.total); !st.ok()) {
      fail_outbound(out, st);
      return write_result::finished;
    }
    if (!begin_older(out.id))
      return write_result::blocked_slot;
    auto frame_len = header_length_size + out.header_bytes.size() + out.total
                     + checksum_size;
    if (fits_one_frame(frame_len, out.total)) {
      if (send_window_ < static_cast<std::int64_t>(frame_len))
        return write_result::blocked_connection;
      auto body = out.body.read_all(out.total);
      if (!body.ok()) {
        fail_outbound(out, body.status());
        return write_result::finished;
      }
      auto header = bytes_of(out.header_bytes);
      data_.message(out.id, header, *body, checksum::of(header, body->span()));
      send_window_ -= static_cast<std::int64_t>(frame_len);
      out.begun = true;
      out.sent = out.total;
      return write_result::finished;
    }
    if (open_outbound_ >= peer_.max_concurrent_messages)
      return write_result::blocked_slot;
    write_begin(out);
  }
  auto allowed = std::min<std::int64_t>(
    {static_cast<std::int64_t>(chunk_size_),
     static_cast<std::int64_t>(peer_.max_frame_size), send_window_,
     out.window});
  auto remaining = out.total - out.sent;
  bool end = false;
  std::uint64_t n = 0;
  if (allowed > 0
      && remaining + checksum_size <= static_cast<std::uint64_t>(allowed)) {
    end = true;
    n = remaining;
  } else if (allowed > 0 && remaining > 0) {
    n = std::min<std::uint64_t>(remaining, static_cast<std::uint64_t>(allowed));
  } else {
    // Not even the checksum fits: wait for whichever window binds.
    return out.window <= send_window_ ? write_result::blocked_window
                                      : write_result::blocked_connection;
  }
  auto body = out.body.read(out.sent, static_cast<std::size_t>(n));
  if (!body.ok()) {
    fail_outbound(out, body.status());
    return write_result::finished;
  }
  out.sum.update(body->span());
  data_.chunk(out.id, *body, end, end ? out.sum.digest() : 0);
  auto len = static_cast<std::int64_t>(n + (end ? checksum_size : 0));
  send_window_ -= len;
  out.window -= len;
  out.sent += n;
  return end ? write_result::finished : write_result::progress;
}

void session::write_begin(outbound& out) {
  data_.begin(out.id, bytes_of(out.header_bytes));
  out.sum.update(bytes_of(out.header_bytes));
  out.window = peer_.initial_message_window;
  out.begun = true;
  out.open = true;
  ++open_outbound_;
}

bool session::begin_older(std::uint32_t id) {
  // Ids must increase over the MESSAGE and BEGIN frames we send
  // (docs/protocol.md §4.1), but priorities reorder messages. So before a
  // message's first frame, every older message that has not started yet
  // gets its BEGIN (not flow-controlled); its chunks follow by priority.
  if (!q_)
    return true;
  auto& unbegun = q_->unbegun;
  while (!unbegun.empty() && unbegun.front() < id) {
    auto older_id = unbegun.front();
    auto* o = find_outbound(older_id);
    if (o == nullptr || o->begun) {
      unbegun.pop_front();
      continue;
    }
    auto& older = *o;
    if (auto st = check_peer_limits(older.header_bytes.size(), older.total);
        !st.ok()) {
      unbegun.pop_front();
      fail_outbound(older, st);
      drop_outbound(older_id);
      continue;
    }
    if (open_outbound_ >= peer_.max_concurrent_messages)
      return false;
    unbegun.pop_front();
    write_begin(older);
  }
  return true;
}

absl::Status session::check_peer_limits(std::size_t header_size,
                                       std::uint64_t total) const {
  auto header_limit = std::min(peer_.max_header_size, peer_.max_frame_size);
  if (header_size > header_limit)
    return make_status(errc::header_too_large,
                       absl::StrCat("header of ", header_size,
                                    " bytes exceeds the peer's limit of ",
                                    header_limit));
  if (total > peer_.max_message_size)
    return make_status(errc::message_too_large,
                       absl::StrCat("message of ", total,
                                    " bytes exceeds the peer's limit of ",
                                    peer_.max_message_size));
  return absl::OkStatus();
}

void session::fail_outbound(outbound& out, const absl::Status& why) {
  auto code = code_of(why);
  out.failed = true;
  if (out.open) {
    control_.cancel(out.id, code, why.message());
  }
  outstanding_.erase(out.id);
  push_cancelled(out.id, code, std::string{why.message()}, true);
}

std::vector<shared_bytes> session::take_output(std::size_t max_bytes) {
  std::vector<shared_bytes> result;
  control_.take_into(result);
  if (state_ == state::closed || !peer_ready_)
    return result;
  bool connection_blocked = false;
  auto room = [&] { return data_.empty() || data_.size() < max_bytes; };
  // Nothing in this loop ends the session (which would free the queues).
  if (q_) {
    auto& queued = *q_;
    for (auto& queue : queued.ready) {
      // Strict priority: a class gets turns only when the classes above it
      // have nothing they can send. Within a class, one frame per turn.
      std::size_t stalled = 0;
      while (!queue.empty() && !connection_blocked && room()
             && stalled < queue.size()) {
        auto id = queue.front();
        queue.pop_front();
        auto i = queued.messages.find(id);
        if (i == queued.messages.end())
          continue; // cancelled while queued
        auto& out = *i->second;
        switch (write_one(out)) {
          case write_result::progress:
            stalled = 0;
            queue.push_back(id);
            break;
          case write_result::finished:
            stalled = 0;
            if (!out.failed)
              ++stats_.messages_out;
            if (out.kind == weft::wire::KIND_REPLY && out.reply_to != 0)
              awaiting_reply_.erase(out.reply_to);
            if (out.open)
              --open_outbound_;
            // By key: begin_older may have changed the table meanwhile.
            queued.messages.erase(id);
            data_stalled_ = false;
            break;
          case write_result::blocked_window:
            out.blocked_window = true; // on_window puts it back in the queue
            break;
          case write_result::blocked_slot:
            queue.push_back(id);
            ++stalled;
            break;
          case write_result::blocked_connection:
            queue.push_front(id);
            connection_blocked = true;
            break;
        }
      }
      if (connection_blocked || !room())
        break;
    }
  }
  // Nothing could be written although messages wait: wait for credit, a
  // free slot or a new message before wants_write() says yes again.
  data_stalled_ = data_.empty();
  data_.take_into(result);
  // All written: the queues go (ids left in them name no message).
  if (q_ && q_->messages.empty())
    q_.reset();
  maybe_finish_drain();
  return result;
}

bool session::wants_write() const {
  if (!control_.empty())
    return true;
  if (!data_.empty() && state_ != state::closed)
    return true; // frames written at send()
  if (!peer_ready_ || state_ == state::closed || data_stalled_ || !q_)
    return false;
  for (const auto& queue : q_->ready)
    if (!queue.empty())
      return true;
  return false;
}

namespace {

/// Frees an empty hash map's slots (clear() would keep them).
template <class Map>
void free_if_empty(Map& map) {
  if (map.empty() && map.capacity() > 0)
    Map{}.swap(map);
}

} // namespace

void session::trim() {
  decoder_.trim();
  free_if_empty(inbound_);
  free_if_empty(awaiting_reply_);
  free_if_empty(outstanding_);
  if (!q_)
    header_scratch_.reset();
  if (ev_ && ev_->used == 0)
    ev_.reset();
  else if (ev_)
    decltype(ev_->handed){}.swap(ev_->handed);
}

absl::Span<session_event> session::take_events() {
  if (!ev_)
    return {};
  std::swap(ev_->filling, ev_->handed);
  return {ev_->handed.data(), std::exchange(ev_->used, 0)};
}

// -- bookkeeping --------------------------------------------------------------

void session::push_cancelled(std::uint32_t id, errc code, std::string text,
                             bool ours) {
  session_event ev;
  ev.what = session_event::kind::cancelled;
  ev.id = id;
  ev.code = code;
  ev.text = std::move(text);
  ev.ours = ours;
  push_event(std::move(ev));
}

void session::push_event(session_event ev) {
  new_event(ev.what) = std::move(ev);
}

session_event& session::new_event(session_event::kind what) {
  if (!ev_)
    ev_ = std::make_unique<event_buffers>();
  auto& slots = ev_->filling;
  if (ev_->used == slots.size()) {
    // Events come in bursts (one per frame of a read): growing one by one
    // would move every protobuf header several times. Four, not more: the
    // buffers go at every trim, and a larger first block (16 slots, 5 KiB)
    // showed in idle memory per connection (about 120 B more, tcmalloc
    // keeping the freed blocks); a busy connection grows them once and
    // keeps them until it is quiet.
    if (slots.capacity() == 0)
      slots.reserve(4);
    auto& ev = slots.emplace_back();
    ++ev_->used;
    ev.what = what;
    return ev;
  }
  // A slot used before: reset it field by field, keeping its allocations.
  auto& ev = slots[ev_->used++];
  ev.what = what;
  ev.id = 0;
  // A message's header is decoded (which resets it) or swapped in whole.
  if (what != session_event::kind::message)
    reset_header(ev.header);
  ev.body = payload{};
  ev.done = 0;
  ev.total = 0;
  ev.code = errc::ok;
  ev.text.clear();
  ev.ours = false;
  ev.rtt = absl::ZeroDuration();
  return ev;
}

void session::drop_last_event() noexcept {
  --ev_->used;
}

session_event& session::last_event() noexcept {
  return ev_->filling[ev_->used - 1];
}

void session::drop_inbound(std::uint32_t id) {
  auto i = inbound_.find(id);
  if (i == inbound_.end())
    return;
  if (i->second->in_memory)
    inbound_memory_ -= i->second->total;
  if (i->second->writing_tail)
    --finishing_;
  inbound_.erase(i); // frees memory, removes a spill file
}

void session::drop_outbound(std::uint32_t id) {
  if (!q_)
    return;
  auto i = q_->messages.find(id);
  if (i == q_->messages.end())
    return;
  const auto& out = *i->second;
  if (out.open) {
    --open_outbound_;
    data_stalled_ = false; // a slot is free
  }
  // A reply that will never be written ends its request.
  if (out.kind == weft::wire::KIND_REPLY && out.reply_to != 0) {
    auto a = awaiting_reply_.find(out.reply_to);
    if (a != awaiting_reply_.end() && a->second.reply_id == id)
      awaiting_reply_.erase(a);
  }
  q_->messages.erase(i); // its queue entry is skipped when reached
}

session::queues& session::queues_made() {
  if (!q_)
    q_ = std::make_unique<queues>();
  return *q_;
}

session::outbound* session::find_outbound(std::uint32_t id) const {
  if (!q_)
    return nullptr;
  auto i = q_->messages.find(id);
  return i == q_->messages.end() ? nullptr : i->second.get();
}

void session::maybe_finish_drain() {
  if (state_ == state::closed)
    return;
  if (!sent_goaway_ && !peer_going_away_)
    return;
  if (!awaiting_reply_.empty() || (q_ && !q_->messages.empty())
      || !inbound_.empty())
    return;
  if (peer_going_away_ && !outstanding_.empty())
    return;
  close_with(errc::ok, "drained");
}

void session::close_with(errc code, const std::string& text) {
  state_ = state::closed;
  inbound_.clear();
  finishing_ = 0;
  spill_poll_at_ = absl::InfiniteFuture();
  inbound_memory_ = 0;
  q_.reset();
  open_outbound_ = 0;
  awaiting_reply_.clear();
  outstanding_.clear();
  session_event ev;
  ev.what = session_event::kind::closed;
  ev.code = code;
  ev.text = text;
  push_event(std::move(ev));
}

session_stats session::stats() const {
  session_stats result;
  result.messages_in = stats_.messages_in;
  result.messages_out = stats_.messages_out;
  result.rejected_in = stats_.rejected_in;
  result.cancels_in = stats_.cancels_in;
  result.open_inbound = inbound_.size();
  result.queued_outbound = q_ ? q_->messages.size() : 0;
  result.inbound_memory = inbound_memory_;
  result.awaiting_reply = awaiting_reply_.size();
  result.outstanding_requests = outstanding_.size();
  return result;
}

} // namespace weft::protocol
