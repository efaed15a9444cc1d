// The binary gateway over real loopback sockets: the C++ client against a
// node serving the demo routes, and raw sockets that misbehave.

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <chrono>
#include <future>
#include <random>
#include <stdexcept>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <gtest/gtest.h>

#include "actors/demo_routes.hpp"
#include "gateways/binary/binary_gateway.hpp"
#include "runtime/client/client.hpp"
#include "runtime/error_bridge.hpp"
#include "runtime/node.hpp"
#include "runtime/protocol/checksum.hpp"
#include "runtime/protocol/frame_decoder.hpp"
#include "runtime/protocol/frame_writer.hpp"
#include "runtime/protocol/spill_files.hpp"
#include "runtime/protocol/wire_format.hpp"
#include "runtime/type_ids.hpp"

namespace weft {
namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

/// Waits (bounded) until `pred` holds, polling a cheap condition.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = 10s) {
  auto deadline = clock_type::now() + limit;
  while (clock_type::now() < deadline) {
    if (pred())
      return true;
    std::this_thread::sleep_for(2ms);
  }
  return pred();
}

/// A route that never answers: its requests end by deadline or timeout.
caf::behavior silent_route(caf::event_based_actor* self) {
  return {
    [self](request_atom, const request&) -> caf::result<response> {
      return self->make_response_promise<response>();
    },
  };
}

/// A batch-capable route with a bug: it answers no request of a batch and
/// fails single requests. Every request must still get exactly one reply.
caf::behavior forgetful_route(caf::event_based_actor*) {
  return {
    [](request_atom, const request&) -> caf::result<response> {
      return make_weft_error(errc::internal, "forgot");
    },
    [](request_atom, const request_batch&) { return reply_batch{}; },
  };
}

/// A batch-capable route with another bug: it answers a batch's requests
/// in reverse order, the first one twice, and leaves the last one out (as
/// many answers as requests, but not one each).
caf::behavior sloppy_route(caf::event_based_actor*) {
  return {
    [](request_atom, request& req) -> response {
      response rsp;
      rsp.body = std::move(req.body);
      return rsp;
    },
    [](request_atom, request_batch& batch) {
      reply_batch out;
      const auto& items = batch.items;
      for (std::size_t i = items.size() - 1; i-- > 0;)
        out.items.emplace_back().message_id = items[i].message_id;
      out.items.emplace_back().message_id = items.front().message_id;
      return out;
    },
  };
}

/// A streaming route that answers as soon as a body begins and
/// acknowledges no piece: its answer must still wait for the body's end,
/// and the sender must not stall for the credit it never gives back.
caf::behavior early_route(caf::event_based_actor*) {
  auto size_reply = [](std::uint64_t total) {
    response rsp;
    rsp.body = payload{shared_bytes::copy_of(std::to_string(total))};
    return rsp;
  };
  return {
    [size_reply](body_begin_atom, const request&, std::uint64_t total) {
      return size_reply(total);
    },
    [](body_piece_atom, std::uint64_t, std::uint32_t, const shared_bytes&) {},
    [](body_end_atom, std::uint64_t, std::uint32_t) {},
    [](body_abort_atom, std::uint64_t, std::uint32_t) {},
    [size_reply](request_atom, const request& req) {
      return size_reply(req.body.size());
    },
  };
}

/// A streaming route whose actor dies at the first piece of a body, its
/// answer never given.
caf::behavior dying_route(caf::event_based_actor* self) {
  return {
    [self](body_begin_atom, const request&,
           std::uint64_t) -> caf::result<response> {
      return self->make_response_promise<response>();
    },
    [self](body_piece_atom, std::uint64_t, std::uint32_t, const shared_bytes&) {
      self->quit(caf::exit_reason::user_shutdown);
    },
    [](body_end_atom, std::uint64_t, std::uint32_t) {},
    [](body_abort_atom, std::uint64_t, std::uint32_t) {},
  };
}

/// What the consumers of the `probe` stream route went through.
struct probe_counts {
  std::atomic<int> made{0};
  std::atomic<int> finished{0};
  std::atomic<int> destroyed{0};
  std::atomic<std::uint64_t> bytes{0};
};

/// Counts its life in `counts`; fails with permission_denied past the
/// number of bytes in the request's metadata "fail_after", if any.
class probe_consumer final : public body_consumer {
public:
  probe_consumer(std::shared_ptr<probe_counts> counts, std::uint64_t fail_after,
                 std::uint64_t throw_after = UINT64_MAX)
    : counts_(std::move(counts)),
      fail_after_(fail_after),
      throw_after_(throw_after) {
    ++counts_->made;
  }

  ~probe_consumer() override {
    ++counts_->destroyed;
  }

  absl::Status write(absl::Span<const std::uint8_t> bytes) override {
    seen_ += bytes.size();
    counts_->bytes += bytes.size();
    if (seen_ > fail_after_)
      return make_status(errc::permission_denied, "quota exceeded");
    if (seen_ > throw_after_)
      throw std::runtime_error("disk on fire");
    return absl::OkStatus();
  }

  absl::StatusOr<response> finish() override {
    ++counts_->finished;
    response rsp;
    rsp.body = payload{shared_bytes::copy_of(std::to_string(seen_))};
    return rsp;
  }

private:
  std::shared_ptr<probe_counts> counts_;
  std::uint64_t fail_after_;
  std::uint64_t throw_after_;
  std::uint64_t seen_ = 0;
};

