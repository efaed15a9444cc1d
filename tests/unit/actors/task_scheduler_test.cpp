// The task scheduler under CAF's test_coordinator: virtual time, every
// message delivered when the test says so. Tasks that "take time" move the
// virtual clock forward themselves, so fixed rate and fixed delay can be told
// apart without sleeping.

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <gtest/gtest.h>

#include "actors/task_scheduler.hpp"
#include "runtime/error_bridge.hpp"
#include "runtime/type_ids.hpp"
#include "tests/unit/actors/virtual_time_fixture.hpp"

namespace weft {
namespace {

using namespace std::chrono_literals;
using clock_time = caf::actor_clock::time_point;

class TaskSchedulerTest : public virtual_time_fixture {
protected:
  TaskSchedulerTest() {
    start({});
  }

  ~TaskSchedulerTest() override {
    caf::anon_send_exit(scheduler_, caf::exit_reason::user_shutdown);
    sched_.run();
  }

  void start(task_scheduler_options opts) {
    if (scheduler_)
      caf::anon_send_exit(scheduler_, caf::exit_reason::user_shutdown);
    if (opts.runners == 0)
      opts.runners = 2;
    scheduler_ = spawn_task_scheduler(sys_, opts, logger{log_level::off});
    sched_.run();
  }

  /// Sends `xs` to the scheduler, runs every actor, returns the answer.
  template <class T, class... Ts>
  caf::expected<T> ask(Ts&&... xs) {
    return ask_actor<T>(scheduler_, std::forward<Ts>(xs)...);
  }

  std::uint64_t schedule(scheduled_task task) {
    auto id = ask<std::uint64_t>(schedule_atom_v, std::move(task));
    EXPECT_TRUE(id) << to_status(id.error());
    return id ? *id : 0;
  }

  task_scheduler_stats stats() {
    auto s = ask<task_scheduler_stats>(task_stats_atom_v);
    EXPECT_TRUE(s);
    return s ? *s : task_scheduler_stats{};
  }

  /// Moves virtual time forward in 1 ms steps, running everything due.
  void advance(caf::timespan total) {
    for (auto t = caf::timespan{0}; t < total; t += 1ms) {
      sched_.advance_time(1ms);
      sched_.run();
    }
  }

  clock_time now() {
    return sched_.clock().now();
  }

  /// A task body that records when it ran, then "works" for `work`.
  task_function recorder(std::vector<clock_time>& runs,
                         caf::timespan work = caf::timespan{0}) {
    return [this, &runs, work] {
      runs.push_back(now());
      sched_.clock().current_time += work;
    };
  }

