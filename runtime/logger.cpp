#include "runtime/logger.hpp"

#include <cerrno>
#include <unistd.h>

#include <absl/strings/str_cat.h>
#include <absl/strings/str_format.h>

namespace weft {

namespace {

constexpr absl::string_view level_names[]
  = {"debug", "info", "warn", "error", "off"};

bool needs_quotes(absl::string_view value) {
  if (value.empty())
    return true;
  for (char c : value) {
    auto u = static_cast<unsigned char>(c);
    if (u <= ' ' || c == '"' || c == '=' || c == '\\' || u == 0x7f)
      return true;
  }
  return false;
}

void append_value(std::string& out, absl::string_view value) {
  if (!needs_quotes(value)) {
    absl::StrAppend(&out, value);
    return;
  }
  out.push_back('"');
  for (char c : value) {
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      default:
        if (static_cast<unsigned char>(c) < ' ' || c == 0x7f)
          absl::StrAppendFormat(&out, "\\x%02x", static_cast<unsigned char>(c));
        else
          out.push_back(c);
    }
  }
  out.push_back('"');
}

} // namespace

absl::string_view to_string(log_level level) noexcept {
  auto index = static_cast<size_t>(level);
  return index < std::size(level_names) ? level_names[index] : "unknown";
}

bool from_string(absl::string_view name, log_level& out) noexcept {
  for (size_t i = 0; i < std::size(level_names); ++i) {
    if (level_names[i] == name) {
      out = static_cast<log_level>(i);
      return true;
    }
  }
  return false;
}

log_field::log_field(absl::string_view k, double v)
  : key(k), value(absl::StrFormat("%g", v)) {}

log_field::log_field(absl::string_view k, absl::Duration v)
  : key(k), value(absl::FormatDuration(v)) {}

log_field::log_field(absl::string_view k, const absl::Status& v)
  : key(k), value(v.ok() ? std::string{"ok"} : v.ToString()) {}

std::string logger::format(absl::Time now, log_level level,
                           absl::string_view event,
                           std::initializer_list<log_field> fields) {
  std::string line;
  line.reserve(128);
  line.append("ts=");
  line.append(
    absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", now, absl::UTCTimeZone()));
  line.append(" level=");
  absl::StrAppend(&line, to_string(level));
  line.append(" event=");
  append_value(line, event);
  for (const auto& field : fields) {
    line.push_back(' ');
    absl::StrAppend(&line, field.key);
    line.push_back('=');
    append_value(line, field.value);
  }
  line.push_back('\n');
  return line;
}

void logger::log(log_level level, absl::string_view event,
                 std::initializer_list<log_field> fields) const {
  if (!enabled(level))
    return;
  auto line = format(absl::Now(), level, event, fields);
  // One write per line keeps lines whole; retry on EINTR and short writes.
  const char* data = line.data();
  size_t left = line.size();
  while (left > 0) {
    auto n = ::write(fd_, data, left);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return; // Nowhere left to report a failing log sink.
    }
    data += n;
    left -= static_cast<size_t>(n);
  }
}

} // namespace weft