shared_bytes random_bytes(std::mt19937_64& rng, std::size_t n) {
  std::vector<std::uint8_t> data(n);
  for (std::size_t i = 0; i < n; i += 8) {
    auto x = rng();
    for (std::size_t k = 0; k < 8 && i + k < n; ++k)
      data[i + k] = static_cast<std::uint8_t>(x >> (8 * k));
  }
  return shared_bytes{std::move(data)};
}

class BinaryGatewayTest : public ::testing::Test {
protected:
  void SetUp() override {
    node_config cfg;
    cfg.scheduler_threads = 2;
    cfg.io_threads = 2;
    cfg.drain_timeout = absl::Seconds(2);
    auto started = node::start(cfg, logger{log_level::off});
    ASSERT_TRUE(started.ok()) << started.status();
    node_ = std::move(*started);
    route_options batches;
    batches.accepts_batches = true;
    blueprint app;
    app.route_actors("echo", spawn_echo_route, batches);
    // sink takes bodies whole (assembled, spilled past 8 MiB); sink.stream
    // and probe as they arrive.
    app.route_actors("sink", spawn_sink_route, batches);
    app.stream_route("sink.stream", sink_consumers(), batches);
    app.stream_route(
      "probe",
      [counts = probe_](const request& head, std::uint64_t)
        -> absl::StatusOr<std::unique_ptr<body_consumer>> {
        auto limit = [&](const char* key) {
          auto f = head.metadata.find(key);
          return f == head.metadata.end() ? UINT64_MAX
                                          : std::stoull(f->second);
        };
        return std::make_unique<probe_consumer>(counts, limit("fail_after"),
                                                limit("throw_after"));
      });
    // guarded.probe: the same consumers behind a middleware that wants a
    // "token" in the metadata.
    blueprint guarded{"guarded"};
    guarded.use({"token", [](request& req) {
                   return req.metadata.count("token") != 0
                            ? absl::OkStatus()
                            : make_status(errc::permission_denied,
                                          "no token");
                 }, nullptr});
    guarded.stream_route(
      "probe",
      [counts = probe_](const request&, std::uint64_t)
        -> absl::StatusOr<std::unique_ptr<body_consumer>> {
        return std::make_unique<probe_consumer>(counts, UINT64_MAX);
      });
    app.mount(std::move(guarded));
    route_options streams;
    streams.stream_body = true;
    app.route_actors(
      "early", [](caf::actor_system& sys) { return sys.spawn(early_route); },
      streams);
    app.route_actors(
      "dying", [](caf::actor_system& sys) { return sys.spawn(dying_route); },
      streams);
    app.route_actors("silent", [](caf::actor_system& sys) {
      return sys.spawn(silent_route);
    });
    app.route_actors(
      "forgetful",
      [](caf::actor_system& sys) { return sys.spawn(forgetful_route); },
      batches);
    app.route_actors(
      "sloppy", [](caf::actor_system& sys) { return sys.spawn(sloppy_route); },
      batches);
    auto served = node_->serve(std::move(app));
    ASSERT_TRUE(served.ok()) << served;
    binary::binary_gateway_options opts;
    opts.port = 0;
    opts.session.spill_dir = ::testing::TempDir();
    opts.session.local.heartbeat_interval_ms = 0;
    opts.session.local.idle_timeout_ms = 0;
    opts.session.cancel_burst = 50;
    opts.session.cancel_rate = 10;
    opts.handler_timeout = absl::Seconds(5);
    customize(opts);
    auto gateway = binary::start_binary_gateway(
      node_->system(), node_->reactors(), node_->router(), opts,
      node_->log());
    ASSERT_TRUE(gateway.ok()) << gateway.status();
    gateway_ = *gateway;
    node_->add_drain_participant(gateway_.listener);
  }

  void TearDown() override {
    clients_.clear();
    if (node_)
      node_->stop();
  }

  virtual void customize(binary::binary_gateway_options&) {
  }

  client& connect() {
    client_options opts;
    opts.port = gateway_.port;
    opts.session.spill_dir = ::testing::TempDir();
    opts.reconnect = false;
    auto c = client::connect(node_->system(), node_->reactors(), opts);
    EXPECT_TRUE(c.ok()) << c.status();
    clients_.push_back(std::move(*c));
    return *clients_.back();
  }

  void expect_echo_works() {
    auto& c = connect();
    auto r = c.call_sync("echo", payload{shared_bytes::copy_of("still alive")},
                         {});
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->body.bytes().view(), "still alive");
  }

  /// A client of its own (actor system, reactor) sends `size` random bytes
  /// to `route` and vanishes with its connection once `started` holds.
  template <class Pred>
  void vanish_mid_upload(const std::string& route, std::size_t size,
                         Pred started) {
    client_options opts;
    opts.port = gateway_.port;
    opts.reconnect = false;
    auto c = client::connect(opts);
    ASSERT_TRUE(c.ok()) << c.status();
    std::mt19937_64 rng{9};
    call_options copts;
    copts.priority = weft::wire::PRIORITY_BULK;
    auto pending = (*c)->call(route, payload{random_bytes(rng, size)}, copts);
    ASSERT_TRUE(eventually(started));
  }

  /// Spill files of this process in the gateway's spill directory.
  static std::size_t spill_files() {
    auto prefix = protocol::spill_file_prefix(::testing::TempDir());
    auto slash = prefix.rfind('/');
    auto dir = prefix.substr(0, slash);
    auto name = prefix.substr(slash + 1);
    std::size_t n = 0;
    if (DIR* d = ::opendir(dir.c_str())) {
      while (auto* e = ::readdir(d))
        if (std::string{e->d_name}.rfind(name, 0) == 0)
          ++n;
      ::closedir(d);
    }
    return n;
  }

  std::shared_ptr<probe_counts> probe_ = std::make_shared<probe_counts>();
  std::unique_ptr<node> node_;
  binary::binary_gateway gateway_;
  std::vector<std::unique_ptr<client>> clients_;
};

