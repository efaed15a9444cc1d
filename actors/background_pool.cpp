#include "actors/background_pool.hpp"

#include <algorithm>
#include <atomic>
#include <deque>
#include <exception>
#include <utility>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scheduler/abstract_coordinator.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "runtime/error_bridge.hpp"

namespace weft {

struct background_pool_shared {
  background_pool_shared(std::size_t running_bound, std::size_t queued_bound)
    : max_running(running_bound), capacity(running_bound + queued_bound) {
  }

  const std::size_t max_running;
  /// Accepted tasks not finished yet may not exceed this: max_running
  /// running plus max_queued waiting (including those still travelling to
  /// the pool actor, so its mailbox is bounded too).
  const std::size_t capacity;
  /// Set when the pool actor is gone; submit then answers `unavailable`.
  std::atomic<bool> stopped{false};
  /// Accepted and not finished: taken by submit, given back by the pool
  /// actor when a worker reports the task done.
  std::atomic<std::uint64_t> in_pool{0};
  std::atomic<std::uint64_t> running{0};
  std::atomic<std::uint64_t> submitted{0};
  std::atomic<std::uint64_t> completed{0};
  std::atomic<std::uint64_t> failed{0};
  std::atomic<std::uint64_t> rejected{0};
};

namespace {

constexpr auto relaxed = std::memory_order_relaxed;

// -- worker: runs one task at a time on a scheduler thread --------------------

struct worker_state {
  static inline const char* name = "weft.background_worker";
  logger log;
  std::shared_ptr<background_pool_shared> shared;
};

caf::behavior pool_worker(caf::stateful_actor<worker_state>* self, logger log,
                          std::shared_ptr<background_pool_shared> shared) {
  self->state.log = log;
  self->state.shared = std::move(shared);
  return {
    [self](background_atom, background_task& task) {
      auto& st = self->state;
      // A task's exception stays here: logged and counted; the worker
      // keeps serving the pool.
      try {
        task.run();
        st.shared->completed.fetch_add(1, relaxed);
      } catch (const std::exception& e) {
        st.shared->failed.fetch_add(1, relaxed);
        st.log.warn("background.task_failed", {{"error", e.what()}});
      } catch (...) {
        st.shared->failed.fetch_add(1, relaxed);
        st.log.warn("background.task_failed", {{"error", "unknown exception"}});
      }
      return ok_atom_v;
    },
  };
}

// -- the pool: queue, idle workers, drain -------------------------------------

struct pool_state {
  static inline const char* name = "weft.background_pool";

  logger log;
  std::shared_ptr<background_pool_shared> shared;
  std::vector<caf::actor> idle;
  std::deque<background_task> queue;
  /// Drain requests waiting for the pool to be idle.
  std::vector<caf::typed_response_promise<ok_atom>> drains;

  pool_state() = default;
  pool_state(const pool_state&) = delete;
  pool_state& operator=(const pool_state&) = delete;

  ~pool_state() {
    if (shared)
      shared->stopped.store(true);
  }

  bool busy() const {
    return !queue.empty() || shared->running.load(relaxed) > 0;
  }
};

using pool_pointer = background_pool_actor::stateful_pointer<pool_state>;

void run_on(pool_pointer self, caf::actor worker, background_task task) {
  self->state.shared->running.fetch_add(1, relaxed);
  self->request(worker, caf::infinite, background_atom_v, std::move(task))
    .then([self, worker](ok_atom) mutable {
      auto& st = self->state;
      st.shared->running.fetch_sub(1, relaxed);
      st.shared->in_pool.fetch_sub(1, relaxed);
      if (!st.queue.empty()) {
        auto next = std::move(st.queue.front());
        st.queue.pop_front();
        run_on(self, std::move(worker), std::move(next));
        return;
      }
      st.idle.push_back(std::move(worker));
      if (!st.busy()) {
        for (auto& promise : st.drains)
          promise.deliver(ok_atom_v);
        st.drains.clear();
      }
    });
}

background_pool_actor::behavior_type
pool_impl(pool_pointer self, logger log,
          std::shared_ptr<background_pool_shared> shared) {
  self->state.log = log;
  self->state.shared = std::move(shared);
  for (std::size_t i = 0; i < self->state.shared->max_running; ++i) {
    // Linked: workers stop with the pool. They never exit on their own.
    self->state.idle.push_back(
      self->spawn<caf::linked>(pool_worker, log, self->state.shared));
  }
  return {
    [self](background_atom, background_task& task) {
      auto& st = self->state;
      if (st.idle.empty()) {
        st.queue.push_back(std::move(task));
        return;
      }
      auto worker = std::move(st.idle.back());
      st.idle.pop_back();
      run_on(self, std::move(worker), std::move(task));
    },
    [self](drain_atom, caf::timespan) -> caf::result<ok_atom> {
      auto& st = self->state;
      if (!st.busy())
        return ok_atom_v;
      auto promise = self->make_response_promise<ok_atom>();
      st.drains.push_back(promise);
      return promise;
    },
  };
}

} // namespace

background_pool::background_pool(background_pool_actor actor,
                                 std::shared_ptr<background_pool_shared> shared)
  : actor_(std::move(actor)), shared_(std::move(shared)) {
}

absl::Status background_pool::submit(std::function<void()> task) const {
  if (!task)
    return make_status(errc::invalid_argument, "background task is empty");
  if (!actor_ || shared_->stopped.load())
    return make_status(errc::unavailable, "background pool is stopped");
  // Take a place first, so the bound holds across concurrent callers and
  // the caller learns of a full pool at once.
  auto n = shared_->in_pool.load(relaxed);
  do {
    if (n >= shared_->capacity) {
      shared_->rejected.fetch_add(1, relaxed);
      return make_status(errc::overloaded, "background pool queue is full");
    }
  } while (!shared_->in_pool.compare_exchange_weak(n, n + 1, relaxed));
  shared_->submitted.fetch_add(1, relaxed);
  caf::anon_send(actor_, background_atom_v, background_task{std::move(task)});
  return absl::OkStatus();
}

background_pool_stats background_pool::stats() const {
  background_pool_stats out;
  if (!shared_)
    return out;
  out.submitted = shared_->submitted.load(relaxed);
  out.completed = shared_->completed.load(relaxed);
  out.failed = shared_->failed.load(relaxed);
  out.rejected = shared_->rejected.load(relaxed);
  out.running = shared_->running.load(relaxed);
  auto in_pool = shared_->in_pool.load(relaxed);
  out.queued = in_pool > out.running ? in_pool - out.running : 0;
  return out;
}

std::size_t background_pool::max_running() const noexcept {
  return shared_ ? shared_->max_running : 0;
}

background_pool spawn_background_pool(caf::actor_system& sys, logger log,
                                      background_pool_options opts) {
  auto running = opts.max_running != 0
                   ? opts.max_running
                   : std::max<std::size_t>(1, sys.scheduler().num_workers());
  auto shared = std::make_shared<background_pool_shared>(running,
                                                         opts.max_queued);
  auto actor = sys.spawn(pool_impl, log, shared);
  return background_pool{std::move(actor), std::move(shared)};
}

} // namespace weft
