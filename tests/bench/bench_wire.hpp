#pragma once

// Helpers shared by the bench programs: the few MessageHeader fields the load
// generator writes and reads, encoded by hand (byte-identical to protobuf's
// serialization, checked at start-up by weft_load) so that the generator's
// cost per message is small and the same against every server; plus socket
// and clock helpers.

#include <cstdint>
#include <string>
#include <vector>

#include <absl/status/statusor.h>
#include <absl/strings/string_view.h>
#include <absl/types/span.h>

#include "runtime/protocol/protocol_settings.hpp"

namespace weft::bench {

/// Appends the encoding of MessageHeader{id, kind: REQUEST, route, priority,
/// total_size} to `out` (fields in number order, zero values omitted, as
/// protobuf does).
void encode_request_header(std::uint32_t id, absl::string_view route,
                           std::uint32_t priority, std::uint64_t total_size,
                           std::vector<std::uint8_t>& out);

/// The header fields a load generator needs from a reply.
struct reply_fields {
  std::uint32_t id = 0;
  std::uint32_t kind = 0;
  std::uint32_t reply_to = 0;
  std::uint64_t total_size = 0;
  std::uint32_t status_code = 0;
};

/// Parses the fields above out of an encoded MessageHeader, skipping the
/// others; false if the bytes are not a valid protobuf message.
bool parse_reply_header(absl::Span<const std::uint8_t> bytes,
                        reply_fields& out);

/// Monotonic clock in nanoseconds.
std::int64_t now_ns();

/// Opens a blocking TCP connection to 127.0.0.1:`port` with TCP_NODELAY;
/// returns the fd or an error.
absl::StatusOr<int> connect_loopback(std::uint16_t port);

/// A listening TCP socket on 127.0.0.1:`port` (0 picks one), non-blocking
/// when `nonblocking`; returns the fd.
absl::StatusOr<int> listen_loopback(std::uint16_t port, bool nonblocking);

/// The port a bound socket listens on.
std::uint16_t local_port(int fd);

/// Sets O_NONBLOCK.
void set_nonblocking(int fd);

/// Writes all of `bytes` to a blocking fd; false on error.
bool write_all(int fd, absl::Span<const std::uint8_t> bytes);

/// The value of the key `name` (e.g. "VmRSS") in /proc/`pid`/status, in
/// KiB; -1 if unreadable.
long proc_status_kib(long pid, absl::string_view name);

/// The `q` quantile (0..1) of `sorted` (ascending), 0 when empty.
std::int64_t quantile(const std::vector<std::int64_t>& sorted, double q);

} // namespace weft::bench
