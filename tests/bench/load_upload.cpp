// weft_load upload: one chunked BULK request of `bulk` bytes on one
// connection (the bulk benchmark), optionally with an URGENT echo request
// every `urgent_interval_ms` beside it (the head-of-line benchmark). With
// bulk 0 only the urgent echoes run, for `duration` seconds: the idle
// baseline.

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "tests/bench/bench_wire.hpp"
#include "tests/bench/load_client.hpp"
#include "tests/bench/load_options.hpp"
#include "tests/bench/out_queue.hpp"
#include "runtime/io/unique_fd.hpp"

namespace weft::bench {

namespace {

constexpr std::uint32_t priority_urgent = 0;
constexpr std::uint32_t priority_bulk = 3;
/// Like weft's reactor: keep the kernel's unsent queue short, so that a
/// paced sender decides at each chunk boundary what goes next.
constexpr int notsent_lowat = 128 * 1024;

shared_bytes pattern(std::size_t size) {
  std::vector<std::uint8_t> bytes(size);
  for (std::size_t i = 0; i < size; ++i)
    bytes[i] = static_cast<std::uint8_t>(i * 131 + 7);
  return shared_bytes{std::move(bytes)};
}

} // namespace

int run_upload(const load_options& opt) {
  auto connected = connect_loopback(opt.port);
  if (!connected.ok()) {
    std::fprintf(stderr, "weft_load: %s\n",
                 std::string{connected.status().message()}.c_str());
    return 1;
  }
  io::unique_fd fd{*connected};
  set_nonblocking(fd.get());
  const bool paced = opt.urgent_interval_ms > 0;
  if (paced)
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NOTSENT_LOWAT, &notsent_lowat,
                 sizeof(notsent_lowat));
  io::unique_fd ep{::epoll_create1(EPOLL_CLOEXEC)};
  io::unique_fd timer;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u32 = 0;
  ::epoll_ctl(ep.get(), EPOLL_CTL_ADD, fd.get(), &ev);
  if (paced) {
    timer.reset(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
    auto ns = static_cast<long>(opt.urgent_interval_ms * 1e6);
    itimerspec spec{};
    spec.it_interval.tv_sec = ns / 1'000'000'000;
    spec.it_interval.tv_nsec = ns % 1'000'000'000;
    spec.it_value = spec.it_interval;
    ::timerfd_settime(timer.get(), 0, &spec, nullptr);
    ev.data.u32 = 1;
    ::epoll_ctl(ep.get(), EPOLL_CTL_ADD, timer.get(), &ev);
  }
  load_client client;
  out_queue out;
  bool want_out = false;
  auto chunk_body = pattern(64 * 1024);
  auto urgent_body = pattern(opt.size);
  std::vector<std::uint8_t> buf(256 * 1024);
  std::vector<load_reply> replies;
  std::vector<std::pair<std::uint32_t, std::int64_t>> urgent_sent;
  std::vector<std::int64_t> samples;
  std::uint64_t errors = 0;
  std::string first_error;
  std::uint32_t upload_id = 0;
  std::int64_t upload_start = 0;
  std::int64_t upload_done = 0;
  /// Uploads finished, and the time they took together.
  std::size_t uploads_done = 0;
  std::int64_t upload_ns = 0;
  std::uint64_t sink_reported = 0;
  const auto t0 = now_ns();
  const auto hard_end = t0 + static_cast<std::int64_t>(opt.max_s * 1e9);
  // Without a bulk transfer the urgent echoes alone run for `duration`.
  const auto idle_end
    = t0 + static_cast<std::int64_t>((opt.warmup_s + opt.duration_s) * 1e9);
  const auto measure_from
    = opt.bulk > 0 ? t0 : t0 + static_cast<std::int64_t>(opt.warmup_s * 1e9);
  std::int64_t stop_at = hard_end;
  bool dead = false;
  auto fail = [&](const std::string& why) {
    if (first_error.empty())
      first_error = why;
    dead = true;
  };
  if (!out.write(fd.get(), client.take_output()))
    fail("write failed");
  std::vector<epoll_event> events(4);
  while (!dead) {
    auto now = now_ns();
    if (now >= stop_at)
      break;
    if (opt.bulk == 0 && now >= idle_end)
      stop_at = std::min(stop_at, now + 200'000'000); // late replies
    if (opt.bulk > 0 && upload_done != 0 && urgent_sent.empty())
      break;
    int n = ::epoll_wait(ep.get(), events.data(),
                         static_cast<int>(events.size()), 50);
    bool writable = false;
    for (int k = 0; k < n; ++k) {
      const auto& e = events[static_cast<std::size_t>(k)];
      if (e.data.u32 == 1) {
        std::uint64_t ticks = 0;
        if (::read(timer.get(), &ticks, sizeof(ticks)) < 0)
          continue;
        bool sending = opt.bulk > 0 ? upload_done == 0 : now_ns() < idle_end;
        if (client.ready() && sending && client.send_window() > 4096) {
          auto id = client.request(opt.urgent_route, priority_urgent, urgent_body);
          urgent_sent.emplace_back(id, now_ns());
        }
        continue;
      }
      if (e.events & EPOLLOUT)
        writable = true;
      if (e.events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        for (int round = 0; round < 8; ++round) {
          auto got = ::read(fd.get(), buf.data(), buf.size());
          if (got == 0) {
            fail("server closed the connection");
            break;
          }
          if (got < 0) {
            if (errno != EAGAIN && errno != EINTR)
              fail("read failed");
            break;
          }
          replies.clear();
          auto st = client.on_bytes(
            shared_bytes{
              std::vector<std::uint8_t>(buf.begin(), buf.begin() + got)},
            replies);
          if (!st.ok()) {
            fail(std::string{st.message()});
            break;
          }
          auto at = now_ns();
          for (const auto& r : replies) {
            if (r.code != 0 || !r.checksum_ok) {
              ++errors;
              if (first_error.empty())
                first_error = "bad reply, code " + std::to_string(r.code);
            }
            if (upload_id != 0 && r.reply_to == upload_id) {
              upload_ns += at - upload_start;
              if (++uploads_done < opt.uploads) {
                upload_id = 0; // the next one begins below
              } else {
                upload_done = at;
                stop_at = std::min(stop_at, at + 1'000'000'000);
              }
              sink_reported = r.body_size;
              // sink answers {"size":N,...}: the whole upload must have
              // arrived, or the rate means nothing.
              if (auto at_size = r.small_body.find("\"size\":");
                  at_size != std::string::npos
                  && std::strtoull(r.small_body.c_str() + at_size + 7,
                                   nullptr, 10)
                       != opt.bulk) {
                ++errors;
                if (first_error.empty())
                  first_error = "the route saw another size: " + r.small_body;
              }
              continue;
            }
            auto it = std::find_if(urgent_sent.begin(), urgent_sent.end(),
                                   [&](const auto& s) {
                                     return s.first == r.reply_to;
                                   });
            if (it == urgent_sent.end())
              continue;
            if (it->second >= measure_from)
              samples.push_back(at - it->second);
            urgent_sent.erase(it);
          }
          if (static_cast<std::size_t>(got) < buf.size())
            break;
        }
      }
    }
    if (dead)
      break;
    if (writable && !out.flush(fd.get())) {
      fail("write failed");
      break;
    }
    if (client.ready() && opt.bulk > 0 && upload_id == 0 && upload_done == 0) {
      upload_id = client.begin_upload(opt.route, priority_bulk, opt.bulk);
      upload_start = now_ns();
      writable = true;
    }
    // Chunks go out only when the socket has room: one per wake-up when
    // paced (so an urgent request waits for at most one chunk), a burst
    // otherwise.
    if (writable && out.empty() && !client.wants_write()) {
      int burst = paced ? 1 : 16;
      for (int i = 0; i < burst; ++i) {
        auto room = std::min(client.upload_room(), chunk_body.size());
        if (room == 0)
          break;
        client.upload_chunk(chunk_body.slice(0, room));
        if (!out.write(fd.get(), client.take_output())) {
          fail("write failed");
          break;
        }
        if (!out.empty())
          break;
      }
    }
    if (client.wants_write() && !out.write(fd.get(), client.take_output())) {
      fail("write failed");
      break;
    }
    bool want = !out.empty() || client.upload_room() > 0;
    if (want != want_out) {
      want_out = want;
      ev.events = EPOLLIN | (want ? EPOLLOUT : 0u);
      ev.data.u32 = 0;
      ::epoll_ctl(ep.get(), EPOLL_CTL_MOD, fd.get(), &ev);
    }
  }
  std::sort(samples.begin(), samples.end());
  double bulk_s = upload_done != 0 ? static_cast<double>(upload_ns) / 1e9 : 0;
  const auto bulk_total = opt.bulk * opt.uploads;
  bool complete = opt.bulk == 0 || upload_done != 0;
  if (!complete && first_error.empty())
    first_error = "the upload did not finish within --max-seconds";
  std::printf("p50_us=%.1f p99_us=%.1f max_us=%.1f samples=%zu "
              "bulk_bytes=%llu bulk_s=%.3f mb_per_s=%.1f errors=%llu "
              "complete=%d reply_bytes=%llu%s%s\n",
              static_cast<double>(quantile(samples, 0.50)) / 1e3,
              static_cast<double>(quantile(samples, 0.99)) / 1e3,
              samples.empty() ? 0.0
                              : static_cast<double>(samples.back()) / 1e3,
              samples.size(), static_cast<unsigned long long>(bulk_total),
              bulk_s,
              bulk_s > 0 ? static_cast<double>(bulk_total) / bulk_s / 1e6
                         : 0.0,
              static_cast<unsigned long long>(errors), complete ? 1 : 0,
              static_cast<unsigned long long>(sink_reported),
              first_error.empty() ? "" : " first_error=",
              first_error.c_str());
  return complete && errors == 0 && !dead ? 0 : 1;
}

} // namespace weft::bench
