// The reactor over real loopback sockets: echo at scale, units split at every
// point and larger than a read, back-pressure, framer errors, closes, connect
// failures and stopping with live connections.

#include "runtime/io/reactor_pool.hpp"

#include <arpa/inet.h>

#include <numeric>
#include <random>
#include <set>

#include <caf/scoped_actor.hpp>
#include <gtest/gtest.h>

#include "runtime/io/length_prefix_framer.hpp"
#include "tests/integration/runtime/io/io_test_support.hpp"

namespace weft::io {
namespace {

using namespace testing;

constexpr std::size_t max_payload = 8 * 1024 * 1024;

/// How reactors hand their messages to owners.
enum class handoff {
  direct,  ///< reactor threads, messages sent one by one
  relay,   ///< reactor threads, through relay actors (reactor_options::relay)
  workers, ///< reactors run by the scheduler's workers (embed_reactors)
};

/// Every case runs in each hand-off; each must keep the order of an
/// owner's messages (one io_closed, last) just the same.
class ReactorPoolTest : public ::testing::TestWithParam<handoff> {
protected:
  void SetUp() override {
    env_ = std::make_unique<test_system>(GetParam() == handoff::workers);
    reactor_options opts;
    opts.threads = 2;
    opts.relay = GetParam() == handoff::relay;
    opts.log = logger{log_level::off};
    auto started = reactor_pool::start(*env_->sys, opts);
    ASSERT_TRUE(started.ok()) << started.status();
    pool_ = std::move(*started);
    ASSERT_EQ(pool_->on_workers(), GetParam() == handoff::workers);
  }

  void TearDown() override {
    if (pool_)
      pool_->stop();
    for (auto& a : actors_)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  }

  /// Listens on 127.0.0.1:0 with an acceptor spawning `spec` owners.
  std::shared_ptr<listener> listen(std::shared_ptr<accepted_set> set,
                                   owner_spec spec = {},
                                   channel_options opts = {}) {
    auto acceptor = env_->sys->spawn(acceptor_actor, set, spec);
    actors_.push_back(acceptor);
    auto lst = pool_->listen("127.0.0.1", 0, acceptor,
                             length_prefix_framer::factory(max_payload), opts);
    EXPECT_TRUE(lst.ok()) << lst.status();
    return lst.ok() ? *lst : nullptr;
  }

  /// Waits until the owner actor processed everything sent to it so far.
  void barrier(const caf::actor& owner) {
    caf::scoped_actor self{*env_->sys};
    self->request(owner, patience, ok_atom_v)
      .receive([](ok_atom) {}, [](const caf::error&) {});
  }

