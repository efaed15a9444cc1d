#include "actors/task_scheduler.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <exception>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <absl/container/btree_set.h>
#include <absl/container/flat_hash_map.h>
#include <caf/actor_clock.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scheduler/abstract_coordinator.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "runtime/error_bridge.hpp"

namespace weft {

namespace {

// Why runner actors, not the scheduler actor and not one actor per run:
// - A task run inside the scheduler actor would stall every other timer
//   (and schedule / cancel) for as long as it runs.
// - Spawning an actor per run costs an allocation of the actor (about 1.7 KB
//   with its behavior, docs/benchmarks.md) plus registry bookkeeping, and
//   leaves concurrency unbounded: 10,000 tasks due at once would become
//   10,000 actors competing for the worker threads, in no priority order.
// - A fixed pool of runners costs two messages per run (about 1 us at CAF's
//   measured 0.85-1.7 M request/s, CAF-NOTES.md), bounds the runs in
//   progress to the pool's size, and keeps everything due but not yet
//   started in the scheduler, where priorities order it and a fixed-rate
//   task that fell behind skips runs instead of queueing a burst.
//   The scheduler hands a task only to an idle runner, so runner mailboxes
//   never hold a backlog.

using clock_time = caf::actor_clock::time_point;

/// When a task waits for its time: earliest first, then higher priority,
/// then the older task.
using timer_key = std::tuple<clock_time, std::int64_t, std::uint64_t>;

/// A due task waiting for a runner: higher priority first, then the
/// earlier due time, then the older task.
using ready_key = std::tuple<std::int64_t, clock_time, std::uint64_t>;

struct task_entry {
  scheduled_task task;
  /// fixed_rate: the time of run 0; run k is due at first + k * period.
  clock_time first;
  /// fixed_rate: the index of the run `due` belongs to.
  std::int64_t slot = 0;
  clock_time due;
  /// In `timers`.
  bool waiting = false;
  /// In `ready`.
  bool ready = false;
  /// A runner is running it.
  bool running = false;
};

struct scheduler_state {
  logger log;
  std::size_t max_pending = 1;
  /// Every task the scheduler holds, by id.
  absl::flat_hash_map<std::uint64_t, task_entry> tasks;
  absl::btree_set<timer_key> timers;
  absl::btree_set<ready_key> ready;
  std::vector<caf::actor> runners;
  /// Indexes into `runners` of the runners without a task.
  std::vector<std::size_t> idle;
  /// The times for which a tick is on its way (CAF's clock cannot take a
  /// scheduled message back, so a tick set for a task cancelled since
  /// still arrives and finds nothing due).
  absl::btree_multiset<clock_time> armed;
  std::uint64_t next_id = 1;
  task_scheduler_stats stats;

  static inline const char* name = "weft.task_scheduler";

  scheduler_state() = default;
  scheduler_state(const scheduler_state&) = delete;
  scheduler_state& operator=(const scheduler_state&) = delete;