TEST_F(BinaryGatewayTest, EchoAnswersWithTheSameBytes) {
  auto& c = connect();
  auto r = c.call_sync("echo", payload{shared_bytes::copy_of("hello weft")});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->body.bytes().view(), "hello weft");
}

TEST_F(BinaryGatewayTest, EmptyBodyRoundTrips) {
  auto& c = connect();
  auto r = c.call_sync("echo", payload{});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->body.size(), 0u);
}

TEST_F(BinaryGatewayTest, SinkReportsSizeAndChecksum) {
  auto& c = connect();
  std::mt19937_64 rng{7};
  auto body = random_bytes(rng, 3 * 1024 * 1024 + 5);
  auto r = c.call_sync("sink", payload{body});
  ASSERT_TRUE(r.ok()) << r.status();
  char expected[96];
  std::snprintf(expected, sizeof(expected),
                R"({"size":%zu,"crc64":"%016llx"})", body.size(),
                static_cast<unsigned long long>(
                  protocol::checksum::of({}, body.span())));
  EXPECT_EQ(r->body.bytes().view(), expected);
  EXPECT_EQ(r->content_type, "application/json");
}

std::string sink_json(const shared_bytes& body) {
  char expected[96];
  std::snprintf(expected, sizeof(expected),
                R"({"size":%zu,"crc64":"%016llx"})", body.size(),
                static_cast<unsigned long long>(
                  protocol::checksum::of({}, body.span())));
  return expected;
}

TEST_F(BinaryGatewayTest, StreamRouteTakesALargeBodyWithoutHoldingIt) {
  auto& c = connect();
  std::mt19937_64 rng{17};
  auto body = random_bytes(rng, 48 * 1024 * 1024 + 7);
  auto pending = c.call("sink.stream", payload{body});
  // While it arrives, nothing is assembled in memory or in a spill file.
  std::size_t looks = 0;
  while (pending.result.wait_for(1ms) != std::future_status::ready
         && looks < 20'000) {
    ++looks;
    EXPECT_EQ(gateway_.stats->inbound_memory.load(), 0);
    EXPECT_EQ(spill_files(), 0u);
  }
  auto r = pending.result.get();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->body.bytes().view(), sink_json(body));
  // The same body to the whole-body route spills, and answers the same.
  auto whole = c.call_sync("sink", payload{body});
  ASSERT_TRUE(whole.ok()) << whole.status();
  EXPECT_EQ(whole->body.bytes().view(), sink_json(body));
}

TEST_F(BinaryGatewayTest, StreamRouteTakesOneFrameBodiesWhole) {
  auto& c = connect();
  std::mt19937_64 rng{19};
  for (std::size_t size : {0u, 10u, 50'000u, 70'000u}) {
    auto body = random_bytes(rng, size);
    auto r = c.call_sync("sink.stream", payload{body});
    ASSERT_TRUE(r.ok()) << size << ": " << r.status();
    EXPECT_EQ(r->body.bytes().view(), sink_json(body)) << size;
  }
}

