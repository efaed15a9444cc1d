#include "runtime/body_stream.hpp"

#include <algorithm>
#include <exception>
#include <string>
#include <utility>
#include <vector>

#include <absl/container/flat_hash_map.h>
#include <absl/strings/str_cat.h>
#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "runtime/answer_batch.hpp"
#include "runtime/error_bridge.hpp"
#include "runtime/errc.hpp"
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
  } catch (const std::exception& e) {
    return make_status(errc::handler_failed,
                       absl::StrCat("the handler of '", route,
                                    "' threw: ", e.what()));
  } catch (...) {
    return make_status(errc::handler_failed,
                       absl::StrCat("the handler of '", route, "' threw"));
  }
}

/// A streamed body being received: where it goes and whom to answer.
struct upload {
  std::string route;
  std::unique_ptr<body_consumer> consumer;
  /// The connection: it receives the acknowledgements.
  caf::actor connection;
  caf::typed_response_promise<response> promise;
};

/// A request is known by its connection and message id.
using upload_key = std::pair<std::uint64_t, std::uint32_t>;

/// A whole body in a file, fed to its consumer one step at a time.
struct file_job {
  std::string route;
  std::unique_ptr<body_consumer> consumer;
  payload body;
  std::uint64_t offset = 0;
  caf::typed_response_promise<response> promise;
};

struct body_stream_state {
  body_consumer_factory make;
  absl::flat_hash_map<upload_key, upload> uploads;
  /// File bodies being read, by a key of this actor's own.
  absl::flat_hash_map<std::uint64_t, file_job> files;
  std::uint64_t next_file = 0;
  /// Reused for reading whole file bodies.
  std::vector<std::uint8_t> buffer;

  static inline const char* name = "weft.body_stream";
};

using body_stream_self = caf::stateful_actor<body_stream_state>*;

/// A whole body (one frame, another edge, a spill file), fed in pieces, all
/// at once (batches: their bodies are small).
absl::StatusOr<response> consume_whole(body_stream_state& st, request& req) {
  auto body = std::move(req.body);
  const auto& route = req.route;
  auto consumer
    = run_guarded(route, [&] { return st.make(req, body.size()); });
  if (!consumer.ok())
    return consumer.status();
  auto& c = **consumer;
  auto write = [&](absl::Span<const std::uint8_t> bytes) {
    return run_guarded(route, [&] { return c.write(bytes); });
  };
  auto finish = [&] { return run_guarded(route, [&] { return c.finish(); }); };
  if (!body.is_file()) {
    if (body.size() > 0)
      if (auto written = write(body.bytes().span()); !written.ok())
        return written;
    return finish();
  }
  st.buffer.resize(static_cast<std::size_t>(
    std::min<std::uint64_t>(whole_read_size, body.size())));
  for (std::uint64_t offset = 0; offset < body.size();) {
    auto n = static_cast<std::size_t>(
      std::min<std::uint64_t>(st.buffer.size(), body.size() - offset));
    auto piece = absl::Span<std::uint8_t>(st.buffer.data(), n);
    if (auto read = body.read_into(offset, piece); !read.ok())
      return read;
    if (auto written = write(piece); !written.ok())
      return written;
    offset += n;
  }
  return finish();
}

caf::behavior body_stream_handler(body_stream_self self,
                                  body_consumer_factory make) {
  self->state.make = std::move(make);
  return {
    [self](body_begin_atom, request& head,
           std::uint64_t total) -> caf::result<response> {
      auto& st = self->state;
      auto consumer
        = run_guarded(head.route, [&] { return st.make(head, total); });
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
      auto written = run_guarded(
        up.route, [&] { return up.consumer->write(piece.span()); });
      if (!written.ok()) {
        up.promise.deliver(to_error(written));
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
      auto result
        = run_guarded(up.route, [&] { return up.consumer->finish(); });
      if (result.ok())
        up.promise.deliver(std::move(*result));
      else
        up.promise.deliver(to_error(result.status()));
    },
    [self](body_abort_atom, std::uint64_t connection_id,
           std::uint32_t message_id) {
      auto& st = self->state;
      auto found = st.uploads.find(upload_key{connection_id, message_id});
      if (found == st.uploads.end())
        return;
      // The connection no longer waits for this answer; delivering one
      // ends the request on our side. The consumer goes without finish().
      found->second.promise.deliver(
        to_error(make_status(errc::cancelled, "the upload was aborted")));
      st.uploads.erase(found);
    },
    [self](request_atom, request& req) -> caf::result<response> {
      auto& st = self->state;
      if (req.body.is_file() && req.body.size() > whole_read_size) {
        // A large file body is read a step at a time (body_read_atom to
        // ourselves), so that it holds neither this actor nor its thread
        // for the hundreds of milliseconds a GiB takes.
        auto consumer = run_guarded(
          req.route, [&] { return st.make(req, req.body.size()); });
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
      auto fail = [&](const absl::Status& why) {
        job.promise.deliver(to_error(why));
        st.files.erase(found);
      };
      auto n = static_cast<std::size_t>(std::min<std::uint64_t>(
        whole_read_size, job.body.size() - job.offset));
      st.buffer.resize(n);
      auto piece = absl::Span<std::uint8_t>(st.buffer.data(), n);
      if (auto read = job.body.read_into(job.offset, piece); !read.ok())
        return fail(read);
      auto written
        = run_guarded(job.route, [&] { return job.consumer->write(piece); });
      if (!written.ok())
        return fail(written);
      job.offset += n;
      if (job.offset < job.body.size()) {
        self->send(self, body_read_atom_v, key);
        return;
      }
      auto result
        = run_guarded(job.route, [&] { return job.consumer->finish(); });
      if (result.ok())
        job.promise.deliver(std::move(*result));
      else
        job.promise.deliver(to_error(result.status()));
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
