#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <vector>

#include <caf/policy/unprofiled.hpp>
#include <caf/resumable.hpp>
#include <caf/scheduler/abstract_coordinator.hpp>
#include <caf/scheduler/coordinator.hpp>
#include <caf/scheduler/worker.hpp>

#include "runtime/io/internal/worker_core.hpp"

namespace weft::io::internal {

/// CAF scheduler policy of weft's scheduler (embed_reactors): a run queue
/// per worker, stealing from the back of a busier worker's queue, and
/// workers that sleep in epoll_wait on their reactor's sockets instead of on
/// a condition variable. Jobs made runnable on a worker stay on it, so a
/// connection's bytes, its actor and its writes share one thread.
class embedded_policy : public caf::policy::unprofiled {
public:
  struct coordinator_data {
    explicit coordinator_data(caf::scheduler::abstract_coordinator*) {}
    /// Round-robin turn of jobs from outside threads.
    std::atomic<std::size_t> turn{0};
  };

  struct worker_data {
    /// The coordinator's template for its workers; holds no core.
    explicit worker_data(caf::scheduler::abstract_coordinator*) {}

    /// Each worker copies the template and gets a core of its own.
    worker_data(const worker_data&) : core(worker_core::make()) {}

    worker_data& operator=(const worker_data&) = delete;

    std::shared_ptr<worker_core> core;
  };

  /// A job from a thread that is not a worker.
  template <class Coordinator>
  void central_enqueue(Coordinator* self, caf::resumable* job) {
    worker_core::push_anywhere(job, self->num_workers(), cores(self),
                               d(self).turn);
  }

  /// A job for one worker, from another thread.
  template <class Worker>
  void external_enqueue(Worker* self, caf::resumable* job) {
    d(self).core->push_and_wake(job);
  }

  /// A job made runnable by the worker running now.
  template <class Worker>
  void internal_enqueue(Worker* self, caf::resumable* job) {
    d(self).core->push_local(job, self->id(), self->parent()->num_workers(),
                             cores(self->parent()));
  }

  template <class Worker>
  void resume_job_later(Worker* self, caf::resumable* job) {
    internal_enqueue(self, job);
  }

  template <class Worker>
  caf::resumable* dequeue(Worker* self) {
    return d(self).core->next_job(self, self->id(),
                                  self->parent()->num_workers(),
                                  cores(self->parent()));
  }

  template <class Worker, class UnaryFunction>
  void foreach_resumable(Worker* self, UnaryFunction f) {
    d(self).core->drain_jobs(f);
  }

  template <class Coordinator, class UnaryFunction>
  void foreach_central_resumable(Coordinator*, UnaryFunction) {
    // Every job lives in some worker's queue.
  }

private:
  template <class Coordinator>
  static auto cores(Coordinator* self) {
    return [self](std::size_t i) -> worker_core& {
      return *self->worker_by_id(i)->data().core;
    };
  }
};

/// The cores of `sys`'s workers if it runs weft's scheduler, else empty.
std::vector<std::shared_ptr<worker_core>> worker_cores(caf::actor_system& sys);

} // namespace weft::io::internal

#if CAF_LOG_LEVEL == CAF_LOG_LEVEL_QUIET
/// The scheduling loop of weft's workers: CAF's own, less what serves only
/// CAF's log lines, which a CAF built quiet never writes. CAF 0.17 tags
/// every job with its actor's id at every log level: a `dynamic_cast` to
/// `abstract_actor` per job here (~1,300 instructions for our actors'
/// hierarchies), and in every resume two updates of a per-thread id table
/// under a shared spinlock (`logger::thread_local_aid`, ~540 instructions
/// per echo at one message in flight). The second is skipped by leaving
/// the thread without a current logger, for which CAF tags nothing; a
/// spawn sets it again, so it is cleared before each job when set.
template <>
inline void caf::scheduler::worker<weft::io::internal::embedded_policy>::run() {
  for (;;) {
    auto job = policy_.dequeue(this);
    if (caf::logger::current_logger() != nullptr)
      caf::logger::set_current_actor_system(nullptr);
    switch (job->resume(this, max_throughput_)) {
      case resumable::resume_later:
        policy_.resume_job_later(this, job);
        break;
      case resumable::done:
        intrusive_ptr_release(job);
        break;
      case resumable::awaiting_message:
        intrusive_ptr_release(job);
        break;
      case resumable::shutdown_execution_unit:
        return;
    }
  }
}
#endif