TEST_F(BinaryGatewayTest, ManyConcurrentStreamsEachArriveIntact) {
  auto& c = connect();
  std::mt19937_64 rng{23};
  std::vector<shared_bytes> bodies;
  std::vector<pending_call> calls;
  for (int i = 0; i < 24; ++i) {
    bodies.push_back(random_bytes(rng, (rng() % (6u << 20)) + 70'000));
    call_options opts;
    opts.priority = static_cast<weft::wire::Priority>(rng() % 4);
    calls.push_back(c.call("sink.stream", payload{bodies.back()}, opts));
  }
  for (std::size_t i = 0; i < calls.size(); ++i) {
    ASSERT_EQ(calls[i].result.wait_for(60s), std::future_status::ready) << i;
    auto r = calls[i].result.get();
    ASSERT_TRUE(r.ok()) << i << ": " << r.status();
    EXPECT_EQ(r->body.bytes().view(), sink_json(bodies[i])) << i;
  }
}

TEST_F(BinaryGatewayTest, ConsumerErrorEndsTheUploadAtOnce) {
  auto& c = connect();
  std::mt19937_64 rng{29};
  auto body = random_bytes(rng, 128 * 1024 * 1024);
  call_options opts;
  opts.metadata["fail_after"] = "1048576";
  auto r = c.call_sync("probe", payload{body}, opts);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(code_of(r.status()), errc::permission_denied) << r.status();
  EXPECT_EQ(r.status().message(), "quota exceeded");
  // It failed after about a window past the limit, not after 128 MiB.
  EXPECT_LT(probe_->bytes.load(), 16u * 1024 * 1024);
  EXPECT_EQ(probe_->finished.load(), 0);
  EXPECT_TRUE(eventually([&] {
    return probe_->destroyed.load() == 1
           && gateway_.stats->open_inbound.load() == 0
           && gateway_.stats->inflight.load() == 0;
  }));
  // The connection goes on.
  auto ok = c.call_sync("probe", payload{random_bytes(rng, 300'000)});
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->body.bytes().view(), "300000");
}

TEST_F(BinaryGatewayTest, MiddlewareRefusingAStreamEndsTheUploadAtOnce) {
  auto& c = connect();
  std::mt19937_64 rng{43};
  auto body = random_bytes(rng, 128 * 1024 * 1024);
  auto refused = c.call_sync("guarded.probe", payload{body});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(code_of(refused.status()), errc::permission_denied)
    << refused.status();
  EXPECT_EQ(refused.status().message(), "no token");
  EXPECT_EQ(probe_->made.load(), 0);
  call_options opts;
  opts.metadata["token"] = "t";
  auto admitted = c.call_sync("guarded.probe",
                              payload{body.slice(0, 5'000'000)}, opts);
  ASSERT_TRUE(admitted.ok()) << admitted.status();
  EXPECT_EQ(admitted->body.bytes().view(), "5000000");
  EXPECT_EQ(probe_->finished.load(), 1);
}

TEST_F(BinaryGatewayTest, HandlerDyingMidStreamFailsTheUploadAtOnce) {
  auto& c = connect();
  std::mt19937_64 rng{47};
  call_options opts;
  opts.timeout = absl::Seconds(20);
  auto started = clock_type::now();
  auto r = c.call_sync("dying", payload{random_bytes(rng, 64 << 20)}, opts);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(code_of(r.status()), errc::unavailable) << r.status();
  EXPECT_LT(clock_type::now() - started, 5s);
  EXPECT_TRUE(eventually([&] {
    return gateway_.stats->open_inbound.load() == 0
           && gateway_.stats->inflight.load() == 0;
  }));
  expect_echo_works();
}

TEST_F(BinaryGatewayTest, ConsumerThrowingFailsOnlyItsUpload) {
  auto& c = connect();
  std::mt19937_64 rng{53};
  call_options opts;
  opts.metadata["throw_after"] = "1048576";
  auto r = c.call_sync("probe", payload{random_bytes(rng, 32 << 20)}, opts);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(code_of(r.status()), errc::handler_failed) << r.status();
  EXPECT_NE(r.status().message().find("disk on fire"), absl::string_view::npos)
    << r.status();
  EXPECT_TRUE(eventually([&] { return probe_->destroyed.load() == 1; }));
  // The handler actor lives on: the next upload to it goes through.
  auto ok = c.call_sync("probe", payload{random_bytes(rng, 300'000)});
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->body.bytes().view(), "300000");
}

TEST_F(BinaryGatewayTest, CancelMidStreamDropsTheConsumer) {
  auto& c = connect();
  std::mt19937_64 rng{31};
  call_options opts;
  opts.priority = weft::wire::PRIORITY_BULK;
  auto pending = c.call("probe", payload{random_bytes(rng, 256 << 20)}, opts);
  ASSERT_TRUE(eventually([&] { return probe_->bytes.load() > 0; }));
  c.cancel(pending.token);
  ASSERT_EQ(pending.result.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(code_of(pending.result.get().status()), errc::cancelled);
  EXPECT_TRUE(eventually([&] {
    return probe_->destroyed.load() == 1
           && gateway_.stats->open_inbound.load() == 0
           && gateway_.stats->inflight.load() == 0;
  }));
  EXPECT_EQ(probe_->finished.load(), 0);
  expect_echo_works();
}

TEST_F(BinaryGatewayTest, ClientDyingMidStreamDropsTheConsumer) {
  vanish_mid_upload("probe", 256 << 20,
                    [&] { return probe_->bytes.load() > 0; });
  EXPECT_TRUE(eventually([&] {
    return probe_->destroyed.load() == 1
           && gateway_.stats->active.load() == 0
           && gateway_.stats->inflight.load() == 0;
  }));
  EXPECT_EQ(probe_->finished.load(), 0);
  expect_echo_works();
}

TEST_F(BinaryGatewayTest, AnswerBeforeTheBodyEndsWaitsForItsEnd) {
  auto& c = connect();
  std::mt19937_64 rng{41};
  // The handler acknowledges nothing: the body still arrives in full.
  auto r = c.call_sync("early", payload{random_bytes(rng, 64 << 20)});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->body.bytes().view(), std::to_string(64 << 20));
  EXPECT_TRUE(eventually([&] {
    return gateway_.stats->open_inbound.load() == 0
           && gateway_.stats->inflight.load() == 0;
  }));
  auto again = c.call_sync("echo", payload{shared_bytes::copy_of("next")});
  ASSERT_TRUE(again.ok()) << again.status();
}

TEST_F(BinaryGatewayTest, UnknownRouteIsNotFound) {
  auto& c = connect();
  auto r = c.call_sync("no.such.route", payload{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(code_of(r.status()), errc::not_found);
  EXPECT_NE(r.status().message().find("no.such.route"), absl::string_view::npos);
}

TEST_F(BinaryGatewayTest, ThousandConcurrentMessagesComeBackIntact) {
  auto& c = connect();
  std::mt19937_64 rng{20261122};
  constexpr std::size_t count = 1000;
  std::vector<shared_bytes> bodies;
  std::vector<pending_call> calls;
  // Log-uniform sizes from 0 B to 4 MiB.
  std::uniform_real_distribution<double> exponent{0.0, 22.0};
  for (std::size_t i = 0; i < count; ++i) {
    auto size = i == 0 ? 0 : static_cast<std::size_t>(std::exp2(exponent(rng)));
    bodies.push_back(random_bytes(rng, size));
    call_options opts;
    opts.priority = static_cast<weft::wire::Priority>(rng() % 4);
    calls.push_back(c.call("echo", payload{bodies.back()}, opts));
  }
  for (std::size_t i = 0; i < count; ++i) {
    ASSERT_EQ(calls[i].result.wait_for(60s), std::future_status::ready)
      << "message " << i << " of " << bodies[i].size()
      << " bytes; requests=" << gateway_.stats->requests.load()
      << " replies=" << gateway_.stats->replies.load()
      << " inflight=" << gateway_.stats->inflight.load()
      << " open_inbound=" << gateway_.stats->open_inbound.load()
      << " client pending=" << c.pending();
    auto r = calls[i].result.get();
    ASSERT_TRUE(r.ok()) << i << ": " << r.status();
    auto got = r->body.read_all(64 * 1024 * 1024);
    ASSERT_TRUE(got.ok());
    ASSERT_EQ(got->size(), bodies[i].size()) << i;
    ASSERT_TRUE(*got == bodies[i]) << "message " << i << " differs";
  }
  EXPECT_EQ(c.pending(), 0u);
}

TEST_F(BinaryGatewayTest, UrgentMessageOvertakesBulkTransfer) {
  auto& c = connect();
  std::mt19937_64 rng{3};
  auto bulk_body = random_bytes(rng, 256 * 1024 * 1024);
  call_options bulk_opts;
  bulk_opts.priority = weft::wire::PRIORITY_BULK;
  auto bulk = c.call("echo", payload{bulk_body}, bulk_opts);
  call_options urgent_opts;
  urgent_opts.priority = weft::wire::PRIORITY_URGENT;
  auto urgent = c.call("echo", payload{random_bytes(rng, 1024)}, urgent_opts);
  ASSERT_EQ(urgent.result.wait_for(30s), std::future_status::ready);
  auto urgent_done = clock_type::now();
  EXPECT_TRUE(urgent.result.get().ok());
  // The bulk transfer is far from done when the urgent reply is back.
  EXPECT_EQ(bulk.result.wait_for(0s), std::future_status::timeout);
  ASSERT_EQ(bulk.result.wait_for(120s), std::future_status::ready);
  auto bulk_done = clock_type::now();
  auto r = bulk.result.get();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->body.size(), bulk_body.size());
  auto echoed = r->body.read_all(bulk_body.size());
  ASSERT_TRUE(echoed.ok());
  EXPECT_TRUE(*echoed == bulk_body);
  EXPECT_GT(bulk_done - urgent_done, 10ms);
}

TEST_F(BinaryGatewayTest, DeadlineCancelsWorkAndAnswersDeadlineExceeded) {
  auto& c = connect();
  call_options opts;
  opts.timeout = absl::Milliseconds(200);
  auto started = clock_type::now();
  auto r = c.call_sync("silent", payload{}, opts);
  auto took = clock_type::now() - started;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(code_of(r.status()), errc::deadline_exceeded) << r.status();
  EXPECT_GE(took, 150ms);
  EXPECT_LT(took, 3s);
  EXPECT_TRUE(eventually([&] { return gateway_.stats->inflight.load() == 0; }));
}

TEST_F(BinaryGatewayTest, CancelMidTransferFreesTheServersMemory) {
  auto& c = connect();
  std::mt19937_64 rng{5};
  call_options opts;
  opts.priority = weft::wire::PRIORITY_BULK;
  auto big = random_bytes(rng, 512 * 1024 * 1024);
  auto pending = c.call("sink", payload{big}, opts);
  ASSERT_TRUE(
    eventually([&] { return gateway_.stats->open_inbound.load() > 0; }));
  c.cancel(pending.token);
  ASSERT_EQ(pending.result.wait_for(10s), std::future_status::ready);
  auto r = pending.result.get();
  EXPECT_EQ(code_of(r.status()), errc::cancelled);
  EXPECT_TRUE(
    eventually([&] { return gateway_.stats->open_inbound.load() == 0; }));
  EXPECT_EQ(gateway_.stats->inbound_memory.load(), 0);
  expect_echo_works();
}

TEST_F(BinaryGatewayTest, ClientThatDiesMidMessageLeavesNothingBehind) {
  vanish_mid_upload("sink", 64 << 20, [&] {
    return gateway_.stats->open_inbound.load() > 0;
  });
  EXPECT_TRUE(eventually([&] {
    return gateway_.stats->open_inbound.load() == 0
           && gateway_.stats->active.load() == 0;
  }));
  EXPECT_EQ(gateway_.stats->inbound_memory.load(), 0);
  expect_echo_works();
}

TEST_F(BinaryGatewayTest, FileBodyIsStreamedAndLargeReplyReportsProgress) {
  std::mt19937_64 rng{11};
  auto content = random_bytes(rng, 24 * 1024 * 1024 + 3);
  auto path = ::testing::TempDir() + "weft_file_body.bin";
  {
    FILE* f = std::fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::fwrite(content.data(), 1, content.size(), f);
    std::fclose(f);
  }
  auto body = payload::from_file(path);
  ASSERT_TRUE(body.ok()) << body.status();
  auto& c = connect();
  std::atomic<std::uint64_t> last_done{0};
  std::atomic<int> progress_calls{0};
  call_options opts;
  opts.on_progress = [&](std::uint64_t done, std::uint64_t total) {
    EXPECT_EQ(total, content.size());
    EXPECT_GE(done, last_done.load());
    last_done = done;
    ++progress_calls;
  };
  auto r = c.call_sync("echo", *body, opts);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->body.is_file()); // above the client's spill threshold
  auto echoed = r->body.read_all(content.size());
  ASSERT_TRUE(echoed.ok());
  EXPECT_TRUE(*echoed == content);
  EXPECT_GE(progress_calls.load(), 10);
  EXPECT_EQ(last_done.load(), content.size());
  std::remove(path.c_str());
}

TEST_F(BinaryGatewayTest, DrainFinishesInFlightRequestsThenRefusesNewOnes) {
  auto& c = connect();
  std::mt19937_64 rng{13};
  auto body = random_bytes(rng, 32 * 1024 * 1024);
  auto pending = c.call("sink", payload{body});
  ASSERT_TRUE(
    eventually([&] { return gateway_.stats->open_inbound.load() > 0; }));
  auto drained = std::async(std::launch::async, [&] { return node_->drain(); });
  ASSERT_EQ(pending.result.wait_for(30s), std::future_status::ready);
  auto r = pending.result.get();
  EXPECT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(drained.wait_for(10s), std::future_status::ready);
  EXPECT_TRUE(drained.get().ok());
  client_options opts;
  opts.port = gateway_.port;
  opts.reconnect = false;
  opts.connect_timeout = absl::Seconds(2);
  auto late = client::connect(node_->system(), node_->reactors(), opts);
  EXPECT_FALSE(late.ok());
}

TEST_F(BinaryGatewayTest, DrainWaitsForAStreamedUploadToFinish) {
  auto& c = connect();
  std::mt19937_64 rng{59};
  auto body = random_bytes(rng, 64 * 1024 * 1024);
  auto pending = c.call("sink.stream", payload{body});
  ASSERT_TRUE(
    eventually([&] { return gateway_.stats->open_inbound.load() > 0; }));
  auto drained = std::async(std::launch::async, [&] { return node_->drain(); });
  ASSERT_EQ(pending.result.wait_for(30s), std::future_status::ready);
  auto r = pending.result.get();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->body.bytes().view(), sink_json(body));
  ASSERT_EQ(drained.wait_for(10s), std::future_status::ready);
  EXPECT_TRUE(drained.get().ok());
}

TEST_F(BinaryGatewayTest, ClientFailsFastWhenTooMuchIsPending) {
  client_options opts;
  opts.port = gateway_.port;
  opts.reconnect = false;
  opts.max_pending_calls = 4;
  auto c = client::connect(node_->system(), node_->reactors(), opts);
  ASSERT_TRUE(c.ok()) << c.status();
  std::vector<pending_call> calls;
  call_options slow;
  slow.timeout = absl::Seconds(5);
  for (int i = 0; i < 4; ++i)
    calls.push_back((*c)->call("silent", payload{}, slow));
  auto rejected = (*c)->call_sync("echo", payload{});
  ASSERT_FALSE(rejected.ok());
  EXPECT_EQ(code_of(rejected.status()), errc::overloaded);
  for (auto& p : calls)
    (*c)->cancel(p.token);
  for (auto& p : calls)
    EXPECT_EQ(code_of(p.result.get().status()), errc::cancelled);
  auto ok = (*c)->call_sync("echo", payload{shared_bytes::copy_of("x")});
  EXPECT_TRUE(ok.ok()) << ok.status();
}

// -- raw sockets ---------------------------------------------------------------

/// A blocking loopback socket speaking raw bytes to the gateway.
class raw_peer {
public:
  explicit raw_peer(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr),
                           sizeof(addr))
                 == 0;
  }

  ~raw_peer() {
    if (fd_ >= 0)
      ::close(fd_);
  }

  bool connected() const {
    return connected_;
  }

  void write(absl::Span<const std::uint8_t> bytes) {
    while (!bytes.empty()) {
      auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0)
        return;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  void write(const std::vector<shared_bytes>& slices) {
    for (const auto& s : slices)
      write(s.span());
  }

  void write(absl::string_view text) {
    write({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
  }

  /// The preface and SETTINGS of a well-behaved client.
  void hello() {
    protocol::frame_writer w;
    w.preface();
    w.settings(protocol::protocol_settings{});
    write(w.take());
  }

  /// Reads until EOF or `limit`; returns all bytes read.
  std::vector<std::uint8_t> read_until_eof(std::chrono::milliseconds limit) {
    std::vector<std::uint8_t> all;
    auto deadline = clock_type::now() + limit;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - clock_type::now());
      if (left.count() <= 0)
        break;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0)
        break;
      std::uint8_t buf[65536];
      auto n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) {
        eof_ = true;
        break;
      }
      all.insert(all.end(), buf, buf + n);
    }
    return all;
  }

  /// Reads for up to `quiet` of silence (or EOF); returns the byte count.
  std::size_t drain_for(std::chrono::milliseconds quiet) {
    std::size_t total = 0;
    for (;;) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(quiet.count())) <= 0)
        return total;
      std::uint8_t buf[65536];
      auto n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0)
        return total;
      total += static_cast<std::size_t>(n);
    }
  }

  bool saw_eof() const {
    return eof_;
  }

  int fd() const {
    return fd_;
  }

