// Property test: random messages, priorities, byte-stream cuts and
// interleavings of sends and pumps; everything arrives once, byte-identical.

#include "runtime/protocol/session.hpp"

#include <cmath>
#include <cstdlib>
#include <iostream>
#include <dirent.h>
#include <map>
#include <string>
#include <unistd.h>

#include <gtest/gtest.h>

#include "tests/unit/runtime/protocol/session_pair.hpp"

#if defined(__SANITIZE_ADDRESS__)
#  define WEFT_PROPERTY_SMALL 1
#elif defined(__has_feature)
#  if __has_feature(address_sanitizer)
#    define WEFT_PROPERTY_SMALL 1
#  endif
#endif

namespace weft::protocol {
namespace {

using kind = session_event::kind;
using testing::session_pair;

/// Bytes moved in total and the largest message: 64 MiB / 8 MiB normally,
/// less under a sanitizer; WEFT_PROPERTY_BUDGET_MIB overrides the total.
struct budget {
  std::uint64_t total;
  std::uint64_t max_message;
};

budget property_budget() {
#ifdef WEFT_PROPERTY_SMALL
  budget b{12 << 20, 2 << 20};
#else
  budget b{64 << 20, 8 << 20};
#endif
  if (const char* env = std::getenv("WEFT_PROPERTY_BUDGET_MIB"))
    b.total = std::strtoull(env, nullptr, 10) << 20;
  return b;
}

std::uint64_t property_seed() {
  if (const char* env = std::getenv("WEFT_PROPERTY_SEED"))
    return std::strtoull(env, nullptr, 10);
  return 20'240'611;
}

/// What one side sent and the other must receive exactly once.
struct expectation {
  shared_bytes body;
  bool received = false;
  bool is_request = false;
};

class SessionPropertyTest : public ::testing::Test {
protected:
  void SetUp() override {
    std::string templ = "/tmp/weft-proto-prop-XXXXXX";
    dir_ = ::mkdtemp(templ.data());
  }
  void TearDown() override {
    if (auto* d = ::opendir(dir_.c_str())) {
      while (auto* e = ::readdir(d))
        if (e->d_name[0] != '.') {
          ++leftover_files_;
          ::unlink((dir_ + "/" + e->d_name).c_str());
        }
      ::closedir(d);
    }
    ::rmdir(dir_.c_str());
    EXPECT_EQ(leftover_files_, 0) << "spill files left behind";
  }
  std::string dir_;
  int leftover_files_ = 0;
};

void run_property(std::uint64_t seed, budget limits, session_options opt);

/// Runs one random exchange; `opt` configures both sides.
void run_property(std::uint64_t seed, budget limits, session_options opt) {
  SCOPED_TRACE(::testing::Message()
               << "seed " << seed << " (rerun with WEFT_PROPERTY_SEED=" << seed
               << ")");
  session_pair p{opt, opt, seed};
  p.tap = false;
  p.cut = testing::cut_mode::random;
  auto& rng = p.rng;
  std::map<std::uint32_t, expectation> to_server;
  std::map<std::uint32_t, expectation> to_client;
  std::uint64_t sent_bytes = 0;
  std::size_t sent_messages = 0;
  std::size_t client_seen = 0;
  std::size_t server_seen = 0;

  auto check_events = [&](std::vector<session_event>& events,
                          std::size_t& seen, bool at_server) {
    auto& expected = at_server ? to_server : to_client;
    for (; seen < events.size(); ++seen) {
      auto& ev = events[seen];
      ASSERT_NE(ev.what, kind::cancelled) << ev.text;
      ASSERT_NE(ev.what, kind::closed) << ev.text;
      if (ev.what != kind::message)
        continue;
      auto i = expected.find(ev.id);
      ASSERT_NE(i, expected.end()) << "unexpected message " << ev.id;
      ASSERT_FALSE(i->second.received) << "duplicate message " << ev.id;
      i->second.received = true;
      auto body = ev.body.read_all(limits.max_message);
      ASSERT_TRUE(body.ok()) << body.status();
      ASSERT_EQ(body->size(), i->second.body.size()) << "message " << ev.id;
      ASSERT_TRUE(*body == i->second.body) << "message " << ev.id;
      i->second.body = shared_bytes{}; // free as we go
      ev.body = payload{};             // and let a spill file go
      if (at_server && i->second.is_request) {
        // Echo small requests back as replies.
        auto reply = testing::reply_to(ev.id);
        reply.set_priority(static_cast<weft::wire::Priority>(rng() % 4));
        auto content = testing::random_bytes(rng() % 5000, rng());
        auto rid = p.server().send(reply, payload{content}, p.now());
        ASSERT_TRUE(rid.ok()) << rid.status();
        to_client[*rid] = expectation{content, false, false};
      }
    }
  };

  for (std::size_t step = 0; step < 200'000; ++step) {
    bool sending = sent_bytes < limits.total;
    if (!sending && !p.client().wants_write() && !p.server().wants_write()
        && p.client_side().in_flight.empty()
        && p.server_side().in_flight.empty())
      break;
    if (sending && rng() % 3 == 0) {
      // Log-uniform sizes from 0 B to max_message.
      auto top = std::log2(static_cast<double>(limits.max_message));
      auto u = std::uniform_real_distribution<double>{0.0, top}(rng);
      auto size = std::min<std::uint64_t>(
        static_cast<std::uint64_t>(std::exp2(u)) - 1, limits.total - sent_bytes);
      auto body = testing::random_bytes(size, rng());
      auto priority = static_cast<weft::wire::Priority>(rng() % 4);
      bool from_client = rng() % 2 == 0;
      bool request = from_client && size < 64 * 1024 && rng() % 2 == 0;
      weft::wire::MessageHeader h;
      if (request)
        h = testing::request("echo", priority);
      else if (from_client)
        h = testing::one_way(priority);
      else
        h.set_kind(weft::wire::KIND_PUSH), h.set_priority(priority);
      auto& sender = from_client ? p.client() : p.server();
      auto id = sender.send(h, payload{body}, p.now());
      ASSERT_TRUE(id.ok()) << id.status();
      (from_client ? to_server : to_client)[*id]
        = expectation{body, false, request};
      sent_bytes += size;
      ++sent_messages;
    } else {
      auto bits = rng() % 23;
      auto max_bytes = std::size_t{1} + (rng() % (std::size_t{1} << bits));
      p.pump_from(rng() % 2 == 0 ? p.client_side() : p.server_side(),
                  max_bytes);
      if (rng() % 64 == 0)
        p.advance(absl::Milliseconds(rng() % 100));
    }
    check_events(p.server_events(), server_seen, true);
    check_events(p.client_events(), client_seen, false);
    if (::testing::Test::HasFatalFailure())
      return;
  }
  p.pump();
  check_events(p.server_events(), server_seen, true);
  check_events(p.client_events(), client_seen, false);
  p.pump();
  check_events(p.client_events(), client_seen, false);

  std::size_t lost = 0;
  for (const auto& [id, e] : to_server)
    lost += e.received ? 0 : 1;
  for (const auto& [id, e] : to_client)
    lost += e.received ? 0 : 1;
  EXPECT_EQ(lost, 0u);
  EXPECT_GT(sent_messages, 20u);
  std::cout << "[ property ] seed " << seed << ": " << sent_messages
            << " messages, " << sent_bytes << " bytes\n";
  for (auto* s : {&p.client(), &p.server()}) {
    auto st = s->stats();
    EXPECT_EQ(st.open_inbound, 0u);
    EXPECT_EQ(st.inbound_memory, 0u);
    EXPECT_EQ(st.queued_outbound, 0u);
    EXPECT_EQ(st.awaiting_reply, 0u);
    EXPECT_EQ(st.outstanding_requests, 0u);
    EXPECT_FALSE(s->closed());
  }
  p.client_events().clear();
  p.server_events().clear();
}

TEST_F(SessionPropertyTest, RandomMessagesArriveOnceByteIdentical) {
  auto limits = property_budget();
  session_options opt;
  opt.spill_dir = dir_;
  opt.spill_threshold = limits.max_message / 2;
  opt.local.initial_connection_window = 4 << 20;
  run_property(property_seed(), limits, opt);
}

TEST_F(SessionPropertyTest, ManySmallMessagesUnderTightLimitsArriveOnce) {
  // Small windows, frames and slots: more reordering, blocking and chunking.
  auto limits = property_budget();
  limits.total /= 8;
  limits.max_message = 256 * 1024;
  session_options opt;
  opt.spill_dir = dir_;
  opt.spill_threshold = 64 * 1024;
  opt.chunk_size = 3000;
  opt.local.max_frame_size = 4096;
  opt.local.max_concurrent_messages = 3;
  opt.local.initial_message_window = 8192;
  opt.local.initial_connection_window = 65'536;
  run_property(property_seed() + 1, limits, opt);
}

} // namespace
} // namespace weft::protocol
