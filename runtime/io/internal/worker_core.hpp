#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <absl/functional/function_ref.h>
#include <caf/fwd.hpp>

#include "runtime/io/internal/reactor_inbox.hpp"
#include "runtime/io/unique_fd.hpp"

namespace weft::io::internal {

class reactor;

/// One worker thread of weft's scheduler (embedded_policy): its run queue,
/// the epoll set it sleeps in, and the reactor it runs between jobs, if one
/// is attached. The worker owns the core through its policy data; an
/// attached reactor shares it.
class worker_core {
public:
  /// The other workers' cores, by index (the worker's own included).
  using core_at = absl::FunctionRef<worker_core&(std::size_t)>;

  /// Makes the epoll set and the parking spot. Ends the process with a
  /// message if the kernel refuses them (a CAF policy cannot fail softly).
  static std::shared_ptr<worker_core> make();

  worker_core(unique_fd epoll, std::shared_ptr<parking_spot> spot);

  worker_core(const worker_core&) = delete;
  worker_core& operator=(const worker_core&) = delete;

  // -- any thread ------------------------------------------------------------

  /// Queues `job` here and wakes this worker if it sleeps.
  void push_and_wake(caf::resumable* job);

  /// Queues a job for whichever worker suits: a sleeping one if there is
  /// one, else the next in turn (`turn` counts calls).
  static void push_anywhere(caf::resumable* job, std::size_t count,
                            core_at cores, std::atomic<std::size_t>& turn);

  /// Reserves this worker for one reactor; false if it already has one.
  bool claim() noexcept {
    return !claimed_.exchange(true);
  }

  /// Gives `r` to this worker (after claim()); it runs it from its next
  /// turn on.
  void attach(reactor* r) noexcept;

  /// Whether the calling thread is this worker's.
  bool on_this_thread() const noexcept {
    return thread_.load(std::memory_order_relaxed) == std::this_thread::get_id();
  }

  int epoll_fd() const noexcept {
    return epoll_.get();
  }

  const std::shared_ptr<parking_spot>& spot() const noexcept {
    return spot_;
  }

  // -- this worker's thread --------------------------------------------------

  /// Queues a job made runnable by this worker; when it has more than it
  /// can start now and another worker sleeps, wakes that one to steal.
  void push_local(caf::resumable* job, std::size_t self, std::size_t count,
                  core_at cores);

  /// The next job for worker `self` of `count`: its own queue first, then
  /// one stolen from a busier worker; between jobs it runs its reactor's
  /// commands and polls its sockets, and it sleeps in epoll_wait when there
  /// is nothing at all. While another worker is stuck in one job (a handler
  /// that blocks or computes for long), a sleeping worker wakes every
  /// help_interval to serve that worker's reactor and take its jobs, so a
  /// slow handler costs its neighbours latency, not service.
  caf::resumable* next_job(caf::execution_unit* unit, std::size_t self,
                           std::size_t count, core_at cores);

  /// Takes the reactor back without waiting for a turn: reactor::stop from
  /// an actor on this worker, which finishes the reactor itself. Waits
  /// until no helper is inside it.
  void release_from_this_worker(reactor* r);

  /// Gives back a claim() that never got a reactor.
  void unclaim() noexcept {
    claimed_.store(false);
  }

  /// Calls `f` on each queued job and empties the queue (shutdown).
  template <class F>
  void drain_jobs(F&& f) {
    std::deque<caf::resumable*> jobs;
    {
      std::lock_guard<std::mutex> guard{mutex_};
      jobs.swap(jobs_);
      queued_.store(0);
    }
    for (auto* job : jobs)
      f(job);
  }

  /// How often a sleeping worker looks for a stuck one, and how long a
  /// worker must stay in one job to count as stuck.
  static constexpr std::chrono::milliseconds help_interval{1};
  /// How often a sleeping worker looks at the others while none runs: the
  /// longest a worker that wakes into a long job waits for a helper.
  static constexpr std::chrono::milliseconds watch_interval{5};

private:
  using clock = std::chrono::steady_clock;

  /// Queues `job`; returns how many jobs are queued now.
  std::size_t append(caf::resumable* job);
  caf::resumable* pop();
  caf::resumable* steal_from(std::size_t self, std::size_t count,
                             core_at cores);

  /// Calls `f` on every other worker's core, from the next one round,
  /// until it returns true; returns whether it did.
  template <class F>
  static bool for_others(std::size_t self, std::size_t count, core_at cores,
                         F&& f) {
    for (std::size_t i = 1; i < count; ++i)
      if (f(cores((self + i) % count)))
        return true;
    return false;
  }

  static bool others_have_spare(std::size_t self, std::size_t count,
                                core_at cores);
  static bool others_running(std::size_t self, std::size_t count,
                             core_at cores);
  void sleep(caf::execution_unit* unit, std::size_t self, std::size_t count,
             core_at cores);
  caf::resumable* help(caf::execution_unit* unit, std::size_t self,
                       std::size_t count, core_at cores);
  /// The reactor lock: whoever runs this core's reactor (its worker, or a
  /// helper) holds it; it lives in the core so that a helper never touches
  /// a reactor that is gone.
  bool try_enter() noexcept {
    return !in_reactor_.exchange(true, std::memory_order_acquire);
  }
  void enter() noexcept;
  void leave() noexcept {
    in_reactor_.store(false, std::memory_order_release);
  }
  /// Closes `r` and lets go of it; the reactor lock is held and released
  /// here.
  void take_back_locked(reactor* r);
  /// take_back_locked, then tells reactor::stop that it may return.
  void detach_locked(reactor* r);

  // Fields are grouped by who writes them, one cache line per group, so
  // that a worker's turns do not keep invalidating what the others read.

  // Set at start, then the owner's own.
  unique_fd epoll_;
  std::shared_ptr<parking_spot> spot_;
  std::atomic<bool> claimed_{false};
  std::atomic<std::thread::id> thread_{};
  /// This worker as CAF's execution unit; set at its first turn.
  caf::execution_unit* unit_ = nullptr;
  /// Jobs run since the reactor last polled its sockets.
  unsigned since_poll_ = 0;
  /// What this worker last saw of the others' turns, and since when.
  std::vector<std::uint64_t> seen_turns_;
  std::vector<clock::time_point> seen_since_;

  /// The run queue: the owner, enqueueing threads and stealers.
  alignas(64) std::mutex mutex_;
  std::deque<caf::resumable*> jobs_;
  std::atomic<std::size_t> queued_{0};

  /// The reactor and its lock: the owner, helpers, attach and detach.
  alignas(64) std::atomic<reactor*> attached_{nullptr};
  std::atomic<bool> in_reactor_{false};

  /// Turns of next_job so far, the owner's every turn: a worker whose
  /// count stands still while it is not parked is inside one long job.
  alignas(64) std::atomic<std::uint64_t> turns_{0};
};

} // namespace weft::io::internal
