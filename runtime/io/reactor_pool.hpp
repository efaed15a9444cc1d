#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include <absl/status/statusor.h>
#include <absl/strings/string_view.h>
#include <absl/time/time.h>
#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "runtime/io/channel.hpp"
#include "runtime/io/channel_options.hpp"
#include "runtime/io/framer.hpp"
#include "runtime/io/listener.hpp"
#include "runtime/io/reactor_options.hpp"

namespace weft::io {

namespace internal {
class reactor;
} // namespace internal

/// weft's own socket layer: N reactors, each an epoll loop, owning the
/// sockets and handing whole units (cut by a per-connection framer) to one
/// CAF actor per connection. The reactors run on threads of their own, or
/// on the scheduler's workers when the system runs weft's scheduler
/// (embed_reactors). See docs/architecture.md, "Reactor".
///
/// Created and stopped by one owner thread (the node, or a test); nothing is
/// global. stop() (or the destructor) must run before the actor system it
/// was given is destroyed.
class reactor_pool {
public:
  /// Starts `opts.threads` reactors (0: one per core). `sys` is only used to
  /// send messages and must outlive the pool. Owner thread.
  static absl::StatusOr<std::unique_ptr<reactor_pool>>
  start(caf::actor_system& sys, reactor_options opts = {});

  /// Only start() can make the key, so only start() constructs pools.
  class passkey {
    friend class reactor_pool;
    passkey() = default;
  };

  reactor_pool(passkey, caf::actor_system& sys, reactor_options opts);

  reactor_pool(const reactor_pool&) = delete;
  reactor_pool& operator=(const reactor_pool&) = delete;

  /// Calls stop(). Owner thread.
  ~reactor_pool();

  /// Closes every listener and started channel (their owners receive
  /// io_closed with `unavailable`) and joins the reactor threads. Channel
  /// handles held elsewhere stay valid but inert. Owner thread; idempotent.
  void stop();

  /// Binds `host:port` (port 0: the kernel picks; see listener::port) with
  /// SO_REUSEADDR and accepts on one reactor. Accepted sockets go to the
  /// reactors round-robin and `owner` receives (io_accepted_atom,
  /// channel_ref) for each. `make_framer` runs on reactor threads. Any
  /// thread while the pool runs.
  absl::StatusOr<std::shared_ptr<listener>>
  listen(absl::string_view host, std::uint16_t port, caf::actor owner,
         framer_factory make_framer, channel_options opts = {});

  /// Connects to `host:port`, blocking the calling thread until connected,
  /// refused, or `timeout` passed (then deadline_exceeded). The channel
  /// reads nothing until channel::start. Any non-reactor thread.
  absl::StatusOr<std::shared_ptr<channel>>
  connect(absl::string_view host, std::uint16_t port, absl::Duration timeout,
          framer_factory make_framer, channel_options opts = {});

  /// Number of reactors. Any thread.
  std::size_t size() const noexcept {
    return reactors_.size();
  }

  /// Whether the reactors run on the actor system's workers
  /// (reactor_options::on_workers) rather than on threads of their own.
  /// Any thread.
  bool on_workers() const noexcept {
    return on_workers_;
  }

  /// The actor system messages go to. Any thread.
  caf::actor_system& system() const noexcept {
    return system_;
  }

  /// Makes a channel for a connected socket on the next reactor
  /// (round-robin). Reactor threads (accept) and connect(). The options
  /// are shared: a listener's connections hold one copy between them.
  std::shared_ptr<channel> adopt(unique_fd fd,
                                 std::unique_ptr<framer> cutter,
                                 std::shared_ptr<const channel_options> opts);

private:
  std::uint64_t next_id() noexcept {
    return next_id_.fetch_add(1, std::memory_order_relaxed);
  }

  caf::actor_system& system_;
  reactor_options opts_;
  std::vector<std::unique_ptr<internal::reactor>> reactors_;
  /// One per reactor when messages to owners go through relays.
  std::vector<caf::actor> relays_;
  std::atomic<std::uint64_t> next_id_{1};
  std::atomic<std::size_t> next_reactor_{0};
  std::atomic<bool> stopped_{false};
  bool on_workers_ = false;
};

} // namespace weft::io
