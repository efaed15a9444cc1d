// weft_load idle: opens `conns` connections to the server, completes the
// handshake and one 16-byte request to --route (default echo) on each (so
// per-connection buffers have been used once), lets them sit for `settle`
// seconds, and reports how much the server's VmRSS grew per connection.

#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "tests/bench/bench_wire.hpp"
#include "tests/bench/load_client.hpp"
#include "tests/bench/load_options.hpp"
#include "tests/bench/out_queue.hpp"
#include "runtime/io/unique_fd.hpp"

namespace weft::bench {

namespace {

constexpr std::size_t batch = 500;

struct idle_conn {
  io::unique_fd fd;
  load_client client;
  out_queue out;
  bool sent = false;
  bool done = false;
};

} // namespace

int run_idle(const load_options& opt) {
  if (opt.server_pid <= 0) {
    std::fputs("weft_load idle: --server-pid is required\n", stderr);
    return 2;
  }
  const auto hard_end = now_ns() + static_cast<std::int64_t>(opt.max_s * 1e9);
  auto rss_before = proc_status_kib(opt.server_pid, "VmRSS");
  io::unique_fd ep{::epoll_create1(EPOLL_CLOEXEC)};
  std::vector<std::unique_ptr<idle_conn>> conns;
  std::vector<std::uint8_t> buf(64 * 1024);
  std::vector<load_reply> replies;
  std::vector<epoll_event> events(512);
  auto body = shared_bytes::copy_of("0123456789abcdef");
  std::size_t done = 0;
  std::size_t failed = 0;
  auto pump = [&](std::int64_t until, std::size_t want_done) {
    while (done < want_done && now_ns() < std::min(until, hard_end)) {
      int n = ::epoll_wait(ep.get(), events.data(),
                           static_cast<int>(events.size()), 10);
      for (int k = 0; k < n; ++k) {
        auto& c = *conns[events[static_cast<std::size_t>(k)].data.u64];
        if (!c.fd)
          continue;
        if (events[static_cast<std::size_t>(k)].events & EPOLLOUT)
          c.out.flush(c.fd.get());
        auto got = ::read(c.fd.get(), buf.data(), buf.size());
        if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
          ++failed;
          c.fd.reset();
          continue;
        }
        if (got < 0)
          continue;
        replies.clear();
        if (!c.client
               .on_bytes(shared_bytes{std::vector<std::uint8_t>(
                           buf.begin(), buf.begin() + got)},
                         replies)
               .ok()) {
          ++failed;
          c.fd.reset();
          continue;
        }
        if (c.client.ready() && !c.sent) {
          c.client.request(opt.route, 2, body);
          c.sent = true;
        }
        for (const auto& r : replies)
          if (r.code == 0 && !c.done) {
            c.done = true;
            ++done;
          }
        if (c.client.wants_write())
          c.out.write(c.fd.get(), c.client.take_output());
      }
    }
  };
  for (std::size_t i = 0; i < opt.conns; ++i) {
    auto fd = connect_loopback(opt.port);
    if (!fd.ok()) {
      std::fprintf(stderr, "weft_load: connection %zu: %s\n", i,
                   std::string{fd.status().message()}.c_str());
      break;
    }
    set_nonblocking(*fd);
    auto c = std::make_unique<idle_conn>();
    c->fd.reset(*fd);
    c->out.write(c->fd.get(), c->client.take_output());
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = conns.size();
    ::epoll_ctl(ep.get(), EPOLL_CTL_ADD, c->fd.get(), &ev);
    conns.push_back(std::move(c));
    // Let the server accept and answer each batch before the next one, so
    // its accept queue never overflows.
    if (conns.size() % batch == 0)
      pump(now_ns() + 10'000'000'000, conns.size() - failed);
  }
  pump(now_ns() + 10'000'000'000, conns.size() - failed);
  // Idle time: the connections only answer PINGs (none within a few s).
  done = conns.size() + 1; // makes pump() run until `until`
  pump(now_ns() + static_cast<std::int64_t>(opt.settle_s * 1e9),
       conns.size() + 2);
  std::size_t ready = 0;
  for (const auto& c : conns)
    ready += c->fd && c->done ? 1u : 0u;
  auto rss_after = proc_status_kib(opt.server_pid, "VmRSS");
  double per_conn = ready > 0 ? static_cast<double>(rss_after - rss_before)
                                  * 1024.0 / static_cast<double>(ready)
                              : 0;
  std::printf("conns=%zu ready=%zu failed=%zu rss_before_kib=%ld "
              "rss_after_kib=%ld per_conn_bytes=%.0f\n",
              opt.conns, ready, failed, rss_before, rss_after, per_conn);
  return ready == opt.conns ? 0 : 1;
}

} // namespace weft::bench