private:
  int fd_ = -1;
  bool connected_ = false;
  bool eof_ = false;
};

/// Decodes what the server sent; returns the GOAWAY error code if any.
struct server_said {
  std::optional<errc> goaway;
  std::vector<std::pair<std::uint32_t, errc>> cancels;
};

server_said parse_server_bytes(const std::vector<std::uint8_t>& bytes) {
  server_said said;
  protocol::frame_decoder dec{16 * 1024 * 1024, true};
  dec.feed(shared_bytes{bytes});
  for (;;) {
    auto r = dec.next();
    if (r == protocol::frame_decoder::result::frame) {
      auto f = dec.take_frame();
      if (f.is(protocol::frame_type::goaway) && f.payload.size() >= 8)
        said.goaway = static_cast<errc>(
          protocol::load_u32(f.payload.data() + 4));
      if (f.is(protocol::frame_type::cancel) && f.payload.size() >= 4)
        said.cancels.emplace_back(
          f.id, static_cast<errc>(protocol::load_u32(f.payload.data())));
    } else if (r != protocol::frame_decoder::result::preface) {
      break;
    }
  }
  return said;
}

std::string header_bytes(
  std::uint32_t id, const std::string& route, std::uint64_t total,
  weft::wire::Priority priority = weft::wire::PRIORITY_URGENT) {
  weft::wire::MessageHeader h;
  h.set_id(id);
  h.set_route(route);
  h.set_total_size(total);
  h.set_priority(priority);
  return h.SerializeAsString();
}

