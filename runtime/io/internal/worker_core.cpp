#include "runtime/io/internal/worker_core.hpp"

#include <sched.h>
#include <sys/epoll.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "runtime/io/internal/reactor.hpp"

namespace weft::io::internal {

namespace {

/// Another worker steals only from a queue at least this long, and an
/// enqueueing worker wakes a sleeping one only then. A stolen job is a
/// connection's actor moved away from the thread that reads its socket
/// (its memory, its handler's mailbox and its writes then cross cores):
/// worth it for a real backlog, not for the few jobs of an ordinary turn.
/// 16 against 2: weftd's CPU per echo -10%, messages/s +3-5% (16 B, 100
/// connections x 16 in flight, with the echo pool on same_core); a worker
/// stuck in one long job is still helped (help_interval).
constexpr std::size_t spare_jobs = 16;

/// Jobs a worker runs between two polls of its sockets when it never runs
/// out of jobs: the bound on how long ready sockets wait.
constexpr unsigned poll_every = 32;

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "weft: scheduler worker: %s failed: %s\n", what,
               std::strerror(errno));
  std::abort();
}

} // namespace

std::shared_ptr<worker_core> worker_core::make() {
  unique_fd epoll{::epoll_create1(EPOLL_CLOEXEC)};
  if (!epoll)
    die("epoll_create1");
  auto spot = parking_spot::make();
  if (!spot.ok())
    die("eventfd");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = reactor::wake_tag;
  if (::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, (*spot)->fd(), &ev) != 0)
    die("epoll_ctl(eventfd)");
  return std::make_shared<worker_core>(std::move(epoll), std::move(*spot));
}

worker_core::worker_core(unique_fd epoll, std::shared_ptr<parking_spot> spot)
  : epoll_(std::move(epoll)), spot_(std::move(spot)) {}

std::size_t worker_core::append(caf::resumable* job) {
  std::lock_guard<std::mutex> guard{mutex_};
  jobs_.push_back(job);
  return queued_.fetch_add(1) + 1;
}

void worker_core::push_and_wake(caf::resumable* job) {
  append(job);
  spot_->unpark();
}

void worker_core::push_anywhere(caf::resumable* job, std::size_t count,
                                core_at cores,
                                std::atomic<std::size_t>& turn) {
  for (std::size_t i = 0; i < count; ++i) {
    auto& core = cores(i);
    if (core.spot_->parked()) {
      core.push_and_wake(job);
      return;
    }
  }
  cores(turn.fetch_add(1, std::memory_order_relaxed) % count)
    .push_and_wake(job);
}

void worker_core::attach(reactor* r) noexcept {
  attached_.store(r);
  spot_->unpark();
}

void worker_core::push_local(caf::resumable* job, std::size_t self,
                             std::size_t count, core_at cores) {
  if (append(job) < spare_jobs)
    return;
  for_others(self, count, cores, [](worker_core& other) {
    if (!other.spot_->parked())
      return false;
    other.spot_->unpark();
    return true;
  });
}

caf::resumable* worker_core::pop() {
  if (queued_.load(std::memory_order_relaxed) == 0)
    return nullptr;
  std::lock_guard<std::mutex> guard{mutex_};
  if (jobs_.empty())
    return nullptr;
  auto* job = jobs_.front();
  jobs_.pop_front();
  queued_.fetch_sub(1);
  return job;
}

caf::resumable* worker_core::steal_from(std::size_t self, std::size_t count,
                                        core_at cores) {
  caf::resumable* job = nullptr;
  for_others(self, count, cores, [&job](worker_core& victim) {
    if (victim.queued_.load(std::memory_order_relaxed) < spare_jobs)
      return false;
    std::lock_guard<std::mutex> guard{victim.mutex_};
    if (victim.jobs_.size() < spare_jobs)
      return false;
    job = victim.jobs_.back();
    victim.jobs_.pop_back();
    victim.queued_.fetch_sub(1);
    return true;
  });
  return job;
}

bool worker_core::others_have_spare(std::size_t self, std::size_t count,
                                    core_at cores) {
  return for_others(self, count, cores, [](worker_core& other) {
    return other.queued_.load() >= spare_jobs;
  });
}

bool worker_core::others_running(std::size_t self, std::size_t count,
                                 core_at cores) {
  return for_others(self, count, cores, [](worker_core& other) {
    return !other.spot_->parked()
           && other.attached_.load(std::memory_order_relaxed) != nullptr;
  });
}

void worker_core::enter() noexcept {
  while (!try_enter())
    std::this_thread::yield(); // a helper's visit is one short poll
}

void worker_core::take_back_locked(reactor* r) {
  r->finish_on_worker(unit_);
  attached_.store(nullptr);
  claimed_.store(false);
  leave();
}

void worker_core::detach_locked(reactor* r) {
  take_back_locked(r);
  r->signal_detached(); // last: the reactor may be gone right after
}

