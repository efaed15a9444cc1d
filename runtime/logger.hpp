#pragma once

#include <absl/strings/string_view.h>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <type_traits>

#include <absl/status/status.h>
#include <absl/time/time.h>

namespace weft {

/// Severity of a log line; lines below the logger's level are dropped.
enum class log_level : std::uint8_t { debug, info, warn, error, off };

/// Returns "debug", "info", "warn", "error" or "off".
absl::string_view to_string(log_level level) noexcept;

/// Parses a level name as printed by to_string.
bool from_string(absl::string_view name, log_level& out) noexcept;

/// One key=value pair of a log line. Values are rendered at construction.
struct log_field {
  log_field(absl::string_view k, absl::string_view v) : key(k), value(v) {}
  log_field(absl::string_view k, const std::string& v) : key(k), value(v) {}
  log_field(absl::string_view k, const char* v) : key(k), value(v) {}
  log_field(absl::string_view k, bool v)
    : key(k), value(v ? "true" : "false") {}
  template <class Int, class = std::enable_if_t<std::is_integral_v<Int>>>
  log_field(absl::string_view k, Int v) : key(k), value(std::to_string(v)) {}
  log_field(absl::string_view k, double v);
  log_field(absl::string_view k, absl::Duration v);
  log_field(absl::string_view k, const absl::Status& v);

  absl::string_view key;
  std::string value;
};

/// Writes one line per event to a file descriptor (stderr by default) in
/// logfmt: `ts=... level=info event=node.started threads=2`. Each line goes
/// out in a single write(2), so lines from concurrent threads never mix.
/// A logger is a small value: copy it into each actor's state; it is safe to
/// use from any thread.
class logger {
public:
  /// Logs at `level` and above to `fd`; the fd is not owned.
  explicit logger(log_level level = log_level::info, int fd = 2)
    : level_(level), fd_(fd) {}

  log_level level() const noexcept {
    return level_;
  }

  bool enabled(log_level level) const noexcept {
    return level >= level_ && level_ != log_level::off;
  }

  /// Writes `event` with `fields` if `level` is enabled.
  void log(log_level level, absl::string_view event,
           std::initializer_list<log_field> fields = {}) const;

  void debug(absl::string_view event,
             std::initializer_list<log_field> fields = {}) const {
    log(log_level::debug, event, fields);
  }
  void info(absl::string_view event,
            std::initializer_list<log_field> fields = {}) const {
    log(log_level::info, event, fields);
  }
  void warn(absl::string_view event,
            std::initializer_list<log_field> fields = {}) const {
    log(log_level::warn, event, fields);
  }
  void error(absl::string_view event,
             std::initializer_list<log_field> fields = {}) const {
    log(log_level::error, event, fields);
  }

  /// Renders a line without writing it (used by log and by tests).
  static std::string format(absl::Time now, log_level level,
                            absl::string_view event,
                            std::initializer_list<log_field> fields);

private:
  log_level level_;
  int fd_;
};

} // namespace weft
