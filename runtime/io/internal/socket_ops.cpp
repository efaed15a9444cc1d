#include "runtime/io/internal/socket_ops.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <cstring>
#include <limits>

#include <absl/strings/str_cat.h>

#include "runtime/error_bridge.hpp"

namespace weft::io::internal {

absl::StatusOr<socket_address> resolve(absl::string_view host,
                                       std::uint16_t port, bool passive) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
  std::string host_text{host};
  std::string port_text = std::to_string(port);
  addrinfo* found = nullptr;
  int rc = ::getaddrinfo(host_text.empty() ? nullptr : host_text.c_str(),
                         port_text.c_str(), &hints, &found);
  if (rc != 0)
    return make_status(
      errc::invalid_argument,
      absl::StrCat("cannot resolve '", host, "': ", ::gai_strerror(rc)));
  socket_address result;
  if (found == nullptr || found->ai_addrlen > sizeof(result.storage)) {
    ::freeaddrinfo(found);
    return make_status(errc::invalid_argument,
                       absl::StrCat("no usable address for '", host, "'"));
  }
  std::memcpy(&result.storage, found->ai_addr, found->ai_addrlen);
  result.length = found->ai_addrlen;
  result.family = found->ai_family;
  ::freeaddrinfo(found);
  return result;
}

std::string to_string(const sockaddr_storage& addr) {
  char text[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET) {
    sockaddr_in in{};
    std::memcpy(&in, &addr, sizeof(in));
    ::inet_ntop(AF_INET, &in.sin_addr, text, sizeof(text));
    return absl::StrCat(text, ":", ntohs(in.sin_port));
  }
  if (addr.ss_family == AF_INET6) {
    sockaddr_in6 in6{};
    std::memcpy(&in6, &addr, sizeof(in6));
    ::inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof(text));
    return absl::StrCat("[", text, "]:", ntohs(in6.sin6_port));
  }
  return "";
}

std::string peer_name(int fd) {
  sockaddr_storage addr{};
  socklen_t length = sizeof(addr);
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &length) != 0)
    return "";
  return to_string(addr);
}

std::uint16_t local_port(int fd) {
  sockaddr_storage addr{};
  socklen_t length = sizeof(addr);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) != 0)
    return 0;
  if (addr.ss_family == AF_INET) {
    sockaddr_in in{};
    std::memcpy(&in, &addr, sizeof(in));
    return ntohs(in.sin_port);
  }
  if (addr.ss_family == AF_INET6) {
    sockaddr_in6 in6{};
    std::memcpy(&in6, &addr, sizeof(in6));
    return ntohs(in6.sin6_port);
  }
  return 0;
}

absl::Status configure_stream(int fd, const channel_options& opts) {
  if (opts.tcp_nodelay) {
    int on = 1;
    if (::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) != 0)
      return errno_status("setsockopt(TCP_NODELAY)", errno);
  }
  if (opts.notsent_lowat > 0) {
    auto lowat = static_cast<int>(std::min<std::size_t>(
      opts.notsent_lowat, std::numeric_limits<int>::max()));
    if (::setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, sizeof(lowat))
        != 0)
      return errno_status("setsockopt(TCP_NOTSENT_LOWAT)", errno);
  }
  return absl::OkStatus();
}

absl::Status errno_status(absl::string_view what, int err) {
  return make_status(errc::io_error,
                     absl::StrCat(what, ": ", std::strerror(err)));
}

} // namespace weft::io::internal
