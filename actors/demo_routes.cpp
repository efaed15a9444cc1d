#include "actors/demo_routes.hpp"

#include <algorithm>

#include <absl/status/statusor.h>
#include <absl/strings/str_format.h>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>

#include "runtime/error_bridge.hpp"
#include "runtime/protocol/checksum.hpp"
#include "runtime/type_ids.hpp"

namespace weft {

namespace {

constexpr std::size_t sink_read_size = 1024 * 1024;

response echo(request& req) {
  response rsp;
  rsp.body = std::move(req.body);
  rsp.content_type = std::move(req.content_type);
  rsp.schema = std::move(req.schema);
  return rsp;
}

absl::StatusOr<response> sink(const request& req) {
  protocol::checksum sum;
  const auto& body = req.body;
  for (std::uint64_t offset = 0; offset < body.size();) {
    auto n = static_cast<std::size_t>(
      std::min<std::uint64_t>(sink_read_size, body.size() - offset));
    auto piece = body.read(offset, n);
    if (!piece.ok())
      return piece.status();
    sum.update(piece->span());
    offset += n;
  }
  response rsp;
  rsp.body = payload{shared_bytes::copy_of(absl::StrFormat(
    R"({"size":%d,"crc64":"%016x"})", body.size(), sum.digest()))};
  rsp.content_type = "application/json";
  return rsp;
}

/// Answers every request of `batch` with `handle`.
template <class Handle>
reply_batch for_each(request_batch& batch, Handle handle) {
  reply_batch out;
  out.items.reserve(batch.items.size());
  for (auto& req : batch.items) {
    batch_reply r;
    r.message_id = req.message_id;
    absl::StatusOr<response> rsp = handle(req);
    if (rsp.ok()) {
      r.rsp = std::move(*rsp);
    } else {
      r.code = static_cast<std::uint8_t>(code_of(rsp.status()));
      r.message = std::string{rsp.status().message()};
    }
    out.items.push_back(std::move(r));
  }
  return out;
}

caf::behavior echo_route(caf::event_based_actor*) {
  return {
    [](request_atom, request& req) -> response { return echo(req); },
    [](request_atom, request_batch& batch) -> reply_batch {
      return for_each(batch, [](request& req) { return echo(req); });
    },
  };
}

caf::behavior sink_route(caf::event_based_actor*) {
  return {
    [](request_atom, const request& req) -> caf::result<response> {
      auto rsp = sink(req);
      if (!rsp.ok())
        return to_error(rsp.status());
      return std::move(*rsp);
    },
    [](request_atom, request_batch& batch) -> reply_batch {
      return for_each(batch, [](request& req) { return sink(req); });
    },
  };
}

} // namespace

caf::actor spawn_echo_route(caf::actor_system& sys) {
  return sys.spawn(echo_route);
}

caf::actor spawn_sink_route(caf::actor_system& sys) {
  return sys.spawn(sink_route);
}

} // namespace weft
