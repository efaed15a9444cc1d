// The background pool under CAF's test_coordinator (admission, dispatch,
// failures, drain, step by step), and with real scheduler threads for the
// concurrency bound and exactly-once execution under concurrent submitters.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <gtest/gtest.h>

#include "actors/background_pool.hpp"
#include "runtime/error_bridge.hpp"
#include "runtime/type_ids.hpp"
#include "tests/unit/actors/coordinated_test.hpp"
#include "tests/unit/actors/countdown.hpp"
#include "tests/unit/actors/test_system_config.hpp"

namespace weft {
namespace {

class BackgroundPoolTest : public testing::coordinated_test {
protected:
  ~BackgroundPoolTest() override {
    for (auto& pool : pools_)
      caf::anon_send_exit(pool.actor(), caf::exit_reason::user_shutdown);
    sched_.run();
  }

  background_pool make_pool(std::size_t max_running, std::size_t max_queued) {
    background_pool_options opts;
    opts.max_running = max_running;
    opts.max_queued = max_queued;
    pools_.push_back(spawn_background_pool(sys_, logger{log_level::off}, opts));
    sched_.run();
    return pools_.back();
  }

  std::vector<background_pool> pools_;
};

TEST_F(BackgroundPoolTest, FullQueueIsAnsweredOverloadedAtOnce) {
  auto pool = make_pool(1, 2);
  int ran = 0;
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(pool.submit([&ran] { ++ran; }).ok()) << i;
  // Nothing ran yet: the caller learns of the full queue without waiting.
  auto refused = pool.submit([&ran] { ++ran; });
  EXPECT_EQ(code_of(refused), errc::overloaded);
  auto stats = pool.stats();
  EXPECT_EQ(stats.submitted, 3u);
  EXPECT_EQ(stats.rejected, 1u);
  EXPECT_EQ(stats.queued, 3u);
  sched_.run();
  EXPECT_EQ(ran, 3);
  EXPECT_TRUE(pool.submit([&ran] { ++ran; }).ok()) << "room again";
  sched_.run();
  EXPECT_EQ(ran, 4);
  stats = pool.stats();
  EXPECT_EQ(stats.completed, 4u);
  EXPECT_EQ(stats.queued, 0u);
  EXPECT_EQ(stats.running, 0u);
}

TEST_F(BackgroundPoolTest, DispatchesNoMoreThanMaxRunningTasks) {
  auto pool = make_pool(3, 100);
  std::uint64_t max_running_seen = 0;
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(pool
                  .submit([&] {
                    max_running_seen
                      = std::max(max_running_seen, pool.stats().running);
                  })
                  .ok());
  }
  run_only(pool.actor()); // the pool dispatches; its workers wait
  auto stats = pool.stats();
  EXPECT_EQ(stats.running, 3u);
  EXPECT_EQ(stats.queued, 7u);
  EXPECT_EQ(stats.completed, 0u) << "tasks never run inside the pool actor";
  sched_.run();
  EXPECT_EQ(pool.stats().completed, 10u);
  EXPECT_EQ(max_running_seen, 3u);
}

TEST_F(BackgroundPoolTest, ThrowingTasksAreCountedAndTheOthersRun) {
  auto pool = make_pool(1, 10);
  std::vector<int> ran;
  ASSERT_TRUE(pool.submit([&] { ran.push_back(1); }).ok());
  ASSERT_TRUE(pool.submit([] { throw std::runtime_error("task broke"); }).ok());
  ASSERT_TRUE(pool.submit([] { throw 42; }).ok());
  ASSERT_TRUE(pool.submit([&] { ran.push_back(4); }).ok());
  sched_.run();
  EXPECT_EQ(ran, (std::vector<int>{1, 4}));
  auto stats = pool.stats();
  EXPECT_EQ(stats.completed, 2u);
  EXPECT_EQ(stats.failed, 2u);
  EXPECT_EQ(stats.running, 0u);
  EXPECT_TRUE(pool.submit([&] { ran.push_back(5); }).ok());
  sched_.run();
  EXPECT_EQ(ran.back(), 5) << "the worker survived the throws";
}

TEST_F(BackgroundPoolTest, DrainIsAnsweredOnceIdle) {
  auto pool = make_pool(1, 10);
  int ran = 0;
  ASSERT_TRUE(pool.submit([&ran] { ++ran; }).ok());
  ASSERT_TRUE(pool.submit([&ran] { ++ran; }).ok());
  self_->send(pool.actor(), drain_atom_v,
              caf::timespan{std::chrono::seconds(1)});
  sched_.run();
  bool drained = false;
  self_->receive([&](ok_atom) { drained = true; },
                 caf::after(std::chrono::seconds(0)) >> [] {});
  EXPECT_TRUE(drained);
  EXPECT_EQ(ran, 2);
}

TEST_F(BackgroundPoolTest, BadTasksAndAStoppedPoolAreRefused) {
  auto pool = make_pool(1, 10);
  EXPECT_EQ(code_of(pool.submit(nullptr)), errc::invalid_argument);
  EXPECT_EQ(code_of(background_pool{}.submit([] {})), errc::unavailable);
  caf::anon_send_exit(pool.actor(), caf::exit_reason::user_shutdown);
  sched_.run();
  EXPECT_EQ(code_of(pool.submit([] {})), errc::unavailable);
}

TEST_F(BackgroundPoolTest, DefaultsToOneRunnerPerSchedulerThread) {
  testing::test_system_config cfg{3};
  caf::actor_system sys{cfg};
  auto pool = spawn_background_pool(sys, logger{log_level::off});
  EXPECT_EQ(pool.max_running(), 3u);
  caf::anon_send_exit(pool.actor(), caf::exit_reason::user_shutdown);
}

TEST_F(BackgroundPoolTest, NeverRunsMoreThanMaxRunningAtOnce) {
  // Four scheduler threads, two runners: two tasks hold their runner until
  // the test saw both start; a third running task would show in `peak`.
  testing::test_system_config cfg{4};
  caf::actor_system sys{cfg};
  background_pool_options opts;
  opts.max_running = 2;
  auto pool = spawn_background_pool(sys, logger{log_level::off}, opts);
  constexpr int tasks = 20;
  std::atomic<int> current{0};
  std::atomic<int> peak{0};
  testing::countdown two_started{2};
  testing::countdown all_done{tasks};
  std::mutex mtx;
  std::condition_variable cv;
  bool open = false;
  for (int i = 0; i < tasks; ++i) {
    ASSERT_TRUE(
      pool
        .submit([&] {
          auto now = ++current;
          auto seen = peak.load();
          while (now > seen && !peak.compare_exchange_weak(seen, now)) {
          }
          two_started.count_down();
          {
            std::unique_lock<std::mutex> guard{mtx};
            cv.wait_for(guard, std::chrono::seconds(30), [&] { return open; });
          }
          --current;
          all_done.count_down();
        })
        .ok());
  }
  ASSERT_TRUE(two_started.wait_for(std::chrono::seconds(30)));
  {
    std::lock_guard<std::mutex> guard{mtx};
    open = true;
  }
  cv.notify_all();
  ASSERT_TRUE(all_done.wait_for(std::chrono::seconds(30)));
  EXPECT_EQ(peak.load(), 2);
  caf::scoped_actor self{sys};
  self
    ->request(pool.actor(), std::chrono::seconds(30), drain_atom_v,
              caf::timespan{std::chrono::seconds(30)})
    .receive([](ok_atom) {},
             [](caf::error& err) { FAIL() << caf::to_string(err); });
  auto stats = pool.stats();
  EXPECT_EQ(stats.completed, static_cast<std::uint64_t>(tasks));
  EXPECT_EQ(stats.running, 0u);
  EXPECT_EQ(stats.queued, 0u);
  caf::anon_send_exit(pool.actor(), caf::exit_reason::user_shutdown);
}

TEST_F(BackgroundPoolTest, EverySubmittedTaskRunsExactlyOnce) {
  testing::test_system_config cfg{2};
  caf::actor_system sys{cfg};
  background_pool_options opts;
  opts.max_queued = 10000;
  auto pool = spawn_background_pool(sys, logger{log_level::off}, opts);
  constexpr int submitters = 2;
  constexpr int per_submitter = 1000;
  std::vector<std::atomic<int>> runs(submitters * per_submitter);
  testing::countdown all_done{submitters * per_submitter};
  std::vector<std::thread> threads;
  for (int t = 0; t < submitters; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < per_submitter; ++i) {
        auto index = static_cast<std::size_t>(t * per_submitter + i);
        auto ok = pool.submit([&runs, &all_done, index] {
          ++runs[index];
          all_done.count_down();
        });
        EXPECT_TRUE(ok.ok()) << ok;
      }
    });
  }
  for (auto& th : threads)
    th.join();
  ASSERT_TRUE(all_done.wait_for(std::chrono::seconds(30)));
  for (std::size_t i = 0; i < runs.size(); ++i)
    EXPECT_EQ(runs[i].load(), 1) << "task " << i;
  auto stats = pool.stats();
  EXPECT_EQ(stats.submitted, static_cast<std::uint64_t>(runs.size()));
  EXPECT_EQ(stats.rejected, 0u);
  caf::anon_send_exit(pool.actor(), caf::exit_reason::user_shutdown);
}

} // namespace
} // namespace weft