  std::unique_ptr<test_system> env_;
  std::unique_ptr<reactor_pool> pool_;
  std::vector<caf::actor> actors_;
};

std::string payload_of(std::size_t size, std::uint32_t seed) {
  std::string s(size, '\0');
  std::mt19937 gen{seed};
  for (auto& c : s)
    c = static_cast<char>('a' + gen() % 26);
  return s;
}

std::vector<std::uint8_t> units_of(const std::vector<std::string>& payloads) {
  std::vector<std::uint8_t> out;
  for (const auto& p : payloads) {
    auto unit = length_prefix_framer::encode(p);
    out.insert(out.end(), unit.begin(), unit.end());
  }
  return out;
}

std::string as_string(const std::vector<std::uint8_t>& bytes) {
  return std::string(bytes.begin(), bytes.end());
}

TEST_P(ReactorPoolTest, ListenPicksAFreePort) {
  auto set = std::make_shared<accepted_set>();
  auto lst = listen(set);
  ASSERT_NE(lst, nullptr);
  EXPECT_NE(lst->port(), 0);
}

TEST_P(ReactorPoolTest, EchoesHundredConnectionsByteForByte) {
  auto set = std::make_shared<accepted_set>();
  auto lst = listen(set);
  ASSERT_NE(lst, nullptr);
  constexpr std::size_t connections = 100;
  constexpr std::size_t messages = 50;
  std::vector<std::unique_ptr<raw_client>> clients;
  std::vector<std::vector<std::uint8_t>> sent;
  std::mt19937 gen{42};
  for (std::size_t i = 0; i < connections; ++i) {
    clients.push_back(std::make_unique<raw_client>(lst->port()));
    ASSERT_TRUE(clients.back()->connected());
    std::vector<std::string> payloads;
    for (std::size_t m = 0; m < messages; ++m)
      payloads.push_back(
        payload_of(gen() % 2000, static_cast<std::uint32_t>(i * 1000 + m)));
    sent.push_back(units_of(payloads));
  }
  for (std::size_t i = 0; i < connections; ++i)
    ASSERT_TRUE(clients[i]->write_all(sent[i]));
  for (std::size_t i = 0; i < connections; ++i) {
    std::string echoed;
    ASSERT_TRUE(clients[i]->read_exact(echoed, sent[i].size()))
      << "client " << i;
    EXPECT_EQ(echoed, as_string(sent[i])) << "client " << i;
  }
  EXPECT_EQ(lst->accepted(), connections);
}

TEST_P(ReactorPoolTest, ChannelsSpreadOverTheReactorsAndKnowTheirHome) {
  auto set = std::make_shared<accepted_set>();
  auto lst = listen(set);
  ASSERT_NE(lst, nullptr);
  std::vector<std::unique_ptr<raw_client>> clients;
  for (int i = 0; i < 8; ++i) {
    clients.push_back(std::make_unique<raw_client>(lst->port()));
    ASSERT_TRUE(clients.back()->connected());
  }
  ASSERT_TRUE(set->wait_count(8));
  // Two reactors (threads = 2): every home is one of them, both are used.
  std::set<std::size_t> homes;
  for (std::size_t i = 0; i < 8; ++i) {
    auto p = set->at(i);
    ASSERT_TRUE(p->wait([](probe& x) { return x.chan != nullptr; }));
    std::lock_guard<std::mutex> guard{p->mutex};
    EXPECT_LT(p->chan->home_index(), pool_->size());
    homes.insert(p->chan->home_index());
  }
  EXPECT_EQ(homes.size(), pool_->size());
}

TEST_P(ReactorPoolTest, CutsUnitsSplitAcrossReadsAtEveryPoint) {
  auto set = std::make_shared<accepted_set>();
  auto lst = listen(set, {owner_mode::record, {}});
  ASSERT_NE(lst, nullptr);
  raw_client client{lst->port()};
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(set->wait_count(1));
  auto p = set->at(0);
  auto unit = length_prefix_framer::encode(payload_of(60, 7));
  std::string expected;
  std::uint64_t written = 0;
  for (std::size_t split = 1; split < unit.size(); ++split) {
    // First part, then wait until the reactor has read it, then the rest:
    // the unit arrives in two reads split at `split`.
    ASSERT_TRUE(client.write_all(unit.data(), split));
    written += split;
    ASSERT_TRUE(eventually([&] { return p->chan->bytes_in() == written; }))
      << "split " << split;
    ASSERT_TRUE(client.write_all(unit.data() + split, unit.size() - split));
    written += unit.size() - split;
    expected += as_string(unit);
    ASSERT_TRUE(p->wait([&](probe& q) { return q.received == expected; }))
      << "split " << split;
  }
  EXPECT_EQ(p->batches, unit.size() - 1); // one batch per unit, none partial
}

TEST_P(ReactorPoolTest, EchoesUnitsLargerThanOneRead) {
  auto set = std::make_shared<accepted_set>();
  auto lst = listen(set);
  ASSERT_NE(lst, nullptr);
  raw_client client{lst->port()};
  ASSERT_TRUE(client.connected());
  auto bytes = units_of({payload_of(4 * 1024 * 1024, 1), "small",
                         payload_of(16 * 1024 + 1, 2),
                         payload_of(4 * 1024 * 1024, 3), ""});
  // Write from a second thread: the echo comes back while we still write.
  std::thread writer{[&] {
    EXPECT_TRUE(client.write_all(bytes));
  }};
  std::string echoed;
  bool ok = client.read_exact(echoed, bytes.size());
  writer.join();
  ASSERT_TRUE(ok) << echoed.size() << " of " << bytes.size();
  EXPECT_TRUE(echoed == as_string(bytes));
}

TEST_P(ReactorPoolTest, OwnerThatNeverConsumesStopsTheReads) {
  auto set = std::make_shared<accepted_set>();
  channel_options opts;
  opts.max_unconsumed = 256 * 1024;
  opts.max_read_bytes_per_event = 64 * 1024;
  auto lst = listen(set, {owner_mode::hoard, {}}, opts);
  ASSERT_NE(lst, nullptr);
  raw_client client{lst->port()};
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(set->wait_count(1));
  auto p = set->at(0);
  auto unit = length_prefix_framer::encode(payload_of(8 * 1024 - 4, 5));
  // Keep writing until the kernel buffers are full and stay full, i.e.
  // the reactor stopped reading. Bounded in time and in bytes.
  std::uint64_t written = 0;
  auto deadline = clock::now() + patience;
  bool blocked = false;
  while (!blocked && clock::now() < deadline && written < (256u << 20)) {
    // The stream repeats `unit`; continue it where the last send stopped.
    auto at = static_cast<std::size_t>(written % unit.size());
    auto n = ::send(client.fd(), unit.data() + at, unit.size() - at,
                    MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      written += static_cast<std::uint64_t>(n);
      continue;
    }
    pollfd pfd{client.fd(), POLLOUT, 0};
    blocked = ::poll(&pfd, 1, 500) == 0; // no room for half a second
  }
  ASSERT_TRUE(blocked) << "wrote " << written << " bytes without blocking";
  EXPECT_TRUE(p->chan->reading_paused());
  auto read_while_blocked = p->chan->bytes_in();
  EXPECT_LE(read_while_blocked, opts.max_unconsumed
                                  + opts.max_read_bytes_per_event
                                  + opts.min_read_bytes);
  EXPECT_GE(p->chan->bytes_unconsumed(), opts.max_unconsumed);
  EXPECT_GT(written, read_while_blocked); // the rest waits in TCP buffers
  // Consuming releases the pause: the reactor reads again.
  p->chan->consumed(p->chan->bytes_unconsumed());
  EXPECT_TRUE(
    eventually([&] { return p->chan->bytes_in() > read_while_blocked; }));
}

TEST_P(ReactorPoolTest, FramerErrorClosesOnlyThatConnection) {
  auto set = std::make_shared<accepted_set>();
  auto lst = listen(set);
  ASSERT_NE(lst, nullptr);
  raw_client good{lst->port()};
  ASSERT_TRUE(set->wait_count(1));
  raw_client bad{lst->port()};
  ASSERT_TRUE(set->wait_count(2));
  std::vector<std::uint8_t> oversized{0xff, 0xff, 0xff, 0xff, 1, 2, 3};
  ASSERT_TRUE(bad.write_all(oversized));
  auto p = set->at(1);
  ASSERT_TRUE(p->wait([](probe& q) { return q.closed == 1; }));
  EXPECT_EQ(code_of(p->reason), errc::protocol_error);
  EXPECT_NE(message_of(p->reason).find("exceeds"), std::string::npos);
  std::string rest;
  EXPECT_TRUE(bad.read_to_eof(rest)); // the reactor closed the socket
  auto unit = length_prefix_framer::encode("still here");
  ASSERT_TRUE(good.write_all(unit));
  std::string echoed;
  ASSERT_TRUE(good.read_exact(echoed, unit.size()));
  EXPECT_EQ(echoed, as_string(unit));
  EXPECT_EQ(set->at(0)->closed_count(), 0u);
}

TEST_P(ReactorPoolTest, PeerCloseGivesExactlyOneClosed) {
  auto set = std::make_shared<accepted_set>();
  auto lst = listen(set, {owner_mode::record, {}});
  ASSERT_NE(lst, nullptr);
  raw_client client{lst->port()};
  ASSERT_TRUE(set->wait_count(1));
  ASSERT_TRUE(client.write_all(length_prefix_framer::encode("bye")));
  client.close();
  auto p = set->at(0);
  ASSERT_TRUE(p->wait([](probe& q) { return q.closed == 1; }));
  EXPECT_FALSE(p->reason) << caf::to_string(p->reason); // clean EOF
  EXPECT_EQ(p->received, as_string(length_prefix_framer::encode("bye")));
  // Stopping the pool must not report the channel a second time; the
  // barrier makes sure the owner processed all that was sent to it.
  pool_->stop();
  barrier(set->owner_at(0));
  EXPECT_EQ(p->closed_count(), 1u);
}

TEST_P(ReactorPoolTest, PeerResetGivesExactlyOneClosed) {
  auto set = std::make_shared<accepted_set>();
  auto lst = listen(set, {owner_mode::hoard, {}});
  ASSERT_NE(lst, nullptr);
  raw_client client{lst->port()};
  ASSERT_TRUE(set->wait_count(1));
  auto owner = set->owner_at(0);
  client.reset();
  auto p = set->at(0);
  ASSERT_TRUE(p->wait([](probe& q) { return q.closed >= 1; }));
  EXPECT_EQ(code_of(p->reason), errc::io_error) << caf::to_string(p->reason);
  pool_->stop();
  barrier(owner);
  EXPECT_EQ(p->closed_count(), 1u);
}

TEST_P(ReactorPoolTest, MidUnitEofIsAProtocolError) {
  auto set = std::make_shared<accepted_set>();
  auto lst = listen(set, {owner_mode::record, {}});
  ASSERT_NE(lst, nullptr);
  raw_client client{lst->port()};
  ASSERT_TRUE(set->wait_count(1));
  auto unit = length_prefix_framer::encode("truncated");
  ASSERT_TRUE(client.write_all(unit.data(), unit.size() - 2));
  client.close();
  auto p = set->at(0);
  ASSERT_TRUE(p->wait([](probe& q) { return q.closed == 1; }));
  EXPECT_EQ(code_of(p->reason), errc::protocol_error);
}

TEST_P(ReactorPoolTest, CloseFlushesQueuedDataFirst) {
  auto set = std::make_shared<accepted_set>();
  std::vector<shared_bytes> reply;
  std::string expected;
  for (std::uint32_t i = 0; i < 64; ++i) {
    auto chunk = payload_of(128 * 1024, i);
    expected += chunk;
    reply.push_back(shared_bytes::copy_of(chunk));
  }
  auto lst = listen(set, {owner_mode::reply_close, reply});
  ASSERT_NE(lst, nullptr);
  raw_client client{lst->port()};
  ASSERT_TRUE(client.write_all(length_prefix_framer::encode("go")));
  std::string got;
  ASSERT_TRUE(client.read_to_eof(got));
  EXPECT_EQ(got.size(), expected.size());
  EXPECT_TRUE(got == expected);
  client.close();
  ASSERT_TRUE(set->wait_count(1));
  auto p = set->at(0);
  ASSERT_TRUE(p->wait([](probe& q) { return q.closed == 1; }));
  EXPECT_FALSE(p->reason) << caf::to_string(p->reason);
  EXPECT_EQ(p->chan->bytes_out(), expected.size());
  EXPECT_FALSE(p->chan->send({shared_bytes::copy_of("late")}));
}

TEST_P(ReactorPoolTest, AbortResetsTheConnection) {
  auto set = std::make_shared<accepted_set>();
  auto lst = listen(set, {owner_mode::record, {}});
  ASSERT_NE(lst, nullptr);
  raw_client client{lst->port()};
  ASSERT_TRUE(set->wait_count(1));
  auto p = set->at(0);
  p->chan->abort();
  ASSERT_TRUE(p->wait([](probe& q) { return q.closed == 1; }));
  EXPECT_EQ(code_of(p->reason), errc::cancelled);
  std::string rest;
  EXPECT_FALSE(client.read_to_eof(rest)); // ECONNRESET, not a clean EOF
}

TEST_P(ReactorPoolTest, ConnectedChannelEchoesAndReportsDrainedWrites) {
  auto set = std::make_shared<accepted_set>();
  auto lst = listen(set);
  ASSERT_NE(lst, nullptr);
  auto chan = pool_->connect("127.0.0.1", lst->port(), absl::Seconds(5),
                             length_prefix_framer::factory(max_payload));
  ASSERT_TRUE(chan.ok()) << chan.status();
  EXPECT_EQ((*chan)->remote_address(),
            "127.0.0.1:" + std::to_string(lst->port()));
  auto p = std::make_shared<probe>();
  p->chan = *chan;
  auto owner = env_->sys->spawn(owner_actor, *chan, p,
                               owner_spec{owner_mode::record, {}});
  actors_.push_back(owner);
  // Sent before start: queued, written once the channel starts.
  auto first = shared_bytes{length_prefix_framer::encode("one")};
  auto second
    = shared_bytes{length_prefix_framer::encode(payload_of(100000, 9))};
  ASSERT_TRUE((*chan)->send({first, second}));
  (*chan)->start(owner);
  auto total = first.size() + second.size();
  ASSERT_TRUE(p->wait([&](probe& q) { return q.received.size() == total; }));
  EXPECT_EQ(p->received, first.to_string() + second.to_string());
  ASSERT_TRUE(p->wait([](probe& q) { return q.sent_notes >= 1; }));
  EXPECT_EQ(p->last_sent_total, total);
  EXPECT_EQ((*chan)->bytes_queued(), 0u);
  EXPECT_EQ((*chan)->bytes_out(), total);
  (*chan)->close();
  ASSERT_TRUE(p->wait([](probe& q) { return q.closed == 1; }));
}

TEST_P(ReactorPoolTest, ConnectToClosedPortFailsCleanly) {
  // A port that was free a moment ago and has no listener now.
  std::uint16_t port = 0;
  {
    unique_fd fd{::socket(AF_INET, SOCK_STREAM, 0)};
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(
      ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    socklen_t len = sizeof(addr);
    ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
  }
  auto started = clock::now();
  auto chan = pool_->connect("127.0.0.1", port, absl::Seconds(2),
                             length_prefix_framer::factory(max_payload));
  ASSERT_FALSE(chan.ok());
  EXPECT_EQ(code_of(chan.status()), errc::io_error) << chan.status();
  EXPECT_LT(clock::now() - started, 2s);
}

TEST_P(ReactorPoolTest, ConnectTimesOutWhenNobodyAnswers) {
  // A listener with a full accept queue drops further SYNs, so a connect
  // to it neither succeeds nor fails until our timeout.
  unique_fd fd{::socket(AF_INET, SOCK_STREAM, 0)};
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)),
            0);
  ASSERT_EQ(::listen(fd.get(), 0), 0);
  socklen_t len = sizeof(addr);
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len);
  // Non-blocking fillers: the first fills the queue, the others hang.
  std::vector<unique_fd> fillers;
  for (int i = 0; i < 3; ++i) {
    fillers.emplace_back(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0));
    ::connect(fillers.back().get(), reinterpret_cast<sockaddr*>(&addr),
              sizeof(addr));
  }
  auto started = clock::now();
  auto chan
    = pool_->connect("127.0.0.1", ntohs(addr.sin_port), absl::Milliseconds(300),
                     length_prefix_framer::factory(max_payload));
  auto took = clock::now() - started;
  ASSERT_FALSE(chan.ok());
  EXPECT_EQ(code_of(chan.status()), errc::deadline_exceeded) << chan.status();
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 3s);
}