void worker_core::release_from_this_worker(reactor* r) {
  enter();
  take_back_locked(r);
}

void worker_core::sleep(caf::execution_unit* unit, std::size_t self,
                        std::size_t count, core_at cores) {
  // With another worker running, wake up in time to see whether it is
  // stuck (help). With none running, still look every watch_interval: one
  // may wake up and start a long job while we sleep, and nothing would
  // wake us to serve its sockets (a 200 ms handler held up its worker's
  // connections for all of it; one worker alone has no one to help).
  int max_wait = others_running(self, count, cores)
                   ? static_cast<int>(help_interval.count())
                 : count > 1 ? static_cast<int>(watch_interval.count())
                             : -1;
  auto busy = [&] {
    return queued_.load() > 0 || others_have_spare(self, count, cores);
  };
  if (attached_.load(std::memory_order_acquire) != nullptr) {
    if (!try_enter()) {
      std::this_thread::yield(); // a helper is in our reactor for a moment
      return;
    }
    if (auto* r = attached_.load(std::memory_order_acquire)) {
      since_poll_ = 0;
      r->poll(unit, true, busy, max_wait);
      if (r->stopping())
        detach_locked(r);
      else
        leave();
      return;
    }
    leave();
  }
  spot_->park();
  if (busy() || attached_.load() != nullptr) {
    spot_->leave();
    return;
  }
  epoll_event ev{};
  int n = ::epoll_wait(epoll_.get(), &ev, 1, max_wait);
  spot_->leave();
  if (n > 0)
    spot_->drain(); // only the spot's eventfd is watched without a reactor
}

caf::resumable* worker_core::help(caf::execution_unit* unit, std::size_t self,
                                  std::size_t count, core_at cores) {
  if (seen_turns_.size() != count) {
    seen_turns_.assign(count, 0);
    seen_since_.assign(count, clock::time_point{});
  }
  auto now = clock::now();
  for (std::size_t i = 1; i < count; ++i) {
    auto at = (self + i) % count;
    auto& other = cores(at);
    auto turns = other.turns_.load(std::memory_order_relaxed);
    if (other.spot_->parked() || turns != seen_turns_[at]) {
      seen_turns_[at] = turns;
      seen_since_[at] = now;
      continue;
    }
    if (now - seen_since_[at] < help_interval)
      continue;
    // Stuck in one job: serve its sockets and commands for it, and take
    // its jobs, the last one included.
    if (other.attached_.load(std::memory_order_acquire) != nullptr
        && other.try_enter()) {
      if (auto* r = other.attached_.load(std::memory_order_acquire);
          r != nullptr && !r->stopping()) {
        r->run_inbox(unit);
        if (!r->stopping())
          r->poll(unit, false, [] { return false; }, -1, true);
      }
      other.leave();
    }
    if (auto* job = other.pop())
      return job;
  }
  return nullptr;
}

caf::resumable* worker_core::next_job(caf::execution_unit* unit,
                                      std::size_t self, std::size_t count,
                                      core_at cores) {
  if (unit_ == nullptr) {
    unit_ = unit;
    thread_.store(std::this_thread::get_id(), std::memory_order_relaxed);
  }
  for (;;) {
    // Only this thread writes it; others read it (help).
    turns_.store(turns_.load(std::memory_order_relaxed) + 1,
                 std::memory_order_relaxed);
    if (attached_.load(std::memory_order_acquire) != nullptr && try_enter()) {
      if (auto* r = attached_.load(std::memory_order_acquire)) {
        // Writes what the jobs run so far handed over once the queue is
        // empty (or every poll_every jobs): one burst of writes per batch
        // of reads, so the peers wake once per burst rather than once per
        // reply (+15-20% HTTP requests/s on one core against writing after
        // every job; the waker pays for each wake-up in sendmsg).
        bool drained = queued_.load(std::memory_order_relaxed) == 0;
        if ((drained || since_poll_ + 1 >= poll_every)
            && r->inbox()->pending()) {
          r->run_inbox(unit);
          // Those writes woke their readers, often on this CPU (the
          // kernel places a socket's reader beside its writer): let them
          // read now. Without it, on two cores shared with a local load
          // generator, the generator waited out whole slices of a worker
          // while the other core idled (12-13% idle each; 2-4% with it).
          if (r->options().yield_after_writes)
            ::sched_yield();
        }
        if (++since_poll_ >= poll_every && !r->stopping()) {
          since_poll_ = 0;
          r->poll(unit, false, [] { return false; });
        }
        if (r->stopping()) {
          detach_locked(r);
          continue;
        }
      }
      leave();
    }
    if (auto* job = pop())
      return job;
    if (auto* job = steal_from(self, count, cores))
      return job;
    sleep(unit, self, count, cores);
    if (count > 1)
      if (auto* job = help(unit, self, count, cores))
        return job;
  }
}

} // namespace weft::io::internal
