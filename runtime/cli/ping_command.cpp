#include "runtime/cli/ping_command.hpp"

#include <algorithm>
#include <cstdio>

#include <absl/strings/str_cat.h>
#include <absl/strings/str_format.h>
#include <absl/time/clock.h>

#include "runtime/cli/node_call.hpp"
#include "runtime/cli/signals.hpp"
#include "runtime/client/client.hpp"
#include "runtime/error_bridge.hpp"

namespace weft::cli {

namespace {

/// How long a ping waits for its answer without --timeout.
constexpr absl::Duration default_ping_timeout = absl::Seconds(5);

double to_ms(absl::Duration d) {
  return absl::ToDoubleMilliseconds(d);
}

} // namespace

exit_code run_ping(const cli_args& args, const sigset_t& interrupts) {
  auto target = node_address(args);
  auto cli = connect_to_node(args);
  if (cli == nullptr)
    return exit_code::connection;
  auto timeout
    = args.timeout > absl::ZeroDuration() ? args.timeout : default_ping_timeout;
  std::printf("PING %s\n", target.c_str());
  std::fflush(stdout);
  auto started = absl::Now();
  std::uint64_t sent = 0;
  std::uint64_t received = 0;
  absl::Duration min_rtt = absl::InfiniteDuration();
  absl::Duration max_rtt = absl::ZeroDuration();
  absl::Duration sum_rtt = absl::ZeroDuration();
  auto outcome = exit_code::ok;
  for (std::uint64_t seq = 1; !args.count || seq <= *args.count; ++seq) {
    ++sent;
    auto rtt = cli->ping(timeout);
    if (rtt.ok()) {
      ++received;
      min_rtt = std::min(min_rtt, *rtt);
      max_rtt = std::max(max_rtt, *rtt);
      sum_rtt += *rtt;
      std::printf("pong from %s: seq=%llu time=%.3f ms\n", target.c_str(),
                  static_cast<unsigned long long>(seq), to_ms(*rtt));
      std::fflush(stdout);
    } else {
      std::fprintf(stderr, "seq=%llu %s\n",
                   static_cast<unsigned long long>(seq),
                   error_line(rtt.status()).c_str());
      auto code = exit_code_of(rtt.status(), cli->connected());
      outcome = std::max(outcome, code);
      if (code == exit_code::connection)
        break;
    }
    if (args.count && seq == *args.count)
      break;
    if (wait_for_signal(interrupts, args.interval) != 0)
      break;
  }
  auto lost = sent - received;
  std::printf("\n--- %s ping statistics ---\n", target.c_str());
  std::printf("%llu pings sent, %llu pongs received, %.0f%% lost, "
              "time %.0f ms\n",
              static_cast<unsigned long long>(sent),
              static_cast<unsigned long long>(received),
              sent == 0
                ? 0.0
                : 100.0 * static_cast<double>(lost) / static_cast<double>(sent),
              to_ms(absl::Now() - started));
  if (received > 0)
    std::printf("rtt min/avg/max = %.3f/%.3f/%.3f ms\n", to_ms(min_rtt),
                to_ms(sum_rtt / static_cast<double>(received)), to_ms(max_rtt));
  std::fflush(stdout);
  if (lost > 0 && outcome == exit_code::ok)
    outcome = exit_code::remote_error;
  return outcome;
}

} // namespace weft::cli