absl::Span<const std::uint8_t> span_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

/// The status codes of the REPLY messages among `bytes`, by reply_to, in
/// the order they came.
std::map<std::uint32_t, std::vector<std::uint32_t>>
all_reply_codes(const std::vector<std::uint8_t>& bytes) {
  std::map<std::uint32_t, std::vector<std::uint32_t>> codes;
  protocol::frame_decoder dec{16 * 1024 * 1024, true};
  dec.feed(shared_bytes{bytes});
  for (;;) {
    auto r = dec.next();
    if (r == protocol::frame_decoder::result::preface)
      continue;
    if (r != protocol::frame_decoder::result::frame)
      break;
    auto f = dec.take_frame();
    if (!f.is(protocol::frame_type::message) || f.payload.size() < 12)
      continue;
    auto len = protocol::load_u32(f.payload.data());
    weft::wire::MessageHeader h;
    if (len <= f.payload.size() - 12
        && h.ParseFromArray(f.payload.data() + 4, static_cast<int>(len))
        && h.kind() == weft::wire::KIND_REPLY)
      codes[h.reply_to()].push_back(h.status().code());
  }
  return codes;
}

/// The status code of the (last) REPLY to each request among `bytes`.
std::map<std::uint32_t, std::uint32_t>
reply_codes(const std::vector<std::uint8_t>& bytes) {
  std::map<std::uint32_t, std::uint32_t> codes;
  for (const auto& [id, all] : all_reply_codes(bytes))
    codes[id] = all.back();
  return codes;
}

