// One cache shard under CAF's test_coordinator: TTLs against virtual time,
// the background sweep, LRU order, size bounds, counters and single flight,
// deterministically and without sleeps.

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <absl/status/statusor.h>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <absl/strings/str_cat.h>
#include <gtest/gtest.h>

#include "actors/cache_shard.hpp"
#include "runtime/error_bridge.hpp"
#include "runtime/type_ids.hpp"
#include "tests/unit/actors/virtual_time_fixture.hpp"

namespace weft {
namespace {

using namespace std::chrono_literals;

constexpr caf::timespan no_ttl{0};

cache_compute compute_with(cache_compute_function fn) {
  return cache_compute{
    std::make_shared<const cache_compute_function>(std::move(fn))};
}

class CacheShardTest : public virtual_time_fixture {
protected:
  CacheShardTest() {
    start({});
  }

  ~CacheShardTest() override {
    caf::anon_send_exit(shard_, caf::exit_reason::user_shutdown);
    sched_.run();
  }

  void start(cache_options opts) {
    if (shard_)
      caf::anon_send_exit(shard_, caf::exit_reason::user_shutdown);
    shard_ = spawn_cache_shard(sys_, opts, logger{log_level::off});
    sched_.run();
  }

  template <class T, class... Ts>
  caf::expected<T> ask(Ts&&... xs) {
    return ask_actor<T>(shard_, std::forward<Ts>(xs)...);
  }

  void set(std::string key, absl::string_view value, caf::timespan ttl) {
    auto r = ask<ok_atom>(cache_put_atom_v, std::move(key),
                          shared_bytes::copy_of(value), ttl);
    EXPECT_TRUE(r) << to_status(r.error());
  }

  /// The value, or "" on a miss (checked to be not_found).
  std::string get(std::string key) {
    auto r = ask<shared_bytes>(cache_get_atom_v, std::move(key));
    if (!r) {
      EXPECT_EQ(code_of(r.error()), errc::not_found);
      return "";
    }
    return r->to_string();
  }

  cache_stats stats() {
    auto s = ask<cache_stats>(cache_stats_atom_v);
    EXPECT_TRUE(s);
    return s ? *s : cache_stats{};
  }

  void advance(caf::timespan d) {
    sched_.advance_time(d);
    sched_.run();
  }

