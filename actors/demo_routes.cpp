#include "actors/demo_routes.hpp"

#include <algorithm>

#include <absl/status/statusor.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/str_format.h>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <absl/container/flat_hash_map.h>
#include <absl/strings/numbers.h>
#include <array>
#include <chrono>
#include <thread>
#include <vector>

#include "actors/demo_http_routes.hpp"
#include "examples/hello.pb.h"
#include "runtime/answer_batch.hpp"
#include "runtime/error_bridge.hpp"
#include "runtime/protocol/checksum.hpp"
#include "runtime/type_ids.hpp"

namespace weft {

namespace {

/// The reply to `echo`: the request's body, content type and schema.
void echo_into(request& req, response& rsp) {
  rsp.body = std::move(req.body);
  rsp.content_type = std::move(req.content_type);
  rsp.schema = std::move(req.schema);
}

response echo(request& req) {
  response rsp;
  echo_into(req, rsp);
  return rsp;
}

/// The echo of the function routes (echo.edge, echo.fn): the reply is the
/// request's body, content type and schema.
absl::StatusOr<response> echo_function(const payload& body, context& ctx) {
  response rsp;
  rsp.body = body;
  rsp.content_type = ctx.content_type();
  rsp.schema = ctx.info().schema;
  return rsp;
}

/// The consumer of `sink`: the reply is the body's size and CRC-64, as
/// JSON, computed as the body arrives.
class sink_consumer final : public body_consumer {
public:
  absl::Status write(absl::Span<const std::uint8_t> bytes) override {
    sum_.update(bytes);
    size_ += bytes.size();
    return absl::OkStatus();
  }