/// Sends eight NORMAL requests for `route` (ids 1, 3, ... 15) in one write,
/// so that they usually arrive in one read and go to the route as one
/// batch (URGENT ones would travel alone), and returns what came back once
/// every request has a reply, plus `linger` more of reading (a second
/// reply to one request would show there); empty if they did not all get
/// one in time.
std::vector<std::uint8_t> send_a_batch(raw_peer& peer, const std::string& route,
                                       std::chrono::milliseconds linger) {
  protocol::frame_writer w;
  for (std::uint32_t i = 0; i < 8; ++i) {
    auto id = 2 * i + 1;
    auto hdr = header_bytes(id, route, 1, weft::wire::PRIORITY_NORMAL);
    auto body = shared_bytes::copy_of("x");
    w.message(id, span_of(hdr), body,
              protocol::checksum::of(span_of(hdr), body.span()));
  }
  peer.write(w.take());
  std::vector<std::uint8_t> got;
  if (!eventually([&] {
        auto more = peer.read_until_eof(50ms);
        got.insert(got.end(), more.begin(), more.end());
        return all_reply_codes(got).size() == 8;
      }))
    return {};
  auto more = peer.read_until_eof(linger);
  got.insert(got.end(), more.begin(), more.end());
  return got;
}

TEST_F(BinaryGatewayTest, EveryRequestOfABatchGetsOneReplyEvenIfTheHandlerForgets) {
  raw_peer peer{gateway_.port};
  peer.hello();
  auto got = send_a_batch(peer, "forgetful", 0ms);
  ASSERT_FALSE(got.empty()) << "not every request got a reply";
  for (const auto& [id, code] : reply_codes(got))
    EXPECT_EQ(code, static_cast<std::uint32_t>(errc::internal)) << id;
  EXPECT_TRUE(eventually([&] { return gateway_.stats->inflight.load() == 0; }));
}

TEST_F(BinaryGatewayTest, ABatchAnsweredOutOfOrderStillGetsOneReplyEach) {
  raw_peer peer{gateway_.port};
  peer.hello();
  auto got = send_a_batch(peer, "sloppy", 100ms);
  ASSERT_FALSE(got.empty()) << "not every request got a reply";
  int ok = 0;
  for (const auto& [id, codes] : all_reply_codes(got)) {
    ASSERT_EQ(codes.size(), 1u) << "request " << id;
    if (codes[0] == 0)
      ++ok;
    else
      EXPECT_EQ(codes[0], static_cast<std::uint32_t>(errc::internal)) << id;
  }
  // The last of each batch was left out; a request that came alone was
  // answered.
  EXPECT_GE(ok, 1);
  EXPECT_TRUE(eventually([&] { return gateway_.stats->inflight.load() == 0; }));
}

TEST_F(BinaryGatewayTest, GarbageBytesGetBadPreface) {
  raw_peer peer{gateway_.port};
  ASSERT_TRUE(peer.connected());
  peer.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  auto said = parse_server_bytes(peer.read_until_eof(5s));
  EXPECT_TRUE(peer.saw_eof());
  ASSERT_TRUE(said.goaway.has_value());
  EXPECT_EQ(*said.goaway, errc::bad_preface);
  expect_echo_works();
}

TEST_F(BinaryGatewayTest, WrongVersionGetsUnsupportedVersion) {
  raw_peer peer{gateway_.port};
  std::vector<std::uint8_t> pre(protocol::magic.begin(), protocol::magic.end());
  pre.insert(pre.end(), {9, 0, 0, 0});
  peer.write(pre);
  auto said = parse_server_bytes(peer.read_until_eof(5s));
  ASSERT_TRUE(said.goaway.has_value());
  EXPECT_EQ(*said.goaway, errc::unsupported_version);
  expect_echo_works();
}

