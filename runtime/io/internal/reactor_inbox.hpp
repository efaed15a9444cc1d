#pragma once

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

/// The thread-safe door into one reactor: a command queue plus the eventfd
/// that wakes the reactor's epoll_wait. Shared (shared_ptr) by the reactor
/// and by every channel and listener it serves, because a channel handle can
/// outlive the reactor pool: after the reactor stopped, posts fail instead of
/// touching freed memory.
class reactor_inbox {
public:
  /// Makes an inbox with a fresh non-blocking eventfd.
  static absl::StatusOr<std::shared_ptr<reactor_inbox>> make();

  explicit reactor_inbox(unique_fd event_fd) : event_fd_(std::move(event_fd)) {}

  /// Queues `cmd`; writes the eventfd only when the queue was empty (the
  /// reactor empties the whole queue on each wake-up). Returns false once the
  /// reactor stopped. Any thread.
  bool post(command cmd);

  /// Asks the reactor to stop. Any thread.
  void request_stop();

  /// Takes every queued command and resets the eventfd. Reactor thread.
  std::vector<command> take(bool& stop_requested);

  /// Refuses every later post and returns what is still queued. Reactor
  /// thread, once, when it stops.
  std::vector<command> shut();

  /// The eventfd to watch for EPOLLIN. Reactor thread.
  int fd() const noexcept {
    return event_fd_.get();
  }

private:
  void wake();

  std::mutex mutex_;
  std::vector<command> queue_;
  bool stop_requested_ = false;
  bool shut_ = false;
  unique_fd event_fd_;
};

} // namespace weft::io::internal
