#include "runtime/body_stream.hpp"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include <absl/container/flat_hash_map.h>
#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "runtime/answer_batch.hpp"
#include "runtime/error_bridge.hpp"
#include "runtime/errc.hpp"
#include "runtime/run_function_handler.hpp"
#include "runtime/type_ids.hpp"

namespace weft {

namespace {

/// Largest piece of a whole file body read at once: one step of a file
/// body (read and consumed in about a millisecond), between which the
/// handler's other messages and its thread's other actors run.
constexpr std::uint64_t whole_read_size = 1024 * 1024;

/// Runs the user's code `f` (the factory, or a consumer's call): a throw
/// becomes `handler_failed`, as for a function handler, rather than ending
/// the handler actor and every upload it serves.
template <class F>
auto run_guarded(const std::string& route, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (...) {
    return status_of_thrown(route);
  }
}

/// A body being fed to its consumer, and whom to answer.
struct feed {
  std::string route;
  std::unique_ptr<body_consumer> consumer;
  caf::typed_response_promise<response> promise;

  absl::Status write(absl::Span<const std::uint8_t> bytes) {
    return run_guarded(route, [&] { return consumer->write(bytes); });
  }

  /// The body is whole: the consumer's answer goes out.
  void finish() {
    auto result = run_guarded(route, [&] { return consumer->finish(); });
    if (result.ok())
      promise.deliver(std::move(*result));
    else
      fail(result.status());
  }

  void fail(const absl::Status& why) {
    promise.deliver(to_error(why));
  }
};

/// A streamed body being received.
struct upload : feed {
  /// The connection: it receives the acknowledgements.
  caf::actor connection;
};

/// A request is known by its connection and message id.
using upload_key = std::pair<std::uint64_t, std::uint32_t>;

/// A whole body in a file, fed to its consumer one step at a time.
struct file_job : feed {
  payload body;
  std::uint64_t offset = 0;
};

struct body_stream_state {
  body_consumer_factory make;
  absl::flat_hash_map<upload_key, upload> uploads;
  /// File bodies being read, by a key of this actor's own.
  absl::flat_hash_map<std::uint64_t, file_job> files;
  std::uint64_t next_file = 0;
  /// Reused for reading file bodies.
  std::vector<std::uint8_t> buffer;

  /// A consumer for `head` (whose body is `total` bytes), or why not.
  absl::StatusOr<std::unique_ptr<body_consumer>> consumer_for(
    const request& head, std::uint64_t total) {
    return run_guarded(head.route, [&] { return make(head, total); });
  }

