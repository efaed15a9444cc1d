#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>

#include <absl/status/status.h>
#include <absl/status/statusor.h>
#include <absl/strings/string_view.h>

#include "runtime/io/channel_options.hpp"
#include "runtime/io/unique_fd.hpp"

namespace weft::io::internal {

/// A resolved socket address. Plain value, any thread.
struct socket_address {
  sockaddr_storage storage{};
  socklen_t length = 0;
  int family = 0;
};

/// Resolves `host` (a numeric address or a name) and `port`; blocking.
absl::StatusOr<socket_address> resolve(absl::string_view host,
                                       std::uint16_t port, bool passive);

/// Renders an address as "1.2.3.4:80" or "[::1]:80".
std::string to_string(const sockaddr_storage& addr);

/// Returns the peer address of a connected socket as text ("" if unknown).
std::string peer_name(int fd);

/// Returns the local port of a bound socket (0 if unknown).
std::uint16_t local_port(int fd);

/// Applies TCP_NODELAY / TCP_NOTSENT_LOWAT from `opts` to a TCP socket.
absl::Status configure_stream(int fd, const channel_options& opts);

/// An io_error Status carrying strerror(err), prefixed with `what`.
absl::Status errno_status(absl::string_view what, int err);

} // namespace weft::io::internal
