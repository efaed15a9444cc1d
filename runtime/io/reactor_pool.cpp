#include "runtime/io/reactor_pool.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <thread>

#include <absl/strings/str_cat.h>
#include <caf/abstract_actor.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include "runtime/background_task.hpp"
#include "runtime/type_ids.hpp"

#include "runtime/error_bridge.hpp"
#include "runtime/io/internal/embedded_policy.hpp"
#include "runtime/io/internal/reactor.hpp"
#include "runtime/io/internal/socket_ops.hpp"

namespace weft::io {

namespace {

/// The cores of `sys`'s workers, all claimed for one pool, when the system
/// runs weft's scheduler and no other pool has them; else empty.
std::vector<std::shared_ptr<internal::worker_core>>
claim_workers(caf::actor_system& sys) {
  auto cores = internal::worker_cores(sys);
  for (std::size_t i = 0; i < cores.size(); ++i) {
    if (!cores[i]->claim()) {
      for (std::size_t j = 0; j < i; ++j)
        cores[j]->unclaim();
      return {};
    }
  }
  return cores;
}

} // namespace

absl::StatusOr<std::unique_ptr<reactor_pool>>
reactor_pool::start(caf::actor_system& sys, reactor_options opts) {
  auto pool = std::make_unique<reactor_pool>(passkey{}, sys, opts);
  if (opts.on_workers) {
    auto cores = claim_workers(sys);
    if (!cores.empty()) {
      // One reactor per worker; the relay has nothing to save there.
      for (auto& core : cores)
        pool->reactors_.push_back(
          internal::reactor::make_on(*pool, pool->opts_, std::move(core)));
      for (auto& r : pool->reactors_)
        r->start();
      pool->on_workers_ = true;
      return pool;
    }
  }
  std::size_t threads = opts.threads;
  if (threads == 0)
    threads = std::max(1u, std::thread::hardware_concurrency());
  for (std::size_t i = 0; i < threads; ++i) {
    auto made = internal::reactor::make(*pool, pool->opts_);
    if (!made.ok())
      return made.status(); // the pool's destructor joins those started
    pool->reactors_.push_back(std::move(*made));
    if (pool->opts_.relay) {
      auto relay = sys.spawn([](caf::event_based_actor* self) -> caf::behavior {
        return {
          [](background_atom, background_task& task) { task.run(); },
          [self](retire_atom) { self->quit(); },
        };
      });
      pool->relays_.push_back(relay);
      pool->reactors_.back()->set_relay(std::move(relay));
    }
    pool->reactors_.back()->start();
  }
  return pool;
}

reactor_pool::reactor_pool(passkey, caf::actor_system& sys,
                           reactor_options opts)
  : system_(sys), opts_(std::move(opts)) {}

reactor_pool::~reactor_pool() {
  stop();
}

void reactor_pool::stop() {
  if (stopped_.exchange(true))
    return;
  // Ask all first so that the reactors shut down in parallel.
  for (auto& r : reactors_)
    r->inbox()->request_stop();
  for (auto& r : reactors_)
    r->stop();
  // After the reactors' last messages, which are already in their mailboxes.
  for (auto& relay : relays_)
    caf::anon_send(relay, retire_atom_v);
  relays_.clear();
}

namespace {

/// Resolves `host:port` into `addr` and opens a non-blocking TCP socket of
/// its family (`passive`: for listening).
absl::StatusOr<unique_fd>
open_stream_socket(absl::string_view host, std::uint16_t port, bool passive,
                   internal::socket_address& addr) {
  auto resolved = internal::resolve(host, port, passive);
  if (!resolved.ok())
    return resolved.status();
  addr = *resolved;
  unique_fd fd{
    ::socket(addr.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)};
  if (!fd)
    return internal::errno_status("socket", errno);
  return fd;
}

} // namespace

absl::StatusOr<std::shared_ptr<listener>>
reactor_pool::listen(absl::string_view host, std::uint16_t port,
                     caf::actor owner, framer_factory make_framer,
                     channel_options opts) {
  if (!owner || !make_framer)
    return make_status(errc::invalid_argument,
                       "listen needs an owner and a framer factory");
  if (stopped_.load())
    return make_status(errc::unavailable, "the reactor pool is stopped");
  internal::socket_address addr;
  auto opened = open_stream_socket(host, port, true, addr);
  if (!opened.ok())
    return opened.status();
  auto fd = std::move(*opened);
  int on = 1;
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0)
    return internal::errno_status("setsockopt(SO_REUSEADDR)", errno);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr.storage),
             addr.length)
      != 0)
    return internal::errno_status(absl::StrCat("bind ", host, ":", port),
                                  errno);
  if (::listen(fd.get(), opts_.listen_backlog) != 0)
    return internal::errno_status("listen", errno);
  auto bound = internal::local_port(fd.get());
  auto& home = reactors_[next_reactor_.fetch_add(1) % reactors_.size()];
  auto result = std::make_shared<listener>(
    listener::passkey{}, next_id(), std::move(fd), bound, owner,
    std::move(make_framer), opts, home.get(), home->inbox());
  // weak_ptr: the owner's attachable must not keep the listener alive.
  std::weak_ptr<listener> weak = result;
  owner->attach_functor([weak] {
    if (auto self = weak.lock())
      self->close();
  });
  if (!home->inbox()->post(
        {internal::command_kind::add_listener, nullptr, result, {}}))
    return make_status(errc::unavailable, "the reactor pool is stopped");
  return result;
}