  static inline const char* name = "weft.body_stream";
};

using body_stream_self = caf::stateful_actor<body_stream_state>*;

/// Reads the next step of file `body` at `offset` (at most whole_read_size
/// bytes) into `buffer` and hands it to `write`; advances `offset`.
template <class Write>
absl::Status read_step(const payload& body, std::uint64_t& offset,
                       std::vector<std::uint8_t>& buffer, Write&& write) {
  auto n = static_cast<std::size_t>(
    std::min<std::uint64_t>(whole_read_size, body.size() - offset));
  buffer.resize(n);
  auto piece = absl::Span<std::uint8_t>(buffer.data(), n);
  if (auto read = body.read_into(offset, piece); !read.ok())
    return read;
  offset += n;
  return write(piece);
}

/// A whole body (one frame, another edge, a small spill file), fed to a
/// consumer all at once: batches, whose bodies are small, and small files.
absl::StatusOr<response> consume_whole(body_stream_state& st, request& req) {
  auto body = std::move(req.body);
  auto consumer = st.consumer_for(req, body.size());
  if (!consumer.ok())
    return consumer.status();
  auto& c = **consumer;
  auto write = [&](absl::Span<const std::uint8_t> bytes) {
    return run_guarded(req.route, [&] { return c.write(bytes); });
  };
  if (!body.is_file() && body.size() > 0)
    if (auto written = write(body.bytes().span()); !written.ok())
      return written;
  for (std::uint64_t offset = 0; body.is_file() && offset < body.size();)
    if (auto step = read_step(body, offset, st.buffer, write); !step.ok())
      return step;
  return run_guarded(req.route, [&] { return c.finish(); });
}

caf::behavior body_stream_handler(body_stream_self self,
                                  body_consumer_factory make) {
  self->state.make = std::move(make);
  return {
    [self](body_begin_atom, request& head,
           std::uint64_t total) -> caf::result<response> {
      auto& st = self->state;
      auto consumer = st.consumer_for(head, total);
      if (!consumer.ok())
        return to_error(consumer.status());
      upload up;
      up.route = head.route;
      up.consumer = std::move(*consumer);
      up.connection = caf::actor_cast<caf::actor>(self->current_sender());
      up.promise = self->make_response_promise<response>();
      auto promise = up.promise;
      st.uploads.insert_or_assign(upload_key{head.connection_id,
                                             head.message_id},
                                  std::move(up));
      return promise;
    },
    [self](body_piece_atom, std::uint64_t connection_id,
           std::uint32_t message_id, const shared_bytes& piece) {
      auto& st = self->state;
      auto found = st.uploads.find(upload_key{connection_id, message_id});
      if (found == st.uploads.end())
        return; // failed or aborted before: the connection stops sending
      auto& up = found->second;
      if (auto written = up.write(piece.span()); !written.ok()) {
        up.fail(written);
        st.uploads.erase(found);
        return;
      }
      self->send(up.connection, body_ack_atom_v, message_id,
                 static_cast<std::uint64_t>(piece.size()));
    },
    [self](body_end_atom, std::uint64_t connection_id,
           std::uint32_t message_id) {
      auto& st = self->state;
      auto found = st.uploads.find(upload_key{connection_id, message_id});
      if (found == st.uploads.end())
        return;
      auto up = std::move(found->second);
      st.uploads.erase(found);
      up.finish();
    },
    [self](body_abort_atom, std::uint64_t connection_id,
           std::uint32_t message_id) {
      auto& st = self->state;
      auto found = st.uploads.find(upload_key{connection_id, message_id});
      if (found == st.uploads.end())
        return;
      // The connection no longer waits for this answer; delivering one
      // ends the request on our side. The consumer goes without finish().
      found->second.fail(make_status(errc::cancelled, "the upload was aborted"));
      st.uploads.erase(found);
    },
    [self](request_atom, request& req) -> caf::result<response> {
      auto& st = self->state;
      if (req.body.is_file() && req.body.size() > whole_read_size) {
        // A large file body is read a step at a time (body_read_atom to
        // ourselves), so that it holds neither this actor nor its thread
        // for the hundreds of milliseconds a GiB takes.
        auto consumer = st.consumer_for(req, req.body.size());
        if (!consumer.ok())
          return to_error(consumer.status());
        file_job job;
        job.route = req.route;
        job.consumer = std::move(*consumer);
        job.body = std::move(req.body);
        job.promise = self->make_response_promise<response>();
        auto promise = job.promise;
        auto key = st.next_file++;
        st.files.emplace(key, std::move(job));
        self->send(self, body_read_atom_v, key);
        return promise;
      }
      auto result = consume_whole(st, req);
      if (!result.ok())
        return to_error(result.status());
      return std::move(*result);
    },
    [self](body_read_atom, std::uint64_t key) {
      auto& st = self->state;
      auto found = st.files.find(key);
      if (found == st.files.end())
        return;
      auto& job = found->second;
      auto step = read_step(job.body, job.offset, st.buffer,
                            [&](auto piece) { return job.write(piece); });
      if (step.ok() && job.offset < job.body.size()) {
        self->send(self, body_read_atom_v, key);
        return;
      }
      if (step.ok())
        job.finish();
      else
        job.fail(step);
      st.files.erase(found);
    },
    [self](request_atom, request_batch& batch) -> reply_batch {
      return answer_batch(batch, [self](request& req) {
        return consume_whole(self->state, req);
      });
    },
  };
}

} // namespace

caf::actor spawn_body_stream_handler(caf::actor_system& sys,
                                     body_consumer_factory make) {
  return sys.spawn(body_stream_handler, std::move(make));
}

} // namespace weft
