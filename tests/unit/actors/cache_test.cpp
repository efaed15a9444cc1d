// The sharded cache facade on CAF's real scheduler (2 threads): the
// blocking helpers, single flight with real concurrency, and a million
// inserts with TTLs staying within the size bound. Every wait is on an
// event, with a bound; nothing sleeps.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include <absl/status/statusor.h>
#include <absl/synchronization/notification.h>
#include <absl/time/time.h>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <absl/strings/str_cat.h>
#include <gtest/gtest.h>

#include "actors/cache.hpp"
#include "runtime/error_bridge.hpp"
#include "runtime/type_ids.hpp"

namespace weft {
namespace {

using namespace std::chrono_literals;

class CacheTest : public ::testing::Test {
protected:
  struct config : caf::actor_system_config {
    config() {
      set("scheduler.max-threads", 2);
      add_message_types<caf::id_block::weft>();
    }
  };

  CacheTest() : sys_(cfg_) {}

  cache start(cache_options opts) {
    auto c = cache::start(sys_, opts, logger{log_level::off});
    EXPECT_TRUE(c.ok()) << c.status();
    return *std::move(c);
  }

  config cfg_;
  caf::actor_system sys_;
};

TEST_F(CacheTest, BlockingHelpersSetGetEraseAndSumStatsOverShards) {
  auto c = start({.shards = 4});
  ASSERT_EQ(c.shards().size(), 4u);
  for (int i = 0; i < 100; ++i)
    ASSERT_TRUE(
      c.set(absl::StrCat("k", i), shared_bytes::copy_of(std::to_string(i)))
        .ok());
  for (int i = 0; i < 100; ++i) {
    auto v = c.get(absl::StrCat("k", i));
    ASSERT_TRUE(v.ok()) << v.status();
    EXPECT_EQ(v->to_string(), std::to_string(i));
  }
  EXPECT_EQ(code_of(c.get("missing").status()), errc::not_found);
  EXPECT_EQ(c.erase("k1").value(), true);
  EXPECT_EQ(c.erase("k1").value(), false);
  auto s = c.stats();
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->entries, 99u);
  EXPECT_EQ(s->hits, 100u);
  EXPECT_EQ(s->misses, 1u);
  std::size_t used = 0;
  for (std::size_t i = 0; i < c.shards().size(); ++i)
    used += c.shard_index(absl::StrCat("k", i)) < 4;
  EXPECT_EQ(used, 4u);
  c.stop();
  EXPECT_EQ(code_of(c.get("k2").status()), errc::unavailable);
}

TEST_F(CacheTest, StartRejectsZeroBounds) {
  auto c = cache::start(sys_, {.max_entries = 0}, logger{log_level::off});
  EXPECT_EQ(code_of(c.status()), errc::invalid_argument);
}

TEST_F(CacheTest, SingleFlightUnderAThousandConcurrentMissesOnRealThreads) {
  auto c = start({.shards = 2});
  std::atomic<int> computes{0};
  // shared_ptr: the compute actor may still hold the function after the
  // test's scope, should it fail.
  auto release = std::make_shared<absl::Notification>();
  auto compute = cache_compute{std::make_shared<const cache_compute_function>(
    [&computes, release]() -> absl::StatusOr<shared_bytes> {
      ++computes;
      // Holds the flight open until all 1,000 requests were sent.
      release->WaitForNotificationWithTimeout(absl::Seconds(30));
      return shared_bytes::copy_of("value");
    })};
  caf::scoped_actor self{sys_};
  const auto& shard = c.shard_for("hot");
  for (int i = 0; i < 1000; ++i)
    self->send(shard, cache_compute_atom_v, std::string{"hot"}, compute,
               caf::timespan{60s});
  release->Notify();
  int answers = 0;
  bool timed_out = false;
  for (int i = 0; i < 1000 && !timed_out; ++i)
    self->receive(
      [&](shared_bytes& v) {
        EXPECT_EQ(v.view(), "value");
        ++answers;
      },
      [&](caf::error& err) { ADD_FAILURE() << to_status(err); },
      caf::after(std::chrono::seconds(30)) >> [&] { timed_out = true; });
  EXPECT_EQ(answers, 1000);
  EXPECT_EQ(computes.load(), 1);
  auto s = c.stats();
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->computes, 1u);
  EXPECT_EQ(s->misses, 1000u);
  auto again = c.get_or_compute("hot", []() -> absl::StatusOr<shared_bytes> {
    return make_status(errc::internal, "must not run: the value is cached");
  });
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->view(), "value");
}

