#include "runtime/http_stream.hpp"

#include <optional>
#include <string>
#include <utility>

#include <absl/strings/match.h>
#include <absl/strings/str_cat.h>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include "runtime/background_task.hpp"
#include "runtime/error_bridge.hpp"
#include "runtime/type_ids.hpp"

namespace weft {

namespace {

/// Chunk kinds of (http_chunk_atom, ...), see runtime/type_ids.hpp.
constexpr std::uint8_t chunk_data = 0;
constexpr std::uint8_t chunk_end = 1;
constexpr std::uint8_t chunk_abort = 2;

} // namespace

/// The writer and the counters, and the last copy's goodbye: a stream
/// dropped unfinished is failed, so the client does not wait forever.
struct http_stream::owner {
  caf::actor writer;
  std::shared_ptr<shared_state> state;

  owner(caf::actor w, std::shared_ptr<shared_state> s)
    : writer(std::move(w)), state(std::move(s)) {}
  owner(const owner&) = delete;
  owner& operator=(const owner&) = delete;

  ~owner() {
    if (state->ended.exchange(true))
      return;
    if (state->started.load())
      caf::anon_send(writer, http_chunk_atom_v, shared_bytes{}, chunk_abort);
    else
      caf::anon_send(writer, stream_fail_atom_v,
                     static_cast<std::uint8_t>(errc::handler_failed),
                     std::string{"the handler dropped its stream unstarted"});
  }
};

http_stream::http_stream(caf::actor writer, std::shared_ptr<shared_state> state)
  : owner_(std::make_shared<owner>(std::move(writer), std::move(state))) {}

namespace {

/// The head as the connection gets it (see http_response::to_response).
response stream_head(http_response head, const char* mode) {
  head.body = payload{};
  auto rsp = std::move(head).to_response();
  rsp.metadata[http_stream_key] = mode;
  return rsp;
}

} // namespace

absl::Status http_stream::start(http_response head) {
  auto& st = *owner_->state;
  if (st.started.exchange(true))
    return make_status(errc::failed_precondition, "the stream has started");
  auto first = head.body;
  caf::anon_send(owner_->writer, stream_head_atom_v,
                 stream_head(std::move(head), "chunked"));
  if (!first.is_file() && first.size() > 0)
    return write(first.bytes());
  return absl::OkStatus();
}

absl::Status http_stream::start_events(http_response head) {
  auto& st = *owner_->state;
  if (st.started.exchange(true))
    return make_status(errc::failed_precondition, "the stream has started");
  head.content_type = "text/event-stream";
  bool has_cache_control = false;
  for (const auto& [name, value] : head.headers)
    if (absl::EqualsIgnoreCase(name, "cache-control"))
      has_cache_control = true;
  if (!has_cache_control)
    head.headers.emplace_back("Cache-Control", "no-cache");
  caf::anon_send(owner_->writer, stream_head_atom_v,
                 stream_head(std::move(head), "events"));
  return absl::OkStatus();
}

absl::Status http_stream::ensure_started(bool events) {
  if (owner_->state->started.load())
    return absl::OkStatus();
  auto st = events ? start_events() : start();
  // Another thread may have started it meanwhile: that is fine.
  if (!st.ok() && !owner_->state->started.load())
    return st;
  return absl::OkStatus();
}

absl::Status http_stream::write_kind(shared_bytes data, std::uint8_t kind) {
  auto& st = *owner_->state;
  if (st.closed.load())
    return make_status(errc::unavailable, "the client went away");
  if (st.ended.load())
    return make_status(errc::failed_precondition, "the stream has ended");
  auto n = data.size();
  if (n == 0)
    return absl::OkStatus(); // an empty chunk would end the body
  auto before = st.unacked.fetch_add(n);
  if (before >= st.window.load()) {
    st.unacked.fetch_sub(n);
    return make_status(errc::overloaded,
                       "the stream's window is full: wait for on_writable");
  }
  caf::anon_send(owner_->writer, http_chunk_atom_v, std::move(data), kind);
  return absl::OkStatus();
}

absl::Status http_stream::write(shared_bytes data) {
  if (auto st = ensure_started(false); !st.ok())
    return st;
  return write_kind(std::move(data), chunk_data);
}

absl::Status http_stream::write(absl::string_view data) {
  return write(shared_bytes::copy_of(data));
}

absl::Status http_stream::send(const sse_event& ev) {
  auto text = encode_sse(ev);
  if (!text.ok())
    return text.status();
  if (auto st = ensure_started(true); !st.ok())
    return st;
  return write_kind(shared_bytes::copy_of(*text), chunk_data);
}

absl::Status http_stream::comment(absl::string_view text) {
  if (text.find_first_of("\r\n") != absl::string_view::npos)
    return make_status(errc::invalid_argument, "a comment is one line");
  if (auto st = ensure_started(true); !st.ok())
    return st;
  return write_kind(shared_bytes::copy_of(absl::StrCat(": ", text, "\n\n")),
                    chunk_data);
}

void http_stream::end() {
  if (!owner_->state->started.load())
    (void)start();
  if (owner_->state->ended.exchange(true))
    return;
  caf::anon_send(owner_->writer, http_chunk_atom_v, shared_bytes{}, chunk_end);
}

void http_stream::fail(const absl::Status& failure) {
  auto& st = *owner_->state;
  if (st.ended.exchange(true))
    return;
  if (st.started.exchange(true)) {
    caf::anon_send(owner_->writer, http_chunk_atom_v, shared_bytes{},
                   chunk_abort);
    return;
  }
  auto code = failure.ok() ? errc::internal : code_of(failure);
  caf::anon_send(owner_->writer, stream_fail_atom_v,
                 static_cast<std::uint8_t>(code),
                 std::string{failure.message()});
}

bool http_stream::writable() const noexcept {
  const auto& st = *owner_->state;
  return !st.closed.load() && !st.ended.load()
         && st.unacked.load() < st.window.load();
}

std::uint64_t http_stream::unacknowledged() const noexcept {
  return owner_->state->unacked.load();
}

bool http_stream::closed() const noexcept {
  return owner_->state->closed.load() || owner_->state->ended.load();
}

std::size_t http_stream::window() const noexcept {
  return owner_->state->window.load();
}

void http_stream::set_window(std::size_t bytes) noexcept {
  owner_->state->window.store(bytes == 0 ? 1 : bytes);
}

void http_stream::on_writable(std::function<void()> fn) {
  if (!fn)
    return;
  caf::anon_send(owner_->writer, writable_atom_v,
                 background_task{std::move(fn)});
}

// -- the writer actor ---------------------------------------------------------

namespace {

struct writer_state {
  caf::actor connection;
  std::uint64_t seq = 0;
  std::shared_ptr<http_stream::shared_state> shared;
  /// The handler's answer, owed to the connection until the head comes.
  std::optional<caf::response_promise> head_promise;
  /// A head (or failure) that came before (stream_open_atom).
  std::optional<response> early_head;
  std::optional<caf::error> early_failure;
  std::function<void()> when_writable;
  bool finished = false;

