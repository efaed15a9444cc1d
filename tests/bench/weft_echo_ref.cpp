// weft_echo_ref: the reference for the echo benchmarks. A minimal
// single-thread epoll echo server speaking weft's framing (preface +
// SETTINGS, MESSAGE in, REPLY MESSAGE out) through runtime/protocol's codec
// (tests/bench/echo_responder.hpp). No actors, no CAF.
//
//   weft_echo_ref [--port N] [--max-seconds S]
//
// Listens on 127.0.0.1 (port 0 picks one), prints "listening PORT", and runs
// until SIGINT / SIGTERM or --max-seconds.

#include <signal.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "tests/bench/bench_wire.hpp"
#include "tests/bench/echo_responder.hpp"
#include "tests/bench/out_queue.hpp"
#include "runtime/io/unique_fd.hpp"

namespace {

using weft::bench::echo_request;
using weft::bench::echo_responder;
using weft::io::unique_fd;

constexpr std::size_t read_size = 64 * 1024;
struct ref_connection {
  unique_fd fd;
  echo_responder responder;
  weft::bench::out_queue out;
  bool want_out = false;
};

void update_interest(int ep, ref_connection& c) {
  bool want = !c.out.empty();
  if (want == c.want_out)
    return;
  c.want_out = want;
  epoll_event ev{};
  ev.events = EPOLLIN | (want ? EPOLLOUT : 0u);
  ev.data.fd = c.fd.get();
  ::epoll_ctl(ep, EPOLL_CTL_MOD, c.fd.get(), &ev);
}

/// Reads what the socket has, answers every request; false to close.
bool on_readable(int ep, ref_connection& c, std::vector<std::uint8_t>& buf,
                 std::vector<echo_request>& requests) {
  for (int round = 0; round < 4; ++round) {
    auto n = ::read(c.fd.get(), buf.data(), buf.size());
    if (n == 0)
      return false;
    if (n < 0)
      return errno == EAGAIN || errno == EINTR;
    auto bytes = weft::shared_bytes{std::vector<std::uint8_t>(
      buf.begin(), buf.begin() + n)};
    requests.clear();
    if (!c.responder.on_bytes(std::move(bytes), requests).ok())
      return false;
    for (const auto& req : requests)
      c.responder.reply(req, req.body);
    if (c.responder.wants_write()
        && !c.out.write(c.fd.get(), c.responder.take_output()))
      return false;
    update_interest(ep, c);
    if (static_cast<std::size_t>(n) < buf.size())
      break;
  }
  return true;
}

int run(std::uint16_t port, long max_seconds) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigprocmask(SIG_BLOCK, &signals, nullptr);
  unique_fd sig{::signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK)};
  auto listening = weft::bench::listen_loopback(port, true);
  if (!listening.ok()) {
    std::fprintf(stderr, "weft_echo_ref: %s\n",
                 std::string{listening.status().message()}.c_str());
    return 1;
  }
  unique_fd lfd{*listening};
  unique_fd ep{::epoll_create1(EPOLL_CLOEXEC)};
  for (int fd : {lfd.get(), sig.get()}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    ::epoll_ctl(ep.get(), EPOLL_CTL_ADD, fd, &ev);
  }
  std::printf("listening %u\n", weft::bench::local_port(lfd.get()));
  std::fflush(stdout);
  // Indexed by fd: the reference's per-connection lookup is one load.
  std::vector<std::unique_ptr<ref_connection>> conns;
  std::vector<std::uint8_t> buf(read_size);
  std::vector<echo_request> requests;
  std::vector<epoll_event> events(256);
  auto deadline = weft::bench::now_ns() + max_seconds * 1'000'000'000;
  while (weft::bench::now_ns() < deadline) {
    int n = ::epoll_wait(ep.get(), events.data(),
                         static_cast<int>(events.size()), 1000);
    for (int i = 0; i < n; ++i) {
      int fd = events[static_cast<std::size_t>(i)].data.fd;
      auto what = events[static_cast<std::size_t>(i)].events;
      if (fd == sig.get())
        return 0;
      if (fd == lfd.get()) {
        for (int k = 0; k < 256; ++k) {
          int cfd = ::accept4(lfd.get(), nullptr, nullptr,
                              SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (cfd < 0)
            break;
          int one = 1;
          ::setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
          auto c = std::make_unique<ref_connection>();
          c->fd.reset(cfd);
          if (!c->out.write(cfd, c->responder.take_output()))
            continue;
          epoll_event ev{};
          ev.events = EPOLLIN | (c->out.empty() ? 0u : EPOLLOUT);
          c->want_out = !c->out.empty();
          ev.data.fd = cfd;
          ::epoll_ctl(ep.get(), EPOLL_CTL_ADD, cfd, &ev);
          if (conns.size() <= static_cast<std::size_t>(cfd))
            conns.resize(static_cast<std::size_t>(cfd) + 1);
          conns[static_cast<std::size_t>(cfd)] = std::move(c);
        }
        continue;
      }
      auto& slot = conns[static_cast<std::size_t>(fd)];
      if (!slot)
        continue;
      bool keep = true;
      if (what & (EPOLLERR | EPOLLHUP))
        keep = false;
      if (keep && (what & EPOLLOUT)) {
        keep = slot->out.flush(fd);
        if (keep)
          update_interest(ep.get(), *slot);
      }
      if (keep && (what & EPOLLIN))
        keep = on_readable(ep.get(), *slot, buf, requests);
      if (!keep)
        slot.reset(); // closing the fd removes it from the epoll set
    }
  }
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  std::uint16_t port = 0;
  long max_seconds = 3600;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--port")
      port = static_cast<std::uint16_t>(std::atoi(argv[i + 1]));
    else if (flag == "--max-seconds")
      max_seconds = std::atol(argv[i + 1]);
    else {
      std::fprintf(stderr, "usage: weft_echo_ref [--port N] [--max-seconds S]\n");
      return 2;
    }
  }
  return run(port, max_seconds);
}