  cache_shard_actor shard_;
};

TEST_F(CacheShardTest, GetReturnsWhatWasSetAndMissesAreNotFound) {
  set("a", "1", no_ttl);
  EXPECT_EQ(get("a"), "1");
  set("a", "2", no_ttl);
  EXPECT_EQ(get("a"), "2");
  EXPECT_EQ(get("b"), "");
  auto s = stats();
  EXPECT_EQ(s.hits, 2u);
  EXPECT_EQ(s.misses, 1u);
  EXPECT_EQ(s.entries, 1u);
  EXPECT_EQ(s.bytes, 2u); // key "a" + value "2"
}

TEST_F(CacheShardTest, NeverReturnsAnEntryPastItsTtl) {
  start({.sweep_interval = caf::timespan{0}}); // reads alone must expire it
  set("k", "v", 100ms);
  advance(99ms);
  EXPECT_EQ(get("k"), "v");
  advance(1ms);
  EXPECT_EQ(get("k"), "");
  auto s = stats();
  EXPECT_EQ(s.expirations, 1u);
  EXPECT_EQ(s.entries, 0u);
  EXPECT_EQ(s.hits, 1u);
  EXPECT_EQ(s.misses, 1u);
}

TEST_F(CacheShardTest, SweepRemovesExpiredEntriesWithoutReads) {
  start({.sweep_interval = 1s, .sweep_batch = 3});
  for (int i = 0; i < 10; ++i)
    set(absl::StrCat("t", i), "v", 100ms);
  for (int i = 0; i < 5; ++i)
    set(absl::StrCat("p", i), "v", no_ttl);
  advance(999ms);
  EXPECT_EQ(stats().entries, 15u); // expired, but not swept yet
  advance(1ms); // the sweep: 3 per message until none is left
  auto s = stats();
  EXPECT_EQ(s.entries, 5u);
  EXPECT_EQ(s.expirations, 10u);
  EXPECT_EQ(s.misses, 0u);
  EXPECT_EQ(get("p0"), "v");
}

TEST_F(CacheShardTest, EvictsTheLeastRecentlyUsedEntryPastMaxEntries) {
  start({.max_entries = 3});
  set("a", "1", no_ttl);
  set("b", "2", no_ttl);
  set("c", "3", no_ttl);
  EXPECT_EQ(get("a"), "1"); // b is now the least recently used
  set("d", "4", no_ttl);
  EXPECT_EQ(get("b"), "");
  EXPECT_EQ(get("a"), "1");
  EXPECT_EQ(get("c"), "3");
  EXPECT_EQ(get("d"), "4");
  set("e", "5", no_ttl); // a, c, d were read in that order: a goes
  EXPECT_EQ(get("a"), "");
  auto s = stats();
  EXPECT_EQ(s.evictions, 2u);
  EXPECT_EQ(s.entries, 3u);
}

TEST_F(CacheShardTest, KeepsItsBytesWithinMaxBytes) {
  start({.max_bytes = 100});
  std::string value(30, 'x'); // 31 bytes with a one-letter key
  set("a", value, no_ttl);
  set("b", value, no_ttl);
  set("c", value, no_ttl);
  EXPECT_EQ(stats().bytes, 93u);
  set("d", value, no_ttl);
  auto s = stats();
  EXPECT_EQ(s.bytes, 93u);
  EXPECT_EQ(s.evictions, 1u);
  EXPECT_EQ(get("a"), "");
  auto too_big
    = ask<ok_atom>(cache_put_atom_v, std::string{"big"},
                   shared_bytes::copy_of(std::string(98, 'y')), no_ttl);
  ASSERT_FALSE(too_big);
  EXPECT_EQ(code_of(too_big.error()), errc::limit_exceeded);
  EXPECT_EQ(get("d"), value); // a refused entry evicts nothing
}

TEST_F(CacheShardTest, MakesRoomFromExpiredEntriesBeforeLiveOnes) {
  start({.max_entries = 2, .sweep_interval = caf::timespan{0}});
  set("old", "live", no_ttl); // least recently used, but live
  set("short", "v", 10ms);
  advance(20ms);
  set("new", "v", no_ttl);
  EXPECT_EQ(get("old"), "live");
  auto s = stats();
  EXPECT_EQ(s.evictions, 0u);
  EXPECT_EQ(s.expirations, 1u);
}

TEST_F(CacheShardTest, EraseRemovesOnlyLiveEntriesAsLive) {
  set("a", "1", no_ttl);
  set("b", "2", 10ms);
  EXPECT_EQ(ask<bool>(cache_erase_atom_v, std::string{"a"}).value(), true);
  EXPECT_EQ(ask<bool>(cache_erase_atom_v, std::string{"a"}).value(), false);
  advance(10ms);
  EXPECT_EQ(ask<bool>(cache_erase_atom_v, std::string{"b"}).value(), false);
  EXPECT_EQ(get("a"), "");
  EXPECT_EQ(stats().entries, 0u);
}

TEST_F(CacheShardTest,
       GetOrComputeRunsComputeOnceForAThousandConcurrentMisses) {
  int computes = 0;
  auto c = compute_with([&computes]() -> absl::StatusOr<shared_bytes> {
    ++computes;
    return shared_bytes::copy_of("computed");
  });
  // All 1,000 requests are in the shard's mailbox before it runs, so the
  // compute is still in flight for all but the first.
  for (int i = 0; i < 1000; ++i)
    self_->send(shard_, cache_compute_atom_v, std::string{"k"}, c,
                caf::timespan{1s});
  sched_.run();
  int answers = 0;
  for (int i = 0; i < 1000; ++i) {
    auto v = take<shared_bytes>();
    ASSERT_TRUE(v) << to_status(v.error());
    EXPECT_EQ(v->view(), "computed");
    ++answers;
  }
  EXPECT_EQ(answers, 1000);
  EXPECT_EQ(computes, 1);
  EXPECT_EQ(get("k"), "computed"); // stored with its TTL
  auto s = stats();
  EXPECT_EQ(s.computes, 1u);
  EXPECT_EQ(s.misses, 1000u);
  EXPECT_EQ(s.hits, 1u);
  advance(1s);
  EXPECT_EQ(get("k"), "");
}

TEST_F(CacheShardTest, GetOrComputeGivesEveryWaiterTheErrorAndStoresNothing) {
  int computes = 0;
  auto failing = compute_with([&computes]() -> absl::StatusOr<shared_bytes> {
    ++computes;
    return make_status(errc::unavailable, "backend down");
  });
  for (int i = 0; i < 10; ++i)
    self_->send(shard_, cache_compute_atom_v, std::string{"k"}, failing,
                no_ttl);
  sched_.run();
  for (int i = 0; i < 10; ++i) {
    auto r = take<shared_bytes>();
    ASSERT_FALSE(r) << "waiter " << i;
    EXPECT_EQ(code_of(r.error()), errc::unavailable);
  }
  EXPECT_EQ(computes, 1);
  EXPECT_EQ(get("k"), "");
  auto throwing = compute_with(
    []() -> absl::StatusOr<shared_bytes> { throw std::runtime_error("boom"); });
  auto r = ask<shared_bytes>(cache_compute_atom_v, std::string{"k"}, throwing,
                             no_ttl);
  ASSERT_FALSE(r);
  EXPECT_EQ(code_of(r.error()), errc::handler_failed);
}

TEST_F(CacheShardTest, ASetDuringAComputeWinsOverTheComputedValue) {
  auto c = compute_with([]() -> absl::StatusOr<shared_bytes> {
    return shared_bytes::copy_of("stale");
  });
  self_->send(shard_, cache_compute_atom_v, std::string{"k"}, c, no_ttl);
  self_->send(shard_, cache_put_atom_v, std::string{"k"},
              shared_bytes::copy_of("fresh"), no_ttl);
  sched_.run();
  std::vector<std::string> seen;
  for (int i = 0; i < 2; ++i)
    self_->receive([&](shared_bytes& v) { seen.push_back(v.to_string()); },
                   [&](ok_atom) { seen.push_back("ok"); },
                   caf::after(std::chrono::seconds(0)) >> [] {});
  EXPECT_EQ(seen, (std::vector<std::string>{"ok", "stale"}));
  EXPECT_EQ(get("k"), "fresh");
}

TEST_F(CacheShardTest, ComputeTimeoutAnswersDeadlineExceeded) {
  start({.compute_timeout = 50ms});
  // The compute actor never gets to run: only the shard is stepped.
  auto c = compute_with([]() -> absl::StatusOr<shared_bytes> {
    return shared_bytes::copy_of("late");
  });
  self_->send(shard_, cache_compute_atom_v, std::string{"k"}, c, no_ttl);
  ASSERT_TRUE(sched_.prioritize(shard_));
  sched_.run_once();
  sched_.advance_time(50ms);
  ASSERT_TRUE(sched_.prioritize(shard_));
  sched_.run_once();
  auto got = take<shared_bytes>();
  ASSERT_FALSE(got);
  EXPECT_EQ(code_of(got.error()), errc::deadline_exceeded);
  sched_.run(); // the late result is dropped
  EXPECT_EQ(get("k"), "");
}

} // namespace
} // namespace weft
