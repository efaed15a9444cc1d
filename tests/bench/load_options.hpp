#pragma once

#include <cstdint>
#include <string>

namespace weft::bench {

/// Everything weft_load's modes are configured with (weft_load --help).
struct load_options {
  std::string mode;
  std::uint16_t port = 0;
  std::string route = "echo";
  std::size_t size = 16;
  std::size_t conns = 1;
  std::size_t inflight = 1;
  std::size_t threads = 1;
  double warmup_s = 0.5;
  double duration_s = 3;
  /// MessageHeader.priority of echo requests (2 = NORMAL).
  std::uint32_t priority = 2;
  /// upload: body bytes of the chunked request (0: none, urgent only).
  std::uint64_t bulk = 0;
  /// upload: an URGENT echo request of `size` bytes every this many ms
  /// (0: none).
  double urgent_interval_ms = 0;
  /// idle: the server process whose VmRSS is measured.
  long server_pid = 0;
  double settle_s = 1;
  /// Upper bound of any mode's run time.
  double max_s = 300;
};

/// Ping-pong echo: conns x inflight requests, messages/s and latency.
int run_echo(const load_options& opt);
/// One chunked upload (optionally with URGENT echoes beside it): MB/s and
/// the echoes' latency; with bulk 0, the echoes alone (the idle baseline).
int run_upload(const load_options& opt);
/// Opens `conns` connections, handshakes and one echo each, then reports
/// the server's VmRSS growth per connection.
int run_idle(const load_options& opt);
/// Raw TCP loopback copy of `bulk` bytes with 64 KiB writes: MB/s.
int run_rawtcp(const load_options& opt);

} // namespace weft::bench