// -- a million inserts --------------------------------------------------------

struct loader_state {
  std::uint64_t sent = 0;
  std::uint64_t done = 0;
  std::uint64_t failed = 0;
  cache_stats peak;
  std::uint64_t samples_pending = 0;
};

struct load_plan {
  const cache* target = nullptr; // not owned: outlives the loader
  std::uint64_t inserts = 0;
  std::uint64_t window = 0;
  std::uint64_t sample_every = 0;
  absl::Notification* finished = nullptr; // not owned: the test's
  loader_state* result = nullptr;         // not owned: the test's
};

using loader_self = caf::stateful_actor<loader_state>*;

void sample_sizes(loader_self self, const load_plan& plan);

void send_next(loader_self self, const load_plan& plan) {
  auto& st = self->state;
  auto i = st.sent++;
  // TTLs from 1 to 50 ms of real time, so entries expire all along.
  auto ttl = caf::timespan{std::chrono::milliseconds(1 + i % 50)};
  plan.target
    ->request_set(self, absl::StrCat("key-", i),
                  shared_bytes::copy_of("0123456789abcdef0123456789abcdef"),
                  ttl)
    .then(
      [self, plan](ok_atom) {
        auto& s = self->state;
        ++s.done;
        if (s.done % plan.sample_every == 0)
          sample_sizes(self, plan);
        if (s.sent < plan.inserts)
          send_next(self, plan);
        else if (s.done + s.failed == plan.inserts && s.samples_pending == 0) {
          *plan.result = s;
          plan.finished->Notify();
          self->quit();
        }
      },
      [self, plan](caf::error&) {
        ++self->state.failed;
        if (self->state.sent < plan.inserts)
          send_next(self, plan);
      });
}

/// Asks every shard for its size and keeps the largest total seen.
void sample_sizes(loader_self self, const load_plan& plan) {
  auto total = std::make_shared<cache_stats>();
  auto left = std::make_shared<std::size_t>(plan.target->shards().size());
  self->state.samples_pending += 1;
  for (const auto& shard : plan.target->shards())
    self->request(shard, caf::infinite, cache_stats_atom_v)
      .then([self, plan, total, left](cache_stats s) {
        *total += s;
        if (--*left > 0)
          return;
        auto& st = self->state;
        st.peak.entries = std::max(st.peak.entries, total->entries);
        st.peak.bytes = std::max(st.peak.bytes, total->bytes);
        st.peak.evictions = total->evictions;
        st.peak.expirations = total->expirations;
        if (--st.samples_pending == 0 && st.done + st.failed == plan.inserts) {
          *plan.result = st;
          plan.finished->Notify();
          self->quit();
        }
      });
}

TEST_F(CacheTest, AMillionInsertsWithTtlsStayWithinTheSizeBound) {
  constexpr std::uint64_t max_entries = 10'000;
  constexpr std::uint64_t max_bytes = 512 * 1024;
  auto c = start({.shards = 2,
                  .max_entries = max_entries,
                  .max_bytes = max_bytes,
                  .sweep_interval = 10ms});
  absl::Notification finished;
  loader_state result;
  load_plan plan{&c, 1'000'000, 256, 50'000, &finished, &result};
  sys_.spawn([plan](loader_self self) {
    for (std::uint64_t i = 0; i < plan.window; ++i)
      send_next(self, plan);
  });
  ASSERT_TRUE(finished.WaitForNotificationWithTimeout(absl::Seconds(120)))
    << "the inserts did not finish in time";
  EXPECT_EQ(result.done, 1'000'000u);
  EXPECT_EQ(result.failed, 0u);
  EXPECT_LE(result.peak.entries, max_entries);
  EXPECT_LE(result.peak.bytes, max_bytes);
  auto s = c.stats();
  ASSERT_TRUE(s.ok());
  EXPECT_LE(s->entries, max_entries);
  EXPECT_LE(s->bytes, max_bytes);
  // Everything beyond the bound left by eviction or expiry.
  EXPECT_EQ(s->entries + s->evictions + s->expirations, 1'000'000u);
}

} // namespace
} // namespace weft
