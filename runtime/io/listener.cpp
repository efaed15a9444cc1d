#include "runtime/io/listener.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>

#include <caf/send.hpp>

#include "runtime/io/channel.hpp"
#include "runtime/io/channel_ref.hpp"
#include "runtime/io/internal/reactor.hpp"
#include "runtime/io/internal/reactor_inbox.hpp"
#include "runtime/io/internal/socket_ops.hpp"
#include "runtime/io/reactor_pool.hpp"
#include "runtime/type_ids.hpp"

namespace weft::io {

namespace {

/// Errors that concern one pending connection only: skip it, keep going.
bool per_connection_error(int err) {
  switch (err) {
    case ECONNABORTED:
    case EPROTO:
    case EPERM:
    case ENETDOWN:
    case ENOPROTOOPT:
    case EHOSTDOWN:
    case ENONET:
    case EHOSTUNREACH:
    case EOPNOTSUPP:
    case ENETUNREACH:
    case ETIMEDOUT:
      return true;
    default:
      return false;
  }
}

} // namespace

listener::listener(passkey, std::uint64_t id, unique_fd fd,
                   std::uint16_t port, caf::actor owner,
                   framer_factory make_framer, channel_options opts,
                   internal::reactor* home,
                   std::shared_ptr<internal::reactor_inbox> inbox)
  : id_(id), port_(port),
    opts_(std::make_shared<const channel_options>(std::move(opts))),
    make_framer_(std::move(make_framer)),
    home_(home), inbox_(std::move(inbox)), fd_(std::move(fd)),
    owner_(std::move(owner)) {}

listener::~listener() = default;

void listener::close() {
  inbox_->post(
    {internal::command_kind::close_listener, nullptr, shared_from_this(), {}});
}

void listener::on_add() {
  if (finished_)
    return;
  if (!home_->watch(fd_.get(), id_, EPOLLIN, true)) {
    home_->options().log.error(
      "io.listener.watch_failed",
      {{"port", port_}, {"error", internal::errno_status("epoll_ctl", errno)}});
    on_close();
  }
}

void listener::on_events(std::uint32_t) {
  if (finished_ || paused_)
    return;
  const auto& ropts = home_->options();
  for (std::size_t i = 0; i < ropts.max_accepts_per_event; ++i) {
    int fd
      = ::accept4(fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      int err = errno;
      if (err == EAGAIN || err == EWOULDBLOCK)
        return;
      if (err == EINTR || per_connection_error(err))
        continue;
      // Out of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM) or
      // worse: stop accepting for a while instead of spinning on a socket
      // that stays readable. The kernel keeps the backlog meanwhile.
      accept_errors_.fetch_add(1, std::memory_order_relaxed);
      ropts.log.warn("io.listener.accept_paused",
                     {{"port", port_},
                      {"error", internal::errno_status("accept", err)},
                      {"backoff", ropts.accept_backoff}});
      paused_ = true;
      home_->watch(fd_.get(), id_, 0, false);
      home_->add_timer(internal::reactor::clock::now()
                         + absl::ToChronoNanoseconds(ropts.accept_backoff),
                       id_);
      return;
    }
    unique_fd conn{fd};
    if (auto st = internal::configure_stream(conn.get(), *opts_); !st.ok()) {
      ropts.log.debug("io.listener.configure_failed", {{"error", st}});
      continue;
    }
    auto cutter = make_framer_();
    if (!cutter) {
      ropts.log.error("io.listener.no_framer", {{"port", port_}});
      continue;
    }
    auto chan = home_->pool().adopt(std::move(conn), std::move(cutter), opts_);
    accepted_.fetch_add(1, std::memory_order_relaxed);
    auto chan_id = chan->id();
    home_->deliver(owner_,
                   caf::make_message(io_accepted_atom_v,
                                     channel_ref{std::move(chan), chan_id}));
  }
}

void listener::on_timer() {
  if (finished_ || !paused_)
    return;
  paused_ = false;
  if (!home_->watch(fd_.get(), id_, EPOLLIN, false))
    on_close();
}

void listener::on_close() {
  if (finished_)
    return;
  finished_ = true;
  if (fd_)
    home_->unwatch(fd_.get());
  fd_.reset();
  owner_ = nullptr;
}

} // namespace weft::io
