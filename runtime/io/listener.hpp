#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include <caf/actor.hpp>

#include "runtime/io/channel_options.hpp"
#include "runtime/io/framer.hpp"
#include "runtime/io/unique_fd.hpp"

namespace weft::io {

class reactor_pool;

namespace internal {
class reactor;
class reactor_inbox;
} // namespace internal

/// A listening TCP socket served by one reactor. Each accepted connection
/// becomes a channel on a reactor picked round-robin, and the owner receives
/// `(io_accepted_atom, channel_ref)`; the channel reads nothing until the
/// owner (or the actor it spawns) calls channel::start. Shared (shared_ptr)
/// by its reactor, which accepts on it, and by whoever called listen, who
/// may close it. The listener also closes when its owner terminates.
class listener : public std::enable_shared_from_this<listener> {
public:
  /// Only the reactor pool makes listeners.
  class passkey {
    friend class reactor_pool;
    passkey() = default;
  };

  listener(passkey, std::uint64_t id, unique_fd fd,
           std::uint16_t port, caf::actor owner, framer_factory make_framer,
           channel_options opts, internal::reactor* home,
           std::shared_ptr<internal::reactor_inbox> inbox);

  listener(const listener&) = delete;
  listener& operator=(const listener&) = delete;

  ~listener();

  /// The bound port (the one the kernel picked for port 0). Any thread.
  std::uint16_t port() const noexcept {
    return port_;
  }

  /// Unique among the channels and listeners of one pool. Any thread.
  std::uint64_t id() const noexcept {
    return id_;
  }

  /// Connections accepted so far. Any thread.
  std::uint64_t accepted() const noexcept {
    return accepted_.load(std::memory_order_relaxed);
  }

  /// Accept errors so far (each resource error also pauses accepting for
  /// reactor_options::accept_backoff). Any thread.
  std::uint64_t accept_errors() const noexcept {
    return accept_errors_.load(std::memory_order_relaxed);
  }

  /// Stops accepting and closes the socket; accepted channels live on.
  /// Any thread; idempotent.
  void close();

private:
  friend class internal::reactor;

  // -- reactor thread only ---------------------------------------------------

  void on_add();
  void on_events(std::uint32_t events);
  void on_timer();
  void on_close();
  bool finished() const noexcept {
    return finished_;
  }

  const std::uint64_t id_;
  const std::uint16_t port_;
  /// Shared by every connection it accepts.
  const std::shared_ptr<const channel_options> opts_;
  const framer_factory make_framer_;
  // Non-owning: only dereferenced on the reactor's own thread.
  internal::reactor* const home_;
  // shared_ptr: see channel::inbox_.
  const std::shared_ptr<internal::reactor_inbox> inbox_;

  std::atomic<std::uint64_t> accepted_{0};
  std::atomic<std::uint64_t> accept_errors_{0};

  // Reactor thread only (before on_add: the pool).
  unique_fd fd_;
  caf::actor owner_;
  bool finished_ = false;
  bool paused_ = false;
};

} // namespace weft::io
