// weft_load rawtcp: the bulk benchmark's reference, a raw TCP loopback copy
// of `bulk` bytes with 64 KiB writes, read with 64 KiB reads by a second
// thread; MB/s from the first write to the reader's EOF.

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "tests/bench/bench_wire.hpp"
#include "tests/bench/load_options.hpp"
#include "runtime/io/unique_fd.hpp"

namespace weft::bench {

int run_rawtcp(const load_options& opt) {
  constexpr std::size_t io_size = 64 * 1024;
  auto listening = listen_loopback(0, false);
  if (!listening.ok()) {
    std::fprintf(stderr, "weft_load: %s\n",
                 std::string{listening.status().message()}.c_str());
    return 1;
  }
  io::unique_fd lfd{*listening};
  auto port = local_port(lfd.get());
  std::atomic<std::uint64_t> received{0};
  std::atomic<std::int64_t> finished_at{0};
  std::thread reader{[&] {
    io::unique_fd cfd{::accept4(lfd.get(), nullptr, nullptr, SOCK_CLOEXEC)};
    std::vector<std::uint8_t> buf(io_size);
    std::uint64_t total = 0;
    for (;;) {
      auto n = ::read(cfd.get(), buf.data(), buf.size());
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      total += static_cast<std::uint64_t>(n);
    }
    received = total;
    finished_at = now_ns();
  }};
  auto connected = connect_loopback(port);
  if (!connected.ok()) {
    ::shutdown(lfd.get(), SHUT_RDWR); // wakes the reader's accept
    reader.join();
    return 1;
  }
  io::unique_fd fd{*connected};
  std::vector<std::uint8_t> chunk(io_size, 0x5a);
  auto start = now_ns();
  const auto hard_end = start + static_cast<std::int64_t>(opt.max_s * 1e9);
  for (std::uint64_t left = opt.bulk; left > 0 && now_ns() < hard_end;) {
    auto n = static_cast<std::size_t>(std::min<std::uint64_t>(left, io_size));
    if (!write_all(fd.get(), {chunk.data(), n}))
      break;
    left -= n;
  }
  ::shutdown(fd.get(), SHUT_WR);
  reader.join();
  double seconds = static_cast<double>(finished_at.load() - start) / 1e9;
  std::printf("bulk_bytes=%llu bulk_s=%.3f mb_per_s=%.1f\n",
              static_cast<unsigned long long>(received.load()), seconds,
              seconds > 0 ? static_cast<double>(received.load()) / seconds / 1e6
                          : 0.0);
  return received.load() == opt.bulk ? 0 : 1;
}

} // namespace weft::bench
