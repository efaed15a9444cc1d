#pragma once

#include <sys/uio.h>

#include <chrono>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include <absl/container/flat_hash_map.h>
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

/// One reactor: an epoll loop on its own thread, woken through its inbox's
/// eventfd. It owns (through shared_ptrs in its maps) every started channel
/// and every listener assigned to it, and is the only thread that touches
/// their sockets. Made and joined by reactor_pool.
class reactor {
public:
  using clock = std::chrono::steady_clock;

  /// Makes the epoll instance and the inbox; the thread starts in start().
  static absl::StatusOr<std::unique_ptr<reactor>>
  make(reactor_pool& pool, const reactor_options& opts);

  reactor(reactor_pool& pool, const reactor_options& opts, unique_fd epoll,
          std::shared_ptr<reactor_inbox> inbox);

  reactor(const reactor&) = delete;
  reactor& operator=(const reactor&) = delete;

  /// Joins the thread if stop() was not called. Owner thread.
  ~reactor();

  /// Starts the loop thread. Owner thread, once.
  void start();

  /// Asks the loop to close everything and end, then joins it. Owner thread.
  void stop();

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
  unique_fd epoll_;
  std::shared_ptr<reactor_inbox> inbox_;
  std::thread thread_;
  bool stopping_ = false;
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
};

} // namespace weft::io::internal
