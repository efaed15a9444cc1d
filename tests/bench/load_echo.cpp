// weft_load echo: ping-pong with `inflight` requests outstanding on each of
// `conns` connections, spread over `threads` epoll loops.

#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/bench/bench_wire.hpp"
#include "tests/bench/load_client.hpp"
#include "tests/bench/load_options.hpp"
#include "tests/bench/out_queue.hpp"
#include "runtime/io/unique_fd.hpp"

namespace weft::bench {

namespace {

constexpr std::size_t read_size = 64 * 1024;

struct echo_conn {
  io::unique_fd fd;
  load_client client;
  out_queue out;
  /// Requests in flight: id and send time.
  std::vector<std::pair<std::uint32_t, std::int64_t>> sent;
  bool want_out = false;
};

struct echo_result {
  std::uint64_t replies = 0;
  std::uint64_t errors = 0;
  std::uint64_t dead = 0;
  std::vector<std::int64_t> latencies;
  std::string first_error;
};

struct echo_window {
  std::int64_t measure_from = 0;
  std::int64_t end = 0;
};

/// One epoll loop driving its share of the connections until `w.end`.
class echo_worker {
public:
  echo_worker(const load_options& opt, echo_window w, echo_result& res)
    : opt_(opt), w_(w), res_(res), body_(make_body(opt)),
      buf_(read_size) {
  }

  void add(io::unique_fd fd) {
    auto c = std::make_unique<echo_conn>();
    c->fd = std::move(fd);
    conns_.push_back(std::move(c));
  }

  void run() {
    io::unique_fd ep{::epoll_create1(EPOLL_CLOEXEC)};
    for (std::size_t i = 0; i < conns_.size(); ++i) {
      auto& c = *conns_[i];
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = i;
      ::epoll_ctl(ep.get(), EPOLL_CTL_ADD, c.fd.get(), &ev);
      if (!c.out.write(c.fd.get(), c.client.take_output()))
        kill(c, "write failed");
      interest(ep.get(), c, i);
    }
    std::vector<epoll_event> events(512);
    std::vector<load_reply> replies;
    res_.latencies.reserve(1 << 20);
    for (;;) {
      auto now = now_ns();
      if (now >= w_.end)
        break;
      auto wait_ms = std::clamp<std::int64_t>((w_.end - now) / 1'000'000, 1,
                                              100);
      int n = ::epoll_wait(ep.get(), events.data(),
                           static_cast<int>(events.size()),
                           static_cast<int>(wait_ms));
      for (int k = 0; k < n; ++k) {
        auto i = static_cast<std::size_t>(events[static_cast<std::size_t>(k)].data.u64);
        auto what = events[static_cast<std::size_t>(k)].events;
        auto& c = *conns_[i];
        if (!c.fd)
          continue;
        if (what & EPOLLOUT) {
          if (!c.out.flush(c.fd.get())) {
            kill(c, "write failed");
            continue;
          }
        }
        if (what & (EPOLLIN | EPOLLERR | EPOLLHUP))
          on_readable(c, replies);
        if (c.fd)
          interest(ep.get(), c, i);
      }
    }
  }

private:
  static shared_bytes make_body(const load_options& opt) {
    if (opt.body)
      return shared_bytes::copy_of(*opt.body);
    std::vector<std::uint8_t> body(opt.size);
    for (std::size_t i = 0; i < opt.size; ++i)
      body[i] = static_cast<std::uint8_t>('a' + i % 26);
    return shared_bytes{std::move(body)};
  }

  void kill(echo_conn& c, const std::string& why) {
    if (res_.first_error.empty())
      res_.first_error = why;
    ++res_.dead;
    c.fd.reset();
  }

  void interest(int ep, echo_conn& c, std::size_t i) {
    bool want = !c.out.empty();
    if (want == c.want_out)
      return;
    c.want_out = want;
    epoll_event ev{};
    ev.events = EPOLLIN | (want ? EPOLLOUT : 0u);
    ev.data.u64 = i;
    ::epoll_ctl(ep, EPOLL_CTL_MOD, c.fd.get(), &ev);
  }

