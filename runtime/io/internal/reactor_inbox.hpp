#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include <absl/status/statusor.h>
#include <caf/actor.hpp>

#include "runtime/io/unique_fd.hpp"

namespace weft::io {
class channel;
class listener;
} // namespace weft::io

namespace weft::io::internal {

/// What another thread asks a reactor to do.
enum class command_kind : std::uint8_t {
  start_channel,  ///< register `chan` and read for `owner`
  flush_channel,  ///< write what `chan` has queued
  resume_read,    ///< `chan` may read again (back-pressure released)
  close_channel,  ///< graceful close of `chan`
  abort_channel,  ///< immediate close of `chan` with RST
  add_listener,   ///< start accepting on `lst`
  close_listener, ///< stop accepting on `lst` and close its socket
};

/// One request to a reactor. The shared_ptrs keep their target alive until
/// the reactor has handled the command.
struct command {
  command_kind kind;
  std::shared_ptr<channel> chan;
  std::shared_ptr<listener> lst;
  caf::actor owner;
};

/// Where one thread sleeps in epoll_wait, with the eventfd that wakes it.
/// The sleeper calls park(), looks for work once more, and only then
/// waits; whoever adds work for it calls unpark() afterwards, which writes
/// the eventfd only when the sleeper is parked, at most once per sleep. (Both
/// sides use sequentially consistent operations, so one of them always sees
/// the other.) Shared by a reactor (or a scheduler worker running one) and
/// everything that posts to it.
class parking_spot {
public:
  /// Makes a spot with a fresh non-blocking eventfd.
  static absl::StatusOr<std::shared_ptr<parking_spot>> make();

  explicit parking_spot(unique_fd event_fd) : event_fd_(std::move(event_fd)) {}

  /// About to sleep: from now on unpark() writes the eventfd. Owner thread.
  void park() noexcept {
    parked_.store(true);
  }

  /// Awake again. Owner thread.
  void leave() noexcept {
    parked_.store(false, std::memory_order_relaxed);
  }

  /// Whether the owner is (about to be) asleep. Any thread.
  bool parked() const noexcept {
    return parked_.load();
  }

  /// Wakes the owner if it is parked. Any thread, after adding work.
  void unpark() noexcept;

  /// Resets the eventfd after it woke the owner. Owner thread.
  void drain() noexcept;

  /// The eventfd to watch for EPOLLIN.
  int fd() const noexcept {
    return event_fd_.get();
  }

private:
  std::atomic<bool> parked_{false};
  unique_fd event_fd_;
};

/// The thread-safe door into one reactor: a command queue whose posts
/// unpark the thread running the reactor. Shared (shared_ptr) by the reactor
/// and by every channel and listener it serves, because a channel handle can
/// outlive the reactor pool: after the reactor stopped, posts fail instead of
/// touching freed memory.
class reactor_inbox {
public:
  explicit reactor_inbox(std::shared_ptr<parking_spot> spot)
    : spot_(std::move(spot)) {}

  /// Queues `cmd` and unparks the reactor's thread. Returns false once the
  /// reactor stopped. Any thread.
  bool post(command cmd);

  /// Asks the reactor to stop. Any thread.
  void request_stop();

  /// Whether take() would find something. Any thread; cheap.
  bool pending() const noexcept {
    return pending_.load();
  }

  /// Takes every queued command. Reactor thread.
  std::vector<command> take(bool& stop_requested);

  /// Refuses every later post and returns what is still queued. Reactor
  /// thread, once, when it stops.
  std::vector<command> shut();

  /// Where the reactor's thread sleeps.
  const std::shared_ptr<parking_spot>& spot() const noexcept {
    return spot_;
  }

private:
  std::mutex mutex_;
  std::vector<command> queue_;
  bool stop_requested_ = false;
  bool shut_ = false;
  /// Set under the lock whenever queue_ or stop_requested_ has news.
  std::atomic<bool> pending_{false};
  std::shared_ptr<parking_spot> spot_;
};

} // namespace weft::io::internal