TEST_F(BinaryGatewayTest, OversizedLengthGetsFrameTooLarge) {
  raw_peer peer{gateway_.port};
  peer.hello();
  std::uint8_t header[12] = {0x7f, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 0, 0, 1};
  peer.write(header);
  auto said = parse_server_bytes(peer.read_until_eof(5s));
  ASSERT_TRUE(said.goaway.has_value());
  EXPECT_EQ(*said.goaway, errc::frame_too_large);
  EXPECT_TRUE(peer.saw_eof());
  expect_echo_works();
}

TEST_F(BinaryGatewayTest, TruncatedFrameCostsOnlyThatConnection) {
  {
    raw_peer peer{gateway_.port};
    peer.hello();
    auto hdr = header_bytes(1, "echo", 100);
    protocol::frame_writer w;
    w.message(1, span_of(hdr), shared_bytes::copy_of(std::string(100, 'x')),
              0);
    auto bytes = w.take();
    std::vector<std::uint8_t> flat;
    for (auto& s : bytes)
      flat.insert(flat.end(), s.data(), s.data() + s.size());
    flat.resize(flat.size() / 2);
    peer.write(flat);
  } // closed halfway through the frame
  EXPECT_TRUE(eventually([&] { return gateway_.stats->active.load() == 0; }));
  expect_echo_works();
}

TEST_F(BinaryGatewayTest, FlippedPayloadBitIsRejectedWithChecksumMismatch) {
  raw_peer peer{gateway_.port};
  peer.hello();
  auto body = shared_bytes::copy_of("a body that will be corrupted");
  auto hdr = header_bytes(1, "echo", body.size());
  std::vector<std::uint8_t> flipped(body.data(), body.data() + body.size());
  flipped[3] ^= 0x10;
  protocol::frame_writer w;
  w.message(1, span_of(hdr), shared_bytes{flipped},
            protocol::checksum::of(span_of(hdr), body.span()));
  peer.write(w.take());
  // The connection stays up: a GOAWAY-free CANCEL for id 1.
  std::vector<std::uint8_t> got;
  ASSERT_TRUE(eventually([&] {
    auto more = peer.read_until_eof(50ms);
    got.insert(got.end(), more.begin(), more.end());
    return !parse_server_bytes(got).cancels.empty();
  }));
  auto said = parse_server_bytes(got);
  EXPECT_FALSE(said.goaway.has_value());
  ASSERT_EQ(said.cancels.size(), 1u);
  EXPECT_EQ(said.cancels[0].first, 1u);
  EXPECT_EQ(said.cancels[0].second, errc::checksum_mismatch);
  EXPECT_EQ(gateway_.stats->requests.load(), 0u);
}

TEST_F(BinaryGatewayTest, CancelFloodClosesTheConnection) {
  raw_peer peer{gateway_.port};
  peer.hello();
  protocol::frame_writer w;
  for (std::uint32_t i = 0; i < 500; ++i)
    w.cancel(2 * i + 1, errc::cancelled, "");
  peer.write(w.take());
  auto said = parse_server_bytes(peer.read_until_eof(5s));
  ASSERT_TRUE(said.goaway.has_value());
  EXPECT_EQ(*said.goaway, errc::cancel_flood);
  expect_echo_works();
}

TEST_F(BinaryGatewayTest, PingFloodThatNeverReadsIsClosed) {
  raw_peer peer{gateway_.port};
  int small = 4096;
  ::setsockopt(peer.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  peer.hello();
  protocol::frame_writer w;
  std::array<std::uint8_t, 8> opaque{};
  for (int i = 0; i < 1'000'000; ++i)
    w.ping(false, opaque);
  // Write from another thread: the server stops reading us once it closes.
  std::thread writer{[&peer, slices = w.take()] { peer.write(slices); }};
  EXPECT_TRUE(eventually(
    [&] {
      return gateway_.stats->connection_errors_of(errc::control_flood) > 0;
    },
    20s));
  ::shutdown(peer.fd(), SHUT_RDWR);
  writer.join();
  expect_echo_works();
}

TEST_F(BinaryGatewayTest, SlowReaderBoundsWhatTheServerSends) {
  raw_peer peer{gateway_.port};
  peer.hello();
  // Ask for 64 MiB of replies and never send a WINDOW update.
  protocol::frame_writer w;
  auto body = shared_bytes{std::vector<std::uint8_t>(1024 * 1024, 0x5a)};
  for (std::uint32_t i = 0; i < 64; ++i) {
    auto id = 2 * i + 1;
    auto hdr = header_bytes(id, "echo", body.size());
    w.begin(id, span_of(hdr));
    protocol::checksum sum;
    sum.update(span_of(hdr));
    sum.update(body.span());
    // 32 KiB chunks: the END chunk's checksum must fit in a 64 KiB frame.
    constexpr std::size_t piece = 32 * 1024;
    for (std::size_t off = 0; off < body.size(); off += piece) {
      bool end = off + piece >= body.size();
      w.chunk(id, body.slice(off, piece), end, end ? sum.digest() : 0);
    }
  }
  // The server's own receive windows would stop us too; send with a writer
  // thread and read only what arrives before the server must stop.
  std::thread writer{[&peer, slices = w.take()] { peer.write(slices); }};
  auto received = peer.drain_for(1500ms);
  protocol::protocol_settings defaults;
  // Replies stop at the connection window (plus frame headers, preface,
  // settings and window updates for our requests).
  EXPECT_LE(received, defaults.initial_connection_window + 64 * 1024);
  EXPECT_GE(received, defaults.initial_connection_window / 2);
  ::shutdown(peer.fd(), SHUT_RDWR);
  writer.join();
}

} // namespace
} // namespace weft
