#include "runtime/cli/node_call.hpp"

#include <chrono>
#include <cstdio>

#include <absl/strings/str_cat.h>
#include <absl/time/clock.h>

#include "runtime/cli/signals.hpp"
#include "runtime/error_bridge.hpp"

namespace weft::cli {

namespace {

/// How long past the deadline we wait for the client to report it itself
/// before giving up on it locally.
constexpr absl::Duration deadline_grace = absl::Seconds(2);

/// How often the main thread wakes to redraw the bar and look for signals.
constexpr auto poll_period = std::chrono::milliseconds(100);

} // namespace

std::string node_address(const cli_args& args) {
  return args.host.find(':') == std::string::npos
           ? absl::StrCat(args.host, ":", args.port)
           : absl::StrCat("[", args.host, "]:", args.port);
}

std::unique_ptr<client> connect_to_node(const cli_args& args,
                                        client_options opts) {
  opts.host = args.host;
  opts.port = args.port;
  opts.reconnect = false;
  auto cli = client::connect(std::move(opts));
  if (!cli.ok()) {
    std::fprintf(stderr, "%s\n", error_line(cli.status()).c_str());
    return nullptr;
  }
  return std::move(*cli);
}

awaited_reply await_reply(client& cli, pending_call& pending,
                          absl::Time start, absl::Duration timeout,
                          const sigset_t& interrupts, progress_bar& bar) {
  awaited_reply out;
  while (pending.result.wait_for(poll_period) != std::future_status::ready) {
    auto now = absl::Now();
    bar.tick(now);
    if (wait_for_signal(interrupts, absl::ZeroDuration()) != 0) {
      cli.cancel(pending.token);
      bar.clear();
      std::fprintf(stderr, "weft: interrupted, call cancelled\n");
      out.stopped = exit_code::interrupted;
      return out;
    }
    if (timeout > absl::ZeroDuration() && now - start > timeout + deadline_grace) {
      // The client reports deadlines itself; this is only a safety net.
      cli.cancel(pending.token);
      bar.clear();
      auto line = error_line(make_status(
        errc::deadline_exceeded,
        absl::StrCat("no reply within ", absl::FormatDuration(timeout))));
      std::fprintf(stderr, "%s\n", line.c_str());
      out.stopped = exit_code::remote_error;
      return out;
    }
  }
  bar.clear();
  out.result = pending.result.get();
  return out;
}

} // namespace weft::cli