TEST_P(ReactorPoolTest, StopWithLiveConnectionsReturnsPromptly) {
  auto set = std::make_shared<accepted_set>();
  auto lst = listen(set);
  ASSERT_NE(lst, nullptr);
  std::vector<std::unique_ptr<raw_client>> clients;
  for (int i = 0; i < 50; ++i)
    clients.push_back(std::make_unique<raw_client>(lst->port()));
  ASSERT_TRUE(set->wait_count(50));
  auto started = clock::now();
  pool_->stop();
  EXPECT_LT(clock::now() - started, 2s);
  for (std::size_t i = 0; i < 50; ++i) {
    auto p = set->at(i);
    ASSERT_TRUE(p->wait([](probe& q) { return q.closed == 1; })) << i;
    EXPECT_EQ(code_of(p->reason), errc::unavailable);
  }
  std::string rest;
  EXPECT_TRUE(clients[0]->read_to_eof(rest));
  // Handles outlive the pool and stay inert.
  EXPECT_FALSE(set->at(0)->chan->send({shared_bytes::copy_of("x")}));
}

TEST_P(ReactorPoolTest, OwnerDeathAbortsItsChannel) {
  auto set = std::make_shared<accepted_set>();
  auto lst = listen(set, {owner_mode::record, {}});
  ASSERT_NE(lst, nullptr);
  raw_client client{lst->port()};
  ASSERT_TRUE(set->wait_count(1));
  auto p = set->at(0);
  caf::anon_send_exit(set->owner_at(0), caf::exit_reason::kill);
  std::string rest;
  EXPECT_FALSE(client.read_to_eof(rest)); // reset by the abort
  EXPECT_TRUE(eventually(
    [&] { return p->chan->bytes_queued() == 0 && !p->chan->send({}); }));
}

