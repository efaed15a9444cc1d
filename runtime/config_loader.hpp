#pragma once

#include <absl/strings/string_view.h>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <absl/status/statusor.h>

#include "runtime/node_config.hpp"

namespace weft {

/// Environment variables as name -> value; only `WEFT_*` entries matter.
using env_map = std::map<std::string, std::string, std::less<>>;

/// Copies the process environment (`environ`-style, null-terminated).
env_map env_from(char** envp);

/// What the command line asked for besides configuration.
enum class config_action { run, help, version };

/// The outcome of load_config.
struct loaded_config {
  node_config config;
  config_action action = config_action::run;
  /// The config file that was read, if any.
  std::optional<std::string> config_file;
  /// Things worth a warning that did not stop loading, e.g. an unknown
  /// WEFT_* environment variable (the environment is shared with other tools).
  std::vector<std::string> warnings;
};

/// Builds the configuration in rising precedence: built-in defaults, the
/// config file (`--config FILE`, else `WEFT_CONFIG`), `WEFT_*` environment
/// variables, then command-line flags. `args` excludes the program name.
/// Errors are `invalid_argument` and name the flag, variable or file:line;
/// unknown flags and file keys are errors, unknown variables warnings.
/// `defaults` are the program's built-in defaults (weftd's differ from
/// node_config{} in http_listen).
absl::StatusOr<loaded_config> load_config(const std::vector<std::string>& args,
                                          const env_map& env,
                                          node_config defaults = {});

/// Parses config-file text (`key = value` lines, `#` comments) into `cfg`;
/// `origin` names the file in errors.
absl::Status apply_config_text(absl::string_view text, absl::string_view origin,
                               node_config& cfg);

/// Returns the --help text: usage and every option with its default.
std::string help_text(absl::string_view program,
                      const node_config& defaults = {});

} // namespace weft
