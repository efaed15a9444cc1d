#pragma once

#include <sys/uio.h>

#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <absl/container/flat_hash_map.h>
#include <absl/functional/function_ref.h>
#include <absl/status/statusor.h>
#include <absl/types/span.h>
#include <caf/actor.hpp>
#include <caf/message.hpp>

#include "runtime/io/internal/reactor_inbox.hpp"
#include "runtime/io/unique_fd.hpp"
#include "runtime/io/reactor_options.hpp"

namespace weft::io {
class reactor_pool;
} // namespace weft::io

namespace weft::io::internal {

class worker_core;

/// One reactor: an epoll loop, woken through its inbox's parking spot. It
/// runs either on a thread of its own or between the jobs of one worker of
/// weft's scheduler (embed_reactors, worker_core). It owns (through
/// shared_ptrs in its maps) every started channel and every listener
/// assigned to it, and only the thread running it touches their sockets.
/// Made and stopped by reactor_pool.
class reactor {
public:
  using clock = std::chrono::steady_clock;

  /// epoll tag of the parking spot's eventfd; channel and listener ids
  /// start at 1.
  static constexpr std::uint64_t wake_tag = 0;

  /// A reactor on a thread of its own, started by start().
  static absl::StatusOr<std::unique_ptr<reactor>>
  make(reactor_pool& pool, const reactor_options& opts);

  /// A reactor run by the worker owning `core` (claimed by the caller),
  /// from start() on.
  static std::unique_ptr<reactor> make_on(reactor_pool& pool,
                                          const reactor_options& opts,
                                          std::shared_ptr<worker_core> core);

  reactor(reactor_pool& pool, const reactor_options& opts, unique_fd epoll,
          std::shared_ptr<worker_core> core,
          std::shared_ptr<reactor_inbox> inbox);

  reactor(const reactor&) = delete;
  reactor& operator=(const reactor&) = delete;

  /// Stops it if stop() was not called. Owner thread.
  ~reactor();

  /// Starts the loop thread, or hands the reactor to its worker. Owner
  /// thread, once.
  void start();

  /// Asks the reactor to close everything and end, and waits until it has.
  /// Owner thread (for a reactor on a worker, also that worker's thread).
  void stop();

  // -- the thread running it -------------------------------------------------

  /// One turn: waits for events (only when `may_block` and `busy` says
  /// there is nothing else to do after parking; at most until the next
  /// timer, and at most `max_wait_ms` unless that is -1), handles them, runs
  /// the inbox and the due timers. `unit`: the scheduler worker running it
  /// (whose queue gets the actors it wakes), or null on a thread of its own.
  /// `helping`: run by another worker than its own (worker_core::help),
  /// which never blocks and leaves the owner's wake-up alone.
  void poll(caf::execution_unit* unit, bool may_block,
            absl::FunctionRef<bool()> busy, int max_wait_ms = -1,
            bool helping = false);

  /// Runs the commands posted to the inbox; `unit` as for poll.
  void run_inbox(caf::execution_unit* unit);

  /// Whether stop was asked for; the runner then calls finish_on_worker
  /// (or its thread ends).
  bool stopping() const noexcept {
    return stopping_;
  }

  /// Closes everything, on the worker `unit` that ran it; once, when its
  /// worker takes it back.
  void finish_on_worker(caf::execution_unit* unit);

  /// The worker let go of it: stop() may return. Worker thread, last.
  void signal_detached();

  /// The door for other threads. Any thread.
  const std::shared_ptr<reactor_inbox>& inbox() const noexcept {
    return inbox_;
  }

  // -- reactor thread only ---------------------------------------------------

  /// Adds (`add`) or changes the epoll registration of `fd` under `id`.
  bool watch(int fd, std::uint64_t id, std::uint32_t events, bool add);

  /// Removes `fd` from the epoll set.
  void unwatch(int fd);

  /// Calls back the channel or listener `id` (on_timer) at `deadline`.
  void add_timer(clock::time_point deadline, std::uint64_t id);

  /// Scratch space for one writev.
  iovec* iov() noexcept {
    return iov_.data();
  }

  static constexpr std::size_t iov_max = IOV_MAX;

  /// Scratch space of at least `at_least` bytes for one read, shared by the
  /// reactor's channels: a channel reads into it and copies out what it
  /// keeps before it returns to the loop. Its contents are garbage (never
  /// zero-filled); it grows to the largest size asked for and is kept.
  absl::Span<std::uint8_t> read_scratch(std::size_t at_least) {
    if (scratch_size_ < at_least) {
      scratch_ = std::make_unique_for_overwrite<std::uint8_t[]>(at_least);
      scratch_size_ = at_least;
    }
    return {scratch_.get(), scratch_size_};
  }

  /// Sends `msg` to `owner` (a channel's or listener's actor). With a
  /// relay (set_relay, reactor_options::relay), queued instead and sent at
  /// the end of this turn of the loop: all of a turn's messages go to the
  /// relay actor as one, which forwards them in order, so CAF is woken once
  /// per turn instead of once per message. Every message of this reactor
  /// takes the same path, so an owner gets them in order.
  void deliver(const caf::actor& owner, caf::message msg);

  /// Sends deliver()'s messages through `relay` (an actor answering
  /// (background_atom, background_task) by running it). Owner thread,
  /// before start().
  void set_relay(caf::actor relay) {
    relay_ = std::move(relay);
  }

  /// The pool this reactor belongs to (lives longer than the loop thread).
  reactor_pool& pool() noexcept {
    return pool_;
  }

  const reactor_options& options() const noexcept {
    return opts_;
  }

private:
  struct timer {
    clock::time_point deadline;
    std::uint64_t id;
  };

  void loop();
  void run(command& cmd);
  void dispatch(std::uint64_t id, std::uint32_t events);
  int next_timeout_ms() const;
  void fire_timers();
  void shut_down();
  void flush_owners();

  reactor_pool& pool_;
  reactor_options opts_;
  /// The epoll set: owned_epoll_'s, or the worker core's.
  unique_fd owned_epoll_;
  int epoll_ = -1;
  /// Set when the reactor runs on a worker.
  std::shared_ptr<worker_core> core_;
  std::shared_ptr<reactor_inbox> inbox_;
  std::thread thread_;
  bool stopping_ = false;
  /// A reactor on a worker: whether it was handed over, and when the worker
  /// let go of it.
  bool on_worker_ = false;
  std::mutex detach_mutex_;
  std::condition_variable detach_cv_;
  bool detached_ = false;
  // Reactor thread only. Keyed by channel / listener id (never 0, which is
  // the eventfd's tag), so a stale epoll event of a closed socket finds
  // nothing instead of a dangling pointer.
  absl::flat_hash_map<std::uint64_t, std::shared_ptr<channel>> channels_;
  absl::flat_hash_map<std::uint64_t, std::shared_ptr<listener>> listeners_;
  std::vector<timer> timers_;
  std::vector<iovec> iov_;
  std::unique_ptr<std::uint8_t[]> scratch_;
  std::size_t scratch_size_ = 0;
  /// deliver()'s messages of this turn, and where they go.
  std::vector<std::pair<caf::actor, caf::message>> to_owners_;
  caf::actor relay_;
  /// The scheduler worker running this turn (poll, run_inbox), if any.
  caf::execution_unit* unit_ = nullptr;
};

} // namespace weft::io::internal