/// `n` clients of `port`, connected one after the other (so that they take
/// the reactors in turn), each greeted with one echoed unit; none if any
/// of that failed.
std::vector<std::unique_ptr<raw_client>>
greeted_clients(std::uint16_t port, std::size_t n) {
  std::vector<std::unique_ptr<raw_client>> clients;
  for (std::size_t i = 0; i < n; ++i) {
    clients.push_back(std::make_unique<raw_client>(port));
    auto hello = units_of({"hello"});
    std::string echoed;
    if (!clients.back()->connected() || !clients.back()->write_all(hello)
        || !clients.back()->read_exact(echoed, hello.size()))
      return {};
  }
  return clients;
}

TEST_P(ReactorPoolTest, OwnerBlockingItsThreadDoesNotStallOtherConnections) {
  // An owner that blocks its thread (a handler sleeping or computing for
  // long) delays its own connection only. With reactors on the workers, the
  // blocked worker's sockets are served by the other worker in the
  // meantime (worker_core::help).
  constexpr auto block = std::chrono::milliseconds(1500);
  auto set = std::make_shared<accepted_set>();
  auto lst = listen(set, {owner_mode::blocking, {}, block});
  ASSERT_NE(lst, nullptr);
  constexpr std::size_t connections = 6;
  auto clients = greeted_clients(lst->port(), connections);
  ASSERT_EQ(clients.size(), connections);
  auto blocking = units_of({"BLOCK"});
  ASSERT_TRUE(clients[0]->write_all(blocking));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto started = std::chrono::steady_clock::now();
  for (std::size_t i = 1; i < connections; ++i) {
    auto ping = units_of({payload_of(100, static_cast<std::uint32_t>(i))});
    ASSERT_TRUE(clients[i]->write_all(ping));
    std::string echoed;
    ASSERT_TRUE(clients[i]->read_exact(echoed, ping.size())) << "client " << i;
    EXPECT_EQ(echoed, as_string(ping));
  }
  // Every other connection answered while the owner still blocks.
  EXPECT_LT(std::chrono::steady_clock::now() - started, block / 2);
  std::string echoed;
  ASSERT_TRUE(clients[0]->read_exact(echoed, blocking.size()));
  EXPECT_EQ(echoed, as_string(blocking));
}

