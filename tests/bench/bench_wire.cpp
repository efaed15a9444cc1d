#include "tests/bench/bench_wire.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>

#include <absl/strings/numbers.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/str_split.h>

namespace weft::bench {

namespace {

void put_varint(std::uint64_t x, std::vector<std::uint8_t>& out) {
  while (x >= 0x80) {
    out.push_back(static_cast<std::uint8_t>(x | 0x80));
    x >>= 7;
  }
  out.push_back(static_cast<std::uint8_t>(x));
}

bool get_varint(const std::uint8_t*& p, const std::uint8_t* end,
                std::uint64_t& x) {
  x = 0;
  for (int shift = 0; shift < 64 && p < end; shift += 7) {
    auto b = *p++;
    x |= std::uint64_t{b & 0x7fu} << shift;
    if ((b & 0x80) == 0)
      return true;
  }
  return false;
}

/// Parses Status{code = 1} out of a nested message.
bool parse_status(const std::uint8_t* p, const std::uint8_t* end,
                  std::uint32_t& code) {
  while (p < end) {
    std::uint64_t key = 0;
    std::uint64_t value = 0;
    if (!get_varint(p, end, key))
      return false;
    switch (key & 7) {
      case 0:
        if (!get_varint(p, end, value))
          return false;
        if ((key >> 3) == 1)
          code = static_cast<std::uint32_t>(value);
        break;
      case 2:
        if (!get_varint(p, end, value)
            || value > static_cast<std::uint64_t>(end - p))
          return false;
        p += value;
        break;
      default:
        return false;
    }
  }
  return true;
}

absl::Status errno_status(absl::string_view what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

} // namespace

void encode_request_header(std::uint32_t id, absl::string_view route,
                           std::uint32_t priority, std::uint64_t total_size,
                           std::vector<std::uint8_t>& out) {
  if (id != 0) {
    out.push_back(0x08); // field 1, varint
    put_varint(id, out);
  }
  if (!route.empty()) {
    out.push_back(0x1a); // field 3, length-delimited
    put_varint(route.size(), out);
    out.insert(out.end(), route.begin(), route.end());
  }
  if (priority != 0) {
    out.push_back(0x38); // field 7, varint
    put_varint(priority, out);
  }
  if (total_size != 0) {
    out.push_back(0x50); // field 10, varint
    put_varint(total_size, out);
  }
}

bool parse_reply_header(absl::Span<const std::uint8_t> bytes,
                        reply_fields& out) {
  out = reply_fields{};
  const auto* p = bytes.data();
  const auto* end = p + bytes.size();
  while (p < end) {
    std::uint64_t key = 0;
    std::uint64_t value = 0;
    if (!get_varint(p, end, key))
      return false;
    auto field = key >> 3;
    switch (key & 7) {
      case 0:
        if (!get_varint(p, end, value))
          return false;
        if (field == 1)
          out.id = static_cast<std::uint32_t>(value);
        else if (field == 2)
          out.kind = static_cast<std::uint32_t>(value);
        else if (field == 4)
          out.reply_to = static_cast<std::uint32_t>(value);
        else if (field == 10)
          out.total_size = value;
        break;
      case 1:
        if (end - p < 8)
          return false;
        p += 8;
        break;
      case 2:
        if (!get_varint(p, end, value)
            || value > static_cast<std::uint64_t>(end - p))
          return false;
        if (field == 11
            && !parse_status(p, p + value, out.status_code))
          return false;
        p += value;
        break;
      case 5:
        if (end - p < 4)
          return false;
        p += 4;
        break;
      default:
        return false;
    }
  }
  return true;
}

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
           std::chrono::steady_clock::now().time_since_epoch())
    .count();
}

absl::StatusOr<int> connect_loopback(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return errno_status("socket");
  auto addr = loopback(port);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr))
      != 0) {
    auto st = errno_status("connect");
    ::close(fd);
    return st;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

absl::StatusOr<int> listen_loopback(std::uint16_t port, bool nonblocking) {
  int fd = ::socket(AF_INET,
                    SOCK_STREAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0),
                    0);
  if (fd < 0)
    return errno_status("socket");
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  auto addr = loopback(port);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0
      || ::listen(fd, 4096) != 0) {
    auto st = errno_status("bind/listen");
    ::close(fd);
    return st;
  }
  return fd;
}

std::uint16_t local_port(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin_port);
}

void set_nonblocking(int fd) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

bool write_all(int fd, absl::Span<const std::uint8_t> bytes) {
  while (!bytes.empty()) {
    auto n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

long proc_status_kib(long pid, absl::string_view name) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    absl::string_view view = line;
    if (!absl::ConsumePrefix(&view, name) || !absl::ConsumePrefix(&view, ":"))
      continue;
    std::vector<absl::string_view> parts
      = absl::StrSplit(view, ' ', absl::SkipWhitespace());
    long kib = -1;
    if (!parts.empty() && absl::SimpleAtoi(parts[0], &kib))
      return kib;
  }
  return -1;
}

std::int64_t quantile(const std::vector<std::int64_t>& sorted, double q) {
  if (sorted.empty())
    return 0;
  auto i = static_cast<std::size_t>(q * static_cast<double>(sorted.size() - 1)
                                    + 0.5);
  return sorted[std::min(i, sorted.size() - 1)];
}

} // namespace weft::bench
