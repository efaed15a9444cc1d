#include "runtime/node_config.hpp"

#include <thread>

#include <absl/strings/ascii.h>
#include <absl/strings/numbers.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/str_replace.h>

#include "runtime/error_bridge.hpp"

namespace weft {

namespace {

absl::Status invalid(absl::string_view expected) {
  return make_status(errc::invalid_argument,
                     absl::StrCat("expected ", expected));
}

absl::Status parse_duration(absl::string_view text, absl::Duration& out) {
  absl::Duration value;
  if (!absl::ParseDuration(text, &value) || value < absl::ZeroDuration()
      || value == absl::InfiniteDuration())
    return invalid("a duration such as 5s, 250ms or 1m30s");
  out = value;
  return absl::OkStatus();
}

} // namespace

std::size_t node_config::effective_scheduler_threads() const {
  if (scheduler_threads != 0)
    return scheduler_threads;
  auto cores = std::thread::hardware_concurrency();
  return cores == 0 ? 1 : cores;
}

std::string env_name_of(absl::string_view name) {
  auto upper = absl::AsciiStrToUpper(name);
  return absl::StrCat("WEFT_", absl::StrReplaceAll(upper, {{"-", "_"}}));
}

std::vector<config_option> node_options() {
  std::vector<config_option> options;
  options.push_back({
    "name",
    "NAME",
    "name of this node in logs and in the cluster",
    [](const node_config& cfg) { return cfg.name; },
    [](node_config& cfg, absl::string_view value) {
      if (value.empty() || value.size() > 64)
        return invalid("a name of 1 to 64 characters");
      for (char c : value)
        if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-'
            && c != '_' && c != '.')
          return invalid("a name of letters, digits, '-', '_' and '.'");
      cfg.name = std::string{value};
      return absl::OkStatus();
    },
  });
  options.push_back({
    "scheduler-threads",
    "N|auto",
    "CAF scheduler worker threads; auto is one per core",
    [](const node_config& cfg) {
      return cfg.scheduler_threads == 0 ? absl::StrCat(
               "auto (", cfg.effective_scheduler_threads(), " here)")
                                        : std::to_string(cfg.scheduler_threads);
    },
    [](node_config& cfg, absl::string_view value) {
      if (value == "auto") {
        cfg.scheduler_threads = 0;
        return absl::OkStatus();
      }
      std::size_t n = 0;
      if (!absl::SimpleAtoi(value, &n) || n < 1 || n > 1024)
        return invalid("auto or a number from 1 to 1024");
      cfg.scheduler_threads = n;
      return absl::OkStatus();
    },
  });
  options.push_back({
    "log-level",
    "LEVEL",
    "lowest level logged to stderr: debug, info, warn, error or off",
    [](const node_config& cfg) {
      return std::string{to_string(cfg.log_level)};
    },
    [](node_config& cfg, absl::string_view value) {
      if (!from_string(value, cfg.log_level))
        return invalid("one of debug, info, warn, error, off");
      return absl::OkStatus();
    },
  });
  options.push_back({
    "drain-timeout",
    "DURATION",
    "how long a graceful drain may take after SIGTERM or SIGINT",
    [](const node_config& cfg) {
      return absl::FormatDuration(cfg.drain_timeout);
    },
    [](node_config& cfg, absl::string_view value) {
      return parse_duration(value, cfg.drain_timeout);
    },
  });
  return options;
}

} // namespace weft