TEST_P(ReactorPoolTest, ThreadWakingIntoALongJobIsHelpedAfterAnIdleSpell) {
  // Everyone idle, then a connection's owner blocks its thread at once.
  // With reactors on the workers, the other workers went to sleep while
  // nothing ran; one of them must still come and serve the blocked
  // worker's other sockets (it once slept through the whole block).
  constexpr auto block = std::chrono::milliseconds(1500);
  auto set = std::make_shared<accepted_set>();
  auto lst = listen(set, {owner_mode::blocking, {}, block});
  ASSERT_NE(lst, nullptr);
  // Channels take the reactors in turn: c0 and c2 share one. c1 (the
  // other's) stays silent, so that no traffic of its own wakes a helper.
  auto clients = greeted_clients(lst->port(), 3);
  ASSERT_EQ(clients.size(), 3u);
  std::this_thread::sleep_for(std::chrono::milliseconds(100)); // all idle
  auto blocking = units_of({"BLOCK"});
  ASSERT_TRUE(clients[0]->write_all(blocking));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto started = std::chrono::steady_clock::now();
  auto ping = units_of({payload_of(100, 2)});
  ASSERT_TRUE(clients[2]->write_all(ping));
  std::string echoed;
  ASSERT_TRUE(clients[2]->read_exact(echoed, ping.size()));
  EXPECT_EQ(echoed, as_string(ping));
  EXPECT_LT(std::chrono::steady_clock::now() - started, block / 4);
  ASSERT_TRUE(clients[0]->read_exact(echoed, blocking.size()));
  EXPECT_EQ(echoed, as_string(blocking));
}

