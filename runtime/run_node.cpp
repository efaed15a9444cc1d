#include "runtime/run_node.hpp"

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include <absl/time/clock.h>

#include "runtime/config_loader.hpp"
#include "runtime/shutdown_signals.hpp"
#include "runtime/version.hpp"

extern char** environ;

namespace weft {

namespace {

const char* signal_name(int sig) {
  return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "signal";
}

/// Ends the process if the drain and shutdown overrun `limit`, or at once on
/// a second signal. Runs on its own thread; `done` stops it.
void watchdog(const sigset_t& signals, absl::Duration limit,
              const logger& log, const std::atomic<bool>& done) {
  auto deadline = absl::Now() + limit;
  while (!done.load()) {
    auto left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      log.error("node.stop_overrun", {{"limit", limit}});
      _exit(1);
    }
    // Wake at least every 50 ms to notice `done`.
    int sig = wait_for_signal(signals, std::min(left, absl::Milliseconds(50)));
    if (sig > 0) {
      log.warn("node.forced_exit", {{"signal", signal_name(sig)}});
      _exit(1);
    }
  }
}

} // namespace

int run_node(int argc, char** argv, const node_setup& setup,
             absl::string_view program, node_config defaults) {
  auto signals = block_shutdown_signals();
  std::string name{program};
  std::vector<std::string> args(argv + 1, argv + argc);
  auto help = help_text(name, defaults);
  auto loaded = load_config(args, env_from(environ), std::move(defaults));
  if (!loaded.ok()) {
    std::fprintf(stderr, "%s: %s\n", name.c_str(),
                 std::string{loaded.status().message()}.c_str());
    return 2;
  }
  if (loaded->action == config_action::help) {
    std::fputs(help.c_str(), stdout);
    return 0;
  }
  if (loaded->action == config_action::version) {
    std::printf("%s %s\n", name.c_str(), version_string);
    return 0;
  }
  const auto& cfg = loaded->config;
  logger log{cfg.log_level};
  for (const auto& warning : loaded->warnings)
    log.warn("config.warning", {{"message", warning}});
  auto started = node::start(cfg, log);
  if (!started.ok()) {
    log.error("node.start_failed", {{"error", started.status()}});
    // A configuration the node cannot use (e.g. node TLS files) is a usage
    // error like a bad flag.
    auto code = started.status().code();
    return code == absl::StatusCode::kInvalidArgument
               || code == absl::StatusCode::kFailedPrecondition
             ? 2
             : 1;
  }
  auto& n = **started;
  if (auto st = setup ? setup(n) : absl::OkStatus(); !st.ok()) {
    log.error("node.setup_failed", {{"error", st}});
    return 1;
  }
  if (auto st = n.listen(); !st.ok()) {
    log.error("node.listen_failed", {{"error", st}});
    return 1;
  }
  log.info("node.started",
           {{"name", cfg.name},
            {"version", version_string},
            {"scheduler_threads", cfg.effective_scheduler_threads()},
            {"io", n.reactors().on_workers() ? "workers" : "threads"},
            {"config", loaded->config_file.value_or("none")},
            {"drain_timeout", cfg.drain_timeout}});
  int sig = 0;
  while (sigwait(&signals, &sig) != 0) {
  }
  log.info("node.stopping",
           {{"signal", signal_name(sig)}, {"drain_timeout", cfg.drain_timeout}});
  std::atomic<bool> done{false};
  // The drain has the configured budget; stopping the actors after it gets a
  // short grace period before the watchdog gives up on them.
  std::thread guard{[&] {
    watchdog(signals, cfg.drain_timeout + absl::Seconds(2), log, done);
  }};
  auto drained = n.drain();
  started->reset(); // stops every actor and the actor system
  done = true;
  guard.join();
  log.info("node.stopped", {{"drain", drained}});
  return 0;
}

} // namespace weft
