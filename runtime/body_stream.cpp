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

/// Largest piece of a whole file body read at once.
constexpr std::uint64_t whole_read_size = 4 * 1024 * 1024;

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

struct body_stream_state {
  body_consumer_factory make;
  absl::flat_hash_map<upload_key, upload> uploads;
  /// Reused for reading whole file bodies.
  std::vector<std::uint8_t> buffer;

  static inline const char* name = "weft.body_stream";
};

using body_stream_self = caf::stateful_actor<body_stream_state>*;

/// A whole body (one frame, another edge, a spill file), fed in pieces.
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
      auto result = consume_whole(self->state, req);
      if (!result.ok())
        return to_error(result.status());
      return std::move(*result);
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