  void on_readable(echo_conn& c, std::vector<load_reply>& replies) {
    for (int round = 0; round < 4; ++round) {
      auto n = ::read(c.fd.get(), buf_.data(), buf_.size());
      if (n == 0) {
        kill(c, "server closed the connection");
        return;
      }
      if (n < 0) {
        if (errno != EAGAIN && errno != EINTR)
          kill(c, "read failed");
        break;
      }
      replies.clear();
      auto st = c.client.on_bytes(
        shared_bytes{std::vector<std::uint8_t>(buf_.begin(), buf_.begin() + n)},
        replies);
      if (!st.ok()) {
        kill(c, std::string{st.message()});
        return;
      }
      auto now = now_ns();
      bool counted = now >= w_.measure_from && now < w_.end;
      for (const auto& r : replies) {
        auto it = std::find_if(c.sent.begin(), c.sent.end(),
                               [&](const auto& s) {
                                 return s.first == r.reply_to;
                               });
        if (it == c.sent.end() || r.code != 0 || !r.checksum_ok
            || (!opt_.body && r.body_size != opt_.size)) {
          ++res_.errors;
          if (res_.first_error.empty())
            res_.first_error = "bad reply (code " + std::to_string(r.code)
                               + ")";
          if (it == c.sent.end())
            continue;
        }
        if (counted) {
          ++res_.replies;
          res_.latencies.push_back(now - it->second);
        }
        c.sent.erase(it);
      }
      if (static_cast<std::size_t>(n) < buf_.size())
        break;
    }
    fill(c);
  }

  /// Tops the connection up to `inflight` requests.
  void fill(echo_conn& c) {
    if (!c.client.ready())
      return;
    auto frame_len = static_cast<std::int64_t>(opt_.size + 64);
    auto now = now_ns();
    while (c.sent.size() < opt_.inflight
           && c.client.send_window() >= frame_len && now < w_.end) {
      auto id = c.client.request(opt_.route, opt_.priority, body_);
      c.sent.emplace_back(id, now);
    }
    if (c.client.wants_write()
        && !c.out.write(c.fd.get(), c.client.take_output()))
      kill(c, "write failed");
  }

  const load_options& opt_;
  echo_window w_;
  echo_result& res_;
  // One body per thread: its refcount is never shared across threads.
  shared_bytes body_;
  std::vector<std::uint8_t> buf_;
  std::vector<std::unique_ptr<echo_conn>> conns_;
};

} // namespace

int run_echo(const load_options& opt) {
  auto threads = std::min(opt.threads, opt.conns);
  std::vector<echo_result> results(threads);
  std::vector<std::unique_ptr<echo_worker>> workers;
  std::vector<std::vector<io::unique_fd>> fds(threads);
  for (std::size_t i = 0; i < opt.conns; ++i) {
    auto fd = connect_loopback(opt.port);
    if (!fd.ok()) {
      std::fprintf(stderr, "weft_load: connection %zu: %s\n", i,
                   std::string{fd.status().message()}.c_str());
      return 1;
    }
    set_nonblocking(*fd);
    fds[i % threads].emplace_back(*fd);
  }
  echo_window w;
  w.measure_from = now_ns() + static_cast<std::int64_t>(opt.warmup_s * 1e9);
  w.end = w.measure_from + static_cast<std::int64_t>(
                             std::min(opt.duration_s, opt.max_s) * 1e9);
  for (std::size_t t = 0; t < threads; ++t) {
    workers.push_back(std::make_unique<echo_worker>(opt, w, results[t]));
    for (auto& fd : fds[t])
      workers.back()->add(std::move(fd));
  }
  std::vector<std::thread> running;
  for (auto& worker : workers)
    running.emplace_back([&worker] { worker->run(); });
  for (auto& th : running)
    th.join();
  echo_result all;
  for (auto& r : results) {
    all.replies += r.replies;
    all.errors += r.errors;
    all.dead += r.dead;
    all.latencies.insert(all.latencies.end(), r.latencies.begin(),
                         r.latencies.end());
    if (all.first_error.empty())
      all.first_error = r.first_error;
  }
  std::sort(all.latencies.begin(), all.latencies.end());
  auto seconds = static_cast<double>(w.end - w.measure_from) / 1e9;
  std::printf("msgs_per_s=%.0f p50_us=%.1f p99_us=%.1f max_us=%.1f "
              "errors=%llu dead=%llu "
              "size=%zu conns=%zu inflight=%zu threads=%zu%s%s\n",
              static_cast<double>(all.replies) / seconds,
              static_cast<double>(quantile(all.latencies, 0.50)) / 1e3,
              static_cast<double>(quantile(all.latencies, 0.99)) / 1e3,
              all.latencies.empty()
                ? 0.0
                : static_cast<double>(all.latencies.back()) / 1e3,
              static_cast<unsigned long long>(all.errors),
              static_cast<unsigned long long>(all.dead), opt.size, opt.conns,
              opt.inflight, threads,
              all.first_error.empty() ? "" : " first_error=",
              all.first_error.empty() ? "" : all.first_error.c_str());
  return all.errors == 0 && all.dead == 0 ? 0 : 1;
}

} // namespace weft::bench
