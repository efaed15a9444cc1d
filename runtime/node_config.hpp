#pragma once

#include <absl/strings/string_view.h>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include <absl/status/status.h>
#include <absl/time/time.h>

#include "runtime/logger.hpp"

namespace weft {

/// Everything a node is configured with. Defaults are the embedded demo
/// node's; docs/configuration.md lists every option.
struct node_config {
  /// Name of this node in logs and (later) in the cluster.
  std::string name = "weft";
  /// CAF scheduler worker threads; 0 means one per core.
  std::size_t scheduler_threads = 0;
  /// Lowest level written to stderr.
  weft::log_level log_level = weft::log_level::info;
  /// Upper bound on a graceful drain after SIGTERM / SIGINT.
  absl::Duration drain_timeout = absl::Seconds(5);

  /// Returns scheduler_threads, or the number of cores when it is 0.
  std::size_t effective_scheduler_threads() const;
};

/// One configurable option: its name is the flag (`--drain-timeout`), the
/// config-file key (`drain-timeout = 5s`) and, upper-cased with `_` for `-`
/// and prefixed `WEFT_`, the environment variable (`WEFT_DRAIN_TIMEOUT`).
struct config_option {
  std::string name;
  /// Placeholder for the value in --help, e.g. "DURATION".
  std::string value_name;
  std::string help;
  /// Renders the option's current value of `cfg`, e.g. for defaults.
  std::function<std::string(const node_config& cfg)> get;
  /// Parses `value` into `cfg`; the status names what was expected.
  std::function<absl::Status(node_config& cfg, absl::string_view value)> set;
  /// True for booleans, which allow a bare `--flag`.
  bool is_bool = false;
};

/// Returns the table of every node option, in --help order.
std::vector<config_option> node_options();

/// Returns the environment variable name of option `name`.
std::string env_name_of(absl::string_view name);

} // namespace weft