  static inline const char* name = "weft.http.stream_writer";
};

using writer_self = caf::stateful_actor<writer_state>*;

void run_when_writable(writer_self self) {
  auto& st = self->state;
  if (!st.when_writable)
    return;
  auto window = st.shared->window.load();
  if (!st.shared->closed.load() && st.shared->unacked.load() > window / 2)
    return;
  auto fn = std::move(st.when_writable);
  st.when_writable = nullptr;
  fn(); // may register the next one
}

/// The connection is gone (or refused the stream): nothing more is sent.
void close_writer(writer_self self) {
  auto& st = self->state;
  st.shared->closed.store(true);
  run_when_writable(self);
  self->quit();
}

void answer_head(writer_self self) {
  auto& st = self->state;
  if (!st.head_promise)
    return;
  if (st.early_failure) {
    st.head_promise->deliver(std::move(*st.early_failure));
    st.head_promise.reset();
    close_writer(self);
  } else if (st.early_head) {
    st.head_promise->deliver(std::move(*st.early_head));
    st.head_promise.reset();
  }
}

caf::behavior writer(writer_self self, caf::actor connection, std::uint64_t seq,
                     std::shared_ptr<http_stream::shared_state> shared) {
  auto& st = self->state;
  st.connection = std::move(connection);
  st.seq = seq;
  st.shared = std::move(shared);
  // The connection's end (even a kill) closes the stream for its writers.
  self->monitor(st.connection);
  self->set_down_handler([self](caf::down_msg&) { close_writer(self); });
  return {
    [self](stream_open_atom) -> caf::result<response> {
      auto& s = self->state;
      auto promise = self->make_response_promise();
      s.head_promise = promise;
      answer_head(self);
      return promise;
    },
    [self](stream_head_atom, response& head) {
      self->state.early_head = std::move(head);
      answer_head(self);
    },
    [self](stream_fail_atom, std::uint8_t code, std::string& message) {
      self->state.early_failure
        = to_error(make_status(static_cast<errc>(code), message));
      answer_head(self);
    },
    [self](writable_atom, background_task& task) {
      self->state.when_writable = std::move(task.run);
      run_when_writable(self);
    },
    [self](http_chunk_atom, shared_bytes& data, std::uint8_t kind) {
      auto& s = self->state;
      if (s.finished)
        return;
      auto n = data.size();
      self
        ->request(s.connection, caf::infinite, http_chunk_atom_v, s.seq,
                  std::move(data), kind)
        .then(
          [self, n](std::uint64_t) {
            auto& w = self->state;
            w.shared->unacked.fetch_sub(n);
            run_when_writable(self);
          },
          [self](caf::error&) { close_writer(self); });
      if (kind != chunk_data) {
        s.finished = true;
        s.shared->ended.store(true);
        self->quit();
      }
    },
  };
}

} // namespace

caf::actor
spawn_http_stream_writer(caf::actor_system& sys, caf::actor connection,
                         std::uint64_t seq,
                         std::shared_ptr<http_stream::shared_state> state) {
  return sys.spawn(writer, std::move(connection), seq, std::move(state));
}

} // namespace weft