  task_scheduler_actor scheduler_;
};

TEST_F(TaskSchedulerTest, RunsADelayedTaskOnlyOnceItsDelayHasPassed) {
  int runs = 0;
  schedule(run_once(100ms, [&runs] { ++runs; }));
  advance(99ms);
  EXPECT_EQ(runs, 0);
  advance(1ms);
  EXPECT_EQ(runs, 1);
  advance(1s);
  EXPECT_EQ(runs, 1);
  auto s = stats();
  EXPECT_EQ(s.scheduled, 1u);
  EXPECT_EQ(s.fired, 1u);
  EXPECT_EQ(s.pending, 0u);
}

TEST_F(TaskSchedulerTest, ZeroDelayTaskRunsWithoutTimeMoving) {
  int runs = 0;
  schedule(run_once(caf::timespan{0}, [&runs] { ++runs; }));
  EXPECT_EQ(runs, 1);
}

TEST_F(TaskSchedulerTest, FixedRateKeepsAnAbsoluteScheduleOverManyPeriods) {
  std::vector<clock_time> runs;
  auto start = now();
  // Each run "takes" 3 ms: a schedule measured from the end of runs would
  // drift by 3 ms per period.
  schedule(run_at_fixed_rate(10ms, 10ms, recorder(runs, 3ms)));
  advance(10'000ms);
  ASSERT_GE(runs.size(), 999u);
  for (std::size_t k = 0; k < runs.size(); ++k)
    ASSERT_EQ(runs[k], start + 10ms + k * 10ms) << "run " << k;
  auto s = stats();
  EXPECT_EQ(s.fired, runs.size());
  EXPECT_EQ(s.skipped, 0u);
}

TEST_F(TaskSchedulerTest, FixedDelayWaitsFromTheEndOfEachRun) {
  std::vector<clock_time> runs;
  auto start = now();
  schedule(run_with_fixed_delay(10ms, 10ms, recorder(runs, 3ms)));
  advance(1'300ms);
  ASSERT_GE(runs.size(), 99u);
  for (std::size_t k = 0; k < runs.size(); ++k)
    ASSERT_EQ(runs[k], start + 10ms + k * 13ms) << "run " << k;
}

TEST_F(TaskSchedulerTest, FixedRateSkipsRunsItFellBehindOnInsteadOfBursting) {
  std::vector<clock_time> runs;
  auto start = now();
  bool first = true;
  schedule(run_at_fixed_rate(caf::timespan{0}, 10ms, [&] {
    runs.push_back(now());
    if (first) // the first run overruns three and a half periods
      sched_.clock().current_time += 35ms;
    first = false;
  }));
  advance(24ms); // virtual time: 35 ms (the run) + 24 ms
  // Slot 1 (10 ms) runs late at 36 ms, once; slots 2 and 3 are skipped;
  // then back on the schedule at 40 and 50 ms.
  ASSERT_EQ(runs.size(), 4u);
  EXPECT_EQ(runs[0], start);
  EXPECT_EQ(runs[1], start + 36ms);
  EXPECT_EQ(runs[2], start + 40ms);
  EXPECT_EQ(runs[3], start + 50ms);
  EXPECT_EQ(stats().skipped, 2u);
}

TEST_F(TaskSchedulerTest, SkipsARunWhileThePreviousOneIsStillRunning) {
  int runs = 0;
  schedule(run_at_fixed_rate(10ms, 10ms, [&runs] { ++runs; }));
  // Slot 0 falls due; only the scheduler runs: it hands the task to a
  // runner, which has not run yet when slot 1 falls due.
  sched_.advance_time(10ms);
  sched_.run_once();
  sched_.advance_time(10ms);
  sched_.run(); // the runner, then the scheduler: tick (skip), then done
  EXPECT_EQ(runs, 1);
  auto s = stats();
  EXPECT_EQ(s.fired, 1u);
  EXPECT_EQ(s.skipped, 1u);
  advance(10ms); // slot 2 runs as usual
  EXPECT_EQ(runs, 2);
}

TEST_F(TaskSchedulerTest, HigherPriorityStartsFirstAmongTasksDueTogether) {
  start({.max_pending = 100, .runners = 1});
  std::vector<std::string> order;
  auto note = [&order](std::string name) {
    return [&order, name] {
      order.push_back(name);
    };
  };
  schedule(run_once(50ms, note("low"), 1));
  schedule(run_once(50ms, note("high-a"), 5));
  schedule(run_once(50ms, note("mid"), 3));
  schedule(run_once(50ms, note("high-b"), 5));
  schedule(run_once(40ms, note("earlier"), 0));
  advance(50ms);
  EXPECT_EQ(order, (std::vector<std::string>{"earlier", "high-a", "high-b",
                                             "mid", "low"}));
}

TEST_F(TaskSchedulerTest, CancelledTasksNeverRunAgain) {
  int once_runs = 0;
  int periodic_runs = 0;
  auto once = schedule(run_once(100ms, [&] { ++once_runs; }));
  auto periodic
    = schedule(run_at_fixed_rate(10ms, 10ms, [&] { ++periodic_runs; }));
  advance(30ms);
  EXPECT_EQ(periodic_runs, 3);
  EXPECT_EQ(ask<bool>(cancel_atom_v, once).value(), true);
  EXPECT_EQ(ask<bool>(cancel_atom_v, periodic).value(), true);
  EXPECT_EQ(ask<bool>(cancel_atom_v, periodic).value(), false);
  EXPECT_EQ(ask<bool>(cancel_atom_v, std::uint64_t{999}).value(), false);
  advance(200ms);
  EXPECT_EQ(once_runs, 0);
  EXPECT_EQ(periodic_runs, 3);
  auto s = stats();
  EXPECT_EQ(s.cancelled, 2u);
  EXPECT_EQ(s.pending, 0u);
}

TEST_F(TaskSchedulerTest, SchedulingPastTheBoundFailsWithOverloaded) {
  start({.max_pending = 3, .runners = 1});
  for (int i = 0; i < 3; ++i)
    schedule(run_once(10ms, [] {}));
  auto refused = ask<std::uint64_t>(schedule_atom_v, run_once(10ms, [] {}));
  ASSERT_FALSE(refused);
  EXPECT_EQ(code_of(refused.error()), errc::overloaded);
  advance(10ms); // all three ran: room again
  EXPECT_TRUE(ask<std::uint64_t>(schedule_atom_v, run_once(10ms, [] {})));
}

TEST_F(TaskSchedulerTest, ThrowingPeriodicTaskIsCountedAndKeepsFiring) {
  int runs = 0;
  schedule(run_at_fixed_rate(10ms, 10ms, [&runs] {
    ++runs;
    throw std::runtime_error("boom");
  }));
  schedule(run_with_fixed_delay(10ms, 10ms, [] { throw 42; }));
  advance(50ms);
  EXPECT_EQ(runs, 5);
  auto s = stats();
  EXPECT_EQ(s.fired, 10u);
  EXPECT_EQ(s.failed, 10u);
  EXPECT_EQ(s.pending, 2u);
}

TEST_F(TaskSchedulerTest, RejectsTasksWithoutAFunctionOrAPeriod) {
  auto no_fn = ask<std::uint64_t>(schedule_atom_v, scheduled_task{});
  ASSERT_FALSE(no_fn);
  EXPECT_EQ(code_of(no_fn.error()), errc::invalid_argument);
  auto no_period = ask<std::uint64_t>(
    schedule_atom_v, run_at_fixed_rate(1ms, caf::timespan{0}, [] {}));
  ASSERT_FALSE(no_period);
  EXPECT_EQ(code_of(no_period.error()), errc::invalid_argument);
}

TEST_F(TaskSchedulerTest, DueTasksWaitForAFreeRunnerInPriorityOrder) {
  start({.max_pending = 100, .runners = 2});
  std::vector<int> order;
  for (int p = 0; p < 6; ++p)
    schedule(run_once(
      10ms, [&order, p] { order.push_back(p); }, p));
  sched_.advance_time(10ms);
  sched_.run();
  EXPECT_EQ(order, (std::vector<int>{5, 4, 3, 2, 1, 0}));
  EXPECT_EQ(stats().fired, 6u);
}

} // namespace
} // namespace weft
