// weftd: starts a weft node with the embedded demo app and runs it until
// SIGINT or SIGTERM, then drains gracefully. Exit codes: 0 after a clean
// stop, 1 when the node fails at start or cannot stop, 2 for bad options.

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <pthread.h>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include <absl/strings/str_cat.h>
#include <absl/time/clock.h>

#include "actors/demo_routes.hpp"
#include "gateways/binary/binary_gateway.hpp"
#include "runtime/config_loader.hpp"
#include "runtime/node.hpp"
#include "runtime/version.hpp"

extern char** environ;

namespace {

/// Blocks SIGINT and SIGTERM in this thread and, through inheritance, in
/// every thread started later (CAF's workers): signals are then taken only
/// by sigwait / sigtimedwait, never by a handler running at a random point.
sigset_t block_shutdown_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

const char* signal_name(int sig) {
  return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "signal";
}

/// Ends the process if the drain and shutdown overrun `limit`, or at once on
/// a second signal. Runs on its own thread; `done` stops it.
void watchdog(const sigset_t& signals, absl::Duration limit,
              const weft::logger& log, const std::atomic<bool>& done) {
  auto deadline = absl::Now() + limit;
  while (!done.load()) {
    auto left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      log.error("node.stop_overrun", {{"limit", limit}});
      _exit(1);
    }
    // Wake at least every 50 ms to notice `done`.
    auto slice = std::min(left, absl::Milliseconds(50));
    auto ts = absl::ToTimespec(slice);
    int sig = sigtimedwait(&signals, nullptr, &ts);
    if (sig > 0) {
      log.warn("node.forced_exit", {{"signal", signal_name(sig)}});
      _exit(1);
    }
  }
}

/// The binary gateway's settings from the node's configuration.
weft::binary::binary_gateway_options
binary_options(const weft::node_config& cfg, const weft::endpoint& at) {
  weft::binary::binary_gateway_options opts;
  opts.host = at.host;
  opts.port = at.port;
  opts.session.local = cfg.limits;
  opts.session.spill_threshold = cfg.spill_threshold;
  opts.session.spill_dir = cfg.spill_dir;
  opts.session.cancel_burst = cfg.cancel_burst;
  opts.session.cancel_rate = cfg.cancel_rate;
  opts.session.max_queued_control = cfg.max_queued_control;
  opts.handler_timeout = cfg.handler_timeout;
  opts.max_inflight_requests = cfg.max_inflight_requests;
  return opts;
}

/// Starts the embedded demo app: the `echo` and `sink` routes on the binary
/// protocol. Returns false (after logging why) if a listener cannot start.
bool start_demo_app(weft::node& node) {
  const auto& cfg = node.config();
  auto& sys = node.system();
  auto routes = std::make_shared<weft::binary::route_table>();
  (*routes)["echo"] = {weft::spawn_echo_route(sys), true};
  (*routes)["sink"] = {weft::spawn_sink_route(sys), true};
  for (const auto& [name, route] : *routes)
    node.own(route.handler);
  if (!cfg.tcp_listen.empty()) {
    auto at = weft::parse_endpoint(cfg.tcp_listen);
    auto gateway
      = at.ok() ? weft::binary::start_binary_gateway(
          sys, node.reactors(), routes, binary_options(cfg, *at), node.log())
                : absl::StatusOr<weft::binary::binary_gateway>{at.status()};
    if (!gateway.ok()) {
      node.log().error("binary.listen_failed",
                       {{"listen", cfg.tcp_listen},
                        {"error", gateway.status()}});
      return false;
    }
    node.add_drain_participant(gateway->listener);
    node.log().info("binary.listening",
                    {{"address", absl::StrCat(at->host, ":", gateway->port)},
                     {"routes", "echo,sink"}});
  }
  return true;
}

} // namespace

int main(int argc, char** argv) {
  auto signals = block_shutdown_signals();
  std::vector<std::string> args(argv + 1, argv + argc);
  auto loaded = weft::load_config(args, weft::env_from(environ));
  if (!loaded.ok()) {
    std::fprintf(stderr, "weftd: %s\n",
                 std::string{loaded.status().message()}.c_str());
    return 2;
  }
  if (loaded->action == weft::config_action::help) {
    std::fputs(weft::help_text("weftd").c_str(), stdout);
    return 0;
  }
  if (loaded->action == weft::config_action::version) {
    std::printf("weftd %s\n", weft::version_string);
    return 0;
  }
  const auto& cfg = loaded->config;
  weft::logger log{cfg.log_level};
  for (const auto& warning : loaded->warnings)
    log.warn("config.warning", {{"message", warning}});
  auto started = weft::node::start(cfg, log);
  if (!started.ok()) {
    log.error("node.start_failed", {{"error", started.status()}});
    return 1;
  }
  auto& node = **started;
  if (!start_demo_app(node))
    return 1;
  log.info("node.started",
           {{"name", cfg.name},
            {"version", weft::version_string},
            {"scheduler_threads", cfg.effective_scheduler_threads()},
            {"config", loaded->config_file.value_or("none")},
            {"drain_timeout", cfg.drain_timeout}});
  int sig = 0;
  while (sigwait(&signals, &sig) != 0) {
  }
  log.info("node.stopping", {{"signal", signal_name(sig)},
                             {"drain_timeout", cfg.drain_timeout}});
  std::atomic<bool> done{false};
  // The drain has the configured budget; stopping the actors after it gets a
  // short grace period before the watchdog gives up on them.
  std::thread guard{[&] {
    watchdog(signals, cfg.drain_timeout + absl::Seconds(2), log, done);
  }};
  auto drained = node.drain();
  started->reset(); // stops every actor and the actor system
  done = true;
  guard.join();
  log.info("node.stopped", {{"drain", drained}});
  return 0;
}
