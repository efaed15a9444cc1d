#pragma once

// Raw HTTP/1.1 over a loopback socket for tests: what a client that is not
// a library sends and reads, byte for byte.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "runtime/io/unique_fd.hpp"

namespace weft::testing {

/// A connected socket to 127.0.0.1:`port` (invalid on failure).
inline io::unique_fd connect_to(std::uint16_t port) {
  io::unique_fd fd{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd
      && ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr)
           != 0)
    return {};
  return fd;
}

inline void send_all(const io::unique_fd& fd, const std::string& data) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    auto n = ::send(fd.get(), data.data() + sent, data.size() - sent,
                    MSG_NOSIGNAL);
    if (n <= 0)
      return; // the server may close before reading everything
    sent += static_cast<std::size_t>(n);
  }
}

/// Reads until `needle` arrived, the peer closed or `timeout` passed.
inline std::string read_until(const io::unique_fd& fd,
                       const std::string& needle,
                       std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  std::string out;
  auto until = std::chrono::steady_clock::now() + timeout;
  char buf[16384];
  for (int rounds = 0; rounds < 100000; ++rounds) {
    if (!needle.empty() && out.find(needle) != std::string::npos)
      return out;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      until - std::chrono::steady_clock::now());
    if (left <= std::chrono::milliseconds(0))
      return out + "<timeout>";
    pollfd p{fd.get(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0)
      continue;
    auto n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n <= 0)
      return out;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

/// Sends `data` on a new connection to 127.0.0.1:`port`, half-closes if
/// asked, and reads until the server closes or `timeout` passes.
inline std::string round_trip(std::uint16_t port, const std::string& data,
                       std::chrono::milliseconds timeout = std::chrono::seconds(10),
                       bool half_close = false) {
  auto fd = connect_to(port);
  if (!fd)
    return "<connect failed>";
  send_all(fd, data);
  if (half_close)
    ::shutdown(fd.get(), SHUT_WR);
  return read_until(fd, "", timeout);
}

} // namespace weft::testing