absl::StatusOr<std::shared_ptr<channel>>
reactor_pool::connect(absl::string_view host, std::uint16_t port,
                      absl::Duration timeout, framer_factory make_framer,
                      channel_options opts) {
  if (!make_framer)
    return make_status(errc::invalid_argument,
                       "connect needs a framer factory");
  if (stopped_.load())
    return make_status(errc::unavailable, "the reactor pool is stopped");
  internal::socket_address addr;
  auto opened = open_stream_socket(host, port, false, addr);
  if (!opened.ok())
    return opened.status();
  auto fd = std::move(*opened);
  auto target = absl::StrCat(host, ":", port);
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr.storage),
                addr.length)
      != 0) {
    if (errno != EINPROGRESS)
      return internal::errno_status(absl::StrCat("connect ", target), errno);
    auto deadline
      = std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(timeout);
    for (;;) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0)
        return make_status(errc::deadline_exceeded,
                           absl::StrCat("connect ", target, " timed out after ",
                                        absl::FormatDuration(timeout)));
      pollfd pfd{fd.get(), POLLOUT, 0};
      int rc = ::poll(&pfd, 1,
                      static_cast<int>(std::min<std::chrono::milliseconds::rep>(
                        left.count(), 60'000)));
      if (rc < 0 && errno == EINTR)
        continue;
      if (rc < 0)
        return internal::errno_status("poll", errno);
      if (rc > 0)
        break;
    }
    int err = 0;
    socklen_t length = sizeof(err);
    if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &length) != 0)
      return internal::errno_status("getsockopt(SO_ERROR)", errno);
    if (err != 0)
      return internal::errno_status(absl::StrCat("connect ", target), err);
  }
  if (auto st = internal::configure_stream(fd.get(), opts); !st.ok())
    return st;
  auto cutter = make_framer();
  if (!cutter)
    return make_status(errc::invalid_argument,
                       "the framer factory returned no framer");
  return adopt(std::move(fd), std::move(cutter),
               std::make_shared<const channel_options>(std::move(opts)));
}

std::shared_ptr<channel>
reactor_pool::adopt(unique_fd fd, std::unique_ptr<framer> cutter,
                    std::shared_ptr<const channel_options> opts) {
  auto index = next_reactor_.fetch_add(1) % reactors_.size();
  auto& home = reactors_[index];
  auto remote = internal::peer_name(fd.get());
  return std::make_shared<channel>(channel::passkey{}, next_id(), std::move(fd),
                                   std::move(remote), std::move(cutter),
                                   std::move(opts), home.get(), index,
                                   home->inbox());
}

} // namespace weft::io