  /// The runners go down with the scheduler (a process cannot exit while
  /// an actor lives, CAF-NOTES.md).
  ~scheduler_state() {
    for (auto& r : runners)
      caf::anon_send_exit(r, caf::exit_reason::user_shutdown);
  }
};

using scheduler_self = task_scheduler_actor::stateful_pointer<scheduler_state>;

std::int64_t rank(std::int32_t priority) {
  return -static_cast<std::int64_t>(priority);
}

caf::timespan since_epoch(clock_time t) {
  return std::chrono::duration_cast<caf::timespan>(t.time_since_epoch());
}

clock_time from_epoch(caf::timespan d) {
  return clock_time{std::chrono::duration_cast<clock_time::duration>(d)};
}

/// A runner: runs one task per message and answers whether it completed.
/// Exceptions are caught here, so a throwing task never kills the runner.
caf::behavior task_runner(caf::event_based_actor*, logger log) {
  return {
    [log](run_task_atom, const scheduled_task& task) -> bool {
      try {
        (*task.fn)();
        return true;
      } catch (const std::exception& e) {
        log.error("scheduler.task_failed",
                  {{"task", task.name}, {"error", e.what()}});
      } catch (...) {
        log.error("scheduler.task_failed",
                  {{"task", task.name}, {"error", "unknown exception"}});
      }
      return false;
    },
  };
}

/// Makes sure a tick is on its way for the earliest waiting task.
void arm(scheduler_self self) {
  auto& st = self->state;
  if (st.timers.empty())
    return;
  auto earliest = std::get<0>(*st.timers.begin());
  if (!st.armed.empty() && *st.armed.begin() <= earliest)
    return;
  st.armed.insert(earliest);
  auto me = caf::actor_cast<task_scheduler_actor>(self);
  if (earliest <= self->clock().now())
    self->send(me, tick_atom_v, since_epoch(earliest));
  else
    self->scheduled_send(me, earliest, tick_atom_v, since_epoch(earliest));
}

void wait_for(scheduler_state& st, std::uint64_t id, task_entry& e) {
  e.waiting = true;
  st.timers.emplace(e.due, rank(e.task.priority), id);
}

/// Moves a fixed-rate task past its current slot to the first slot after
/// `now` (at least the next one). Returns how many slots it passed over
/// in between, i.e. runs skipped for falling behind.
std::uint64_t advance_slot(task_entry& e, clock_time now) {
  auto period = e.task.period;
  auto behind = (now - e.first) / period; // whole periods since the first
  auto next = std::max<std::int64_t>(e.slot + 1, behind + 1);
  auto passed = static_cast<std::uint64_t>(next - e.slot - 1);
  e.slot = next;
  e.due = e.first + next * period;
  return passed;
}

void dispatch(scheduler_self self);

void finished(scheduler_self self, std::size_t runner, std::uint64_t id,
              bool ok) {
  auto& st = self->state;
  --st.stats.running;
  if (!ok)
    ++st.stats.failed;
  st.idle.push_back(runner);
  if (auto i = st.tasks.find(id); i != st.tasks.end()) {
    auto& e = i->second;
    e.running = false;
    switch (e.task.repeat) {
      case task_repeat::once:
        st.tasks.erase(i);
        break;
      case task_repeat::fixed_delay:
        e.due = self->clock().now() + e.task.period;
        wait_for(st, id, e);
        break;
      case task_repeat::fixed_rate:
        break; // its next slot was set when this run started
    }
  }
  dispatch(self);
  arm(self);
}

/// Hands due tasks to idle runners, highest priority first.
void dispatch(scheduler_self self) {
  auto& st = self->state;
  while (!st.idle.empty() && !st.ready.empty()) {
    auto id = std::get<2>(*st.ready.begin());
    st.ready.erase(st.ready.begin());
    auto& e = st.tasks.at(id);
    e.ready = false;
    e.running = true;
    auto runner = st.idle.back();
    st.idle.pop_back();
    ++st.stats.fired;
    ++st.stats.running;
    if (e.task.repeat == task_repeat::fixed_rate) {
      st.stats.skipped += advance_slot(e, self->clock().now());
      wait_for(st, id, e);
    }
    self->request(st.runners[runner], caf::infinite, run_task_atom_v, e.task)
      .then(
        [self, runner, id](bool ok) { finished(self, runner, id, ok); },
        [self, runner, id](caf::error& err) {
          // Only if the runner died: replace it, count the run failed.
          auto& s = self->state;
          s.log.error("scheduler.runner_lost", {{"error", message_of(err)}});
          s.runners[runner] = self->system().spawn(task_runner, s.log);
          finished(self, runner, id, false);
        });
  }
}

void on_tick(scheduler_self self, caf::timespan target) {
  auto& st = self->state;
  if (auto i = st.armed.find(from_epoch(target)); i != st.armed.end())
    st.armed.erase(i);
  auto now = self->clock().now();
  while (!st.timers.empty() && std::get<0>(*st.timers.begin()) <= now) {
    auto id = std::get<2>(*st.timers.begin());
    st.timers.erase(st.timers.begin());
    auto& e = st.tasks.at(id);
    e.waiting = false;
    if (e.running) {
      // A fixed-rate task still running at its next slot: skip the slot.
      st.stats.skipped += 1 + advance_slot(e, now);
      wait_for(st, id, e);
      continue;
    }
    e.ready = true;
    st.ready.emplace(rank(e.task.priority), e.due, id);
  }
  dispatch(self);
  arm(self);
}

caf::result<std::uint64_t> on_schedule(scheduler_self self,
                                       scheduled_task& task) {
  auto& st = self->state;
  if (!task.fn || !*task.fn)
    return make_weft_error(errc::invalid_argument, "task without a function");
  if (task.repeat != task_repeat::once && task.period <= caf::timespan{0})
    return make_weft_error(errc::invalid_argument,
                           "periodic task needs a positive period");
  if (st.tasks.size() >= st.max_pending)
    return make_weft_error(errc::overloaded,
                           "task scheduler holds max_pending tasks");
  auto id = st.next_id++;
  task_entry e;
  e.first = self->clock().now() + std::max(task.delay, caf::timespan{0});
  e.due = e.first;
  e.task = std::move(task);
  auto& stored = st.tasks.emplace(id, std::move(e)).first->second;
  wait_for(st, id, stored);
  ++st.stats.scheduled;
  arm(self);
  return id;
}

bool on_cancel(scheduler_self self, std::uint64_t id) {
  auto& st = self->state;
  auto i = st.tasks.find(id);
  if (i == st.tasks.end())
    return false;
  auto& e = i->second;
  if (e.task.repeat == task_repeat::once && e.running)
    return false; // started already: nothing left to cancel
  if (e.waiting)
    st.timers.erase(timer_key{e.due, rank(e.task.priority), id});
  if (e.ready)
    st.ready.erase(ready_key{rank(e.task.priority), e.due, id});
  // A run in progress finishes; finished() then finds no entry.
  st.tasks.erase(i);
  ++st.stats.cancelled;
  return true;
}

task_scheduler_actor::behavior_type
task_scheduler(scheduler_self self, task_scheduler_options opts, logger log) {
  auto& st = self->state;
  st.log = log;
  st.max_pending = std::max<std::size_t>(1, opts.max_pending);
  auto runners = opts.runners;
  if (runners == 0)
    runners
      = std::max<std::size_t>(1, self->system().scheduler().num_workers());
  for (std::size_t i = 0; i < runners; ++i) {
    st.runners.push_back(self->system().spawn(task_runner, log));
    st.idle.push_back(runners - 1 - i); // runner 0 is picked first
  }
  return {
    [self](schedule_atom, scheduled_task& task) {
      return on_schedule(self, task);
    },
    [self](cancel_atom, std::uint64_t id) { return on_cancel(self, id); },
    [self](task_stats_atom) {
      auto stats = self->state.stats;
      stats.pending = self->state.tasks.size();
      return stats;
    },
    [self](tick_atom, caf::timespan target) { on_tick(self, target); },
  };
}

} // namespace

task_scheduler_actor spawn_task_scheduler(caf::actor_system& sys,
                                          task_scheduler_options opts,
                                          logger log) {
  return sys.spawn(task_scheduler, opts, std::move(log));
}

} // namespace weft