TEST_P(ReactorPoolTest, SecondPoolOnTheSameSystemRunsOnThreads) {
  // The workers run one pool's reactors; another pool gets threads.
  reactor_options opts;
  opts.threads = 1;
  opts.log = logger{log_level::off};
  auto second = reactor_pool::start(*env_->sys, opts);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_FALSE((*second)->on_workers());
  auto set = std::make_shared<accepted_set>();
  auto acceptor = env_->sys->spawn(acceptor_actor, set, owner_spec{});
  actors_.push_back(acceptor);
  auto lst = (*second)->listen("127.0.0.1", 0, acceptor,
                               length_prefix_framer::factory(max_payload));
  ASSERT_TRUE(lst.ok()) << lst.status();
  raw_client client{(*lst)->port()};
  auto unit = units_of({"second pool"});
  ASSERT_TRUE(client.write_all(unit));
  std::string echoed;
  ASSERT_TRUE(client.read_exact(echoed, unit.size()));
  EXPECT_EQ(echoed, as_string(unit));
  (*second)->stop();
}

INSTANTIATE_TEST_SUITE_P(
  Handoff, ReactorPoolTest,
  ::testing::Values(handoff::direct, handoff::relay, handoff::workers),
  [](const ::testing::TestParamInfo<handoff>& param) {
    switch (param.param) {
      case handoff::direct:
        return "Direct";
      case handoff::relay:
        return "Relay";
      case handoff::workers:
        return "Workers";
    }
    return "Unknown";
  });

} // namespace
} // namespace weft::io
