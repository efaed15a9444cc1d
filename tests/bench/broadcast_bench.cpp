// broadcast_bench: how long a 100-byte broadcast takes to reach the last of
// 1,000 connected clients (issue 5), beside a reference in the same run: one
// thread writing the same 100 bytes to 1,000 loopback TCP sockets. The
// clients are plain sockets polled by one thread (raw_fleet) in both cases,
// so the reading side costs the same.
//
//   broadcast_bench [--clients N] [--rounds R] [--size B]

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <absl/strings/numbers.h>
#include <absl/time/clock.h>

#include "runtime/weft.hpp"
#include "tests/integration/app/raw_subscriber.hpp"

namespace {

struct options {
  std::size_t clients = 1000;
  std::size_t rounds = 50;
  std::size_t size = 100;
};

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    std::size_t v = 0;
    if (!absl::SimpleAtoi(argv[i + 1], &v) || v == 0) {
      std::fprintf(stderr, "bad value for %s\n", flag.c_str());
      std::exit(2);
    }
    if (flag == "--clients")
      o.clients = v;
    else if (flag == "--rounds")
      o.rounds = v;
    else if (flag == "--size")
      o.size = v;
    else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      std::exit(2);
    }
  }
  return o;
}

struct summary {
  double p50_us = 0;
  double p99_us = 0;
  double max_us = 0;
};

summary summarize(std::vector<absl::Duration> times) {
  std::sort(times.begin(), times.end());
  auto at = [&](double q) {
    auto i = static_cast<std::size_t>(q * static_cast<double>(times.size() - 1));
    return absl::ToDoubleMicroseconds(times[i]);
  };
  return {at(0.5), at(0.99), absl::ToDoubleMicroseconds(times.back())};
}

/// weft: node.broadcast to a fleet of subscribed raw clients.
summary run_weft(const options& o) {
  weft::node_config cfg;
  cfg.tcp_listen = "127.0.0.1:0";
  cfg.scheduler_threads = 2;
  cfg.io_threads = 1;
  auto n = weft::node::start(cfg, weft::logger{weft::log_level::warn});
  if (!n.ok() || !(*n)->listen().ok()) {
    std::fprintf(stderr, "cannot start the node\n");
    std::exit(1);
  }
  weft::testing::raw_fleet fleet;
  if (!fleet.connect((*n)->binary_port(), o.clients, absl::Seconds(60)).ok()) {
    std::fprintf(stderr, "cannot connect the fleet\n");
    std::exit(1);
  }
  std::string body(o.size, 'b');
  std::vector<absl::Duration> times;
  for (std::size_t round = 1; round <= o.rounds; ++round) {
    weft::push_message msg;
    msg.route = "bench";
    msg.body = weft::payload{weft::shared_bytes::copy_of(body)};
    auto start = absl::Now();
    auto sent = (*n)->broadcast(std::move(msg));
    if (!sent.ok() || *sent != o.clients) {
      std::fprintf(stderr, "broadcast reached %zu\n",
                   sent.ok() ? static_cast<std::size_t>(*sent) : 0);
      std::exit(1);
    }
    auto all = [&] {
      for (auto& m : fleet.members())
        if (m.pushes.size() < round)
          return false;
      return true;
    };
    if (!fleet.pump_until(all, absl::Seconds(30))) {
      std::fprintf(stderr, "round %zu incomplete\n", round);
      std::exit(1);
    }
    times.push_back(absl::Now() - start);
  }
  (*n)->stop();
  return summarize(std::move(times));
}

/// The reference: one thread writes the bytes to every socket in a loop.
summary run_reference(const options& o) {
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::listen(listener, 4096);
  socklen_t len = sizeof addr;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  std::vector<int> writers, readers;
  for (std::size_t i = 0; i < o.clients; ++i) {
    int c = ::socket(AF_INET, SOCK_STREAM, 0);
    ::connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    readers.push_back(c);
    writers.push_back(::accept(listener, nullptr, nullptr));
  }
  std::string frame(o.size, 'r');
  std::vector<std::size_t> got(o.clients, 0);
  std::vector<char> buf(64 * 1024);
  std::vector<absl::Duration> times;
  for (std::size_t round = 1; round <= o.rounds; ++round) {
    auto start = absl::Now();
    for (int w : writers)
      (void)!::send(w, frame.data(), frame.size(), MSG_NOSIGNAL);
    auto want = round * o.size;
    std::size_t done = 0;
    while (done < o.clients) {
      std::vector<pollfd> fds;
      std::vector<std::size_t> who;
      for (std::size_t i = 0; i < o.clients; ++i)
        if (got[i] < want) {
          fds.push_back({readers[i], POLLIN, 0});
          who.push_back(i);
        }
      ::poll(fds.data(), fds.size(), 20);
      done = o.clients - fds.size();
      for (std::size_t k = 0; k < fds.size(); ++k) {
        if (!(fds[k].revents & POLLIN))
          continue;
        auto r = ::recv(fds[k].fd, buf.data(), buf.size(), MSG_DONTWAIT);
        if (r > 0)
          got[who[k]] += static_cast<std::size_t>(r);
        if (got[who[k]] >= want)
          ++done;
      }
    }
    times.push_back(absl::Now() - start);
  }
  for (int fd : writers)
    ::close(fd);
  for (int fd : readers)
    ::close(fd);
  ::close(listener);
  return summarize(std::move(times));
}

} // namespace

int main(int argc, char** argv) {
  auto o = parse(argc, argv);
  std::printf("# broadcast of %zu bytes to %zu clients, %zu rounds; time "
              "until the last client has it (us)\n",
              o.size, o.clients, o.rounds);
  auto ref = run_reference(o);
  auto weft_run = run_weft(o);
  std::printf("%-28s %10s %10s %10s\n", "", "p50", "p99", "max");
  std::printf("%-28s %10.1f %10.1f %10.1f\n", "reference (write loop)",
              ref.p50_us, ref.p99_us, ref.max_us);
  std::printf("%-28s %10.1f %10.1f %10.1f\n", "weft node.broadcast",
              weft_run.p50_us, weft_run.p99_us, weft_run.max_us);
  std::printf("weft / reference, p50: %.2fx slower; p99: %.2fx slower\n",
              weft_run.p50_us / ref.p50_us, weft_run.p99_us / ref.p99_us);
  return 0;
}