  absl::StatusOr<response> finish() override {
    response rsp;
    rsp.body = payload{shared_bytes::copy_of(absl::StrFormat(
      R"({"size":%d,"crc64":"%016x"})", size_, sum_.digest()))};
    rsp.content_type = "application/json";
    return rsp;
  }

private:
  protocol::checksum sum_;
  std::uint64_t size_ = 0;
};

caf::behavior echo_route(caf::event_based_actor*) {
  return {
    [](request_atom, request& req) -> response { return echo(req); },
    [](request_atom, request_batch& batch) -> reply_batch {
      return answer_batch(batch, [](request& req, response& rsp) {
        echo_into(req, rsp);
        return absl::OkStatus();
      });
    },
  };
}

struct slow_route_state {
  std::string node_name;
  std::uint64_t next_id = 0;
  absl::flat_hash_map<std::uint64_t, caf::typed_response_promise<response>>
    waiting;
};

response name_reply(const std::string& node_name) {
  response rsp;
  rsp.body = payload{shared_bytes::copy_of(node_name)};
  rsp.content_type = "text/plain";
  return rsp;
}

constexpr std::uint32_t work_default_us = 50;
constexpr std::uint32_t work_max_us = 10'000;

/// Keeps one core busy for `us` microseconds with real work (CRC-64 rounds
/// over a 1 KiB block, each folded into the next), not a sleep: what a
/// CPU-bound handler costs its node.
std::uint64_t burn_cpu(std::uint32_t us) {
  std::array<std::uint8_t, 1024> block{};
  protocol::checksum sum;
  auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(us);
  do {
    sum.update(block);
    block[0] = static_cast<std::uint8_t>(sum.digest());
  } while (std::chrono::steady_clock::now() < until);
  return sum.digest();
}

/// `node.work`: the body is the CPU time in µs as decimal text (empty: 50),
/// at most work_max_us; the reply is the node's name.
absl::StatusOr<response> work(const payload& body,
                              const std::string& node_name) {
  std::uint32_t us = work_default_us;
  if (body.size() != 0) {
    auto bytes = body.read_all(16);
    if (!bytes.ok() || !absl::SimpleAtoi(bytes->view(), &us)
        || us > work_max_us)
      return make_status(errc::invalid_argument,
                         "the body is a CPU time in us, 0..10000 (empty: 50)");
  }
  burn_cpu(us);
  return name_reply(node_name);
}

caf::behavior slow_route(caf::stateful_actor<slow_route_state>* self,
                         std::string node_name) {
  self->state.node_name = std::move(node_name);
  return {
    [self](request_atom, const request& req) -> caf::result<response> {
      auto bytes = req.body.read_all(64);
      std::uint32_t ms = 0;
      if (!bytes.ok() || !absl::SimpleAtoi(bytes->view(), &ms) || ms > 60'000)
        return to_error(make_status(errc::invalid_argument,
                                    "the body is a delay in ms, 0..60000"));
      auto id = ++self->state.next_id;
      auto promise = self->make_response_promise<response>();
      self->state.waiting.emplace(id, promise);
      self->delayed_send(self, std::chrono::milliseconds(ms), tick_atom_v, id);
      return promise;
    },
    [self](tick_atom, std::uint64_t id) {
      auto& st = self->state;
      if (auto i = st.waiting.find(id); i != st.waiting.end()) {
        i->second.deliver(name_reply(st.node_name));
        st.waiting.erase(i);
      }
    },
  };
}

} // namespace

caf::actor spawn_slow_route(caf::actor_system& sys, std::string node_name) {
  return sys.spawn(slow_route, std::move(node_name));
}

caf::actor spawn_echo_route(caf::actor_system& sys) {
  return sys.spawn(echo_route);
}

body_consumer_factory sink_consumers() {
  return [](const request&, std::uint64_t)
           -> absl::StatusOr<std::unique_ptr<body_consumer>> {
    return std::make_unique<sink_consumer>();
  };
}

caf::actor spawn_sink_route(caf::actor_system& sys) {
  return spawn_body_stream_handler(sys, sink_consumers());
}

blueprint demo_app(task_scheduler_actor scheduler, std::string node_name) {
  route_options batches;
  batches.accepts_batches = true;
  // echo and sink are the benchmarks' routes (docs/benchmarks.md): 1,000
  // connections with 16 requests each in flight are 16,000 at once, above
  // the default bound of 4,096 that would answer the rest `overloaded`.
  batches.max_queue = 65'536;
  // echo is the benchmarks' route through the normal dispatch path to a
  // handler actor (docs/benchmarks.md); echo.actor is the same, kept for
  // older scripts. echo.edge answers on the connection that received it
  // (run_on_edge), without the two hand-offs, for comparison. sink reads
  // whole bodies (up to GiBs, from spill files): never on the edge.
  route_options on_edge;
  on_edge.run_on_edge = true;
  // One echo actor per core, each fed by the connections of its own core
  // (same_core): an echo costs far less than a hand-off between cores.
  auto per_core = batches;
  per_core.workers = std::max(1u, std::thread::hardware_concurrency());
  per_core.dispatch = dispatch_policy::same_core;
  blueprint app;
  app.route_actors("echo", spawn_echo_route, per_core);
  app.route_actors("echo.actor", spawn_echo_route, per_core);
  app.raw_route("echo.edge", echo_function, on_edge);
  // sink takes bodies as they arrive (a stream route): a GiB upload is
  // checksummed 64 KiB at a time, never held or spilled to a file.
  app.stream_route("sink", sink_consumers(), batches);
  // sink.whole: the same answer from the whole body, assembled first (in a
  // spill file past 8 MiB), for comparison (docs/benchmarks.md).
  app.route_actors("sink.whole", spawn_sink_route, batches);
  // The protobuf route of the guide (docs/guide.md), for `weft call
  // --json` and `weft schemas` against a fresh weftd.
  app.route<examples::hello::Greet, examples::hello::Greeting>(
    "hello.greet",
    [](const examples::hello::Greet& req,
       context&) -> absl::StatusOr<examples::hello::Greeting> {
      if (req.name().empty())
        return make_status(errc::invalid_argument, "name is empty");
      examples::hello::Greeting out;
      out.set_text(absl::StrCat("Hello, ", req.name(), "!"));
      return out;
    });
  // echo.fn: the same echo as a function route, on the same pool shape as
  // echo (one handler actor per core, same_core), so that comparing the two
  // measures the function route itself (docs/benchmarks.md, "Application
  // API"), not a pool of one actor against one per core.
  app.raw_route("echo.fn", echo_function, per_core);
  app.raw_route("node.whoami",
                [node_name](const payload&, context&) -> response {
                  return name_reply(node_name);
                });
  route_options keyed;
  keyed.dispatch = dispatch_policy::by_key;
  keyed.key = "key";
  app.raw_route(
    "node.whoami.keyed",
    [node_name](const payload&, context&) -> response {
      return name_reply(node_name);
    },
    keyed);
  route_options slow;
  slow.max_queue = 65'536;
  app.route_actors(
    "node.slow",
    [node_name](caf::actor_system& sys) {
      return spawn_slow_route(sys, node_name);
    },
    slow);
  // node.work is the cluster benchmark's CPU-bound route
  // (tests/bench/run_cluster_bench.sh): a pool of one handler actor per
  // core, so one node can keep all its cores busy with it.
  route_options cpu_bound;
  cpu_bound.workers = std::max(1u, std::thread::hardware_concurrency());
  cpu_bound.max_queue = 65'536;
  app.raw_route(
    "node.work",
    [node_name](const payload& body, context&) {
      return work(body, node_name);
    },
    cpu_bound);
  add_demo_http_routes(app, std::move(scheduler));
  return app;
}

} // namespace weft
