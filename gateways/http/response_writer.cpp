#include "gateways/http/response_writer.hpp"

#include <algorithm>
#include <vector>

#include <absl/strings/ascii.h>
#include <absl/strings/match.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/str_split.h>

#include "gateways/http/status_codes.hpp"

namespace weft::http {

namespace {

bool is_tchar(char c) {
  if (absl::ascii_isalnum(static_cast<unsigned char>(c)))
    return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*':
    case '+': case '-': case '.': case '^': case '_': case '`': case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

void append_json_string(std::string& out, absl::string_view s) {
  out.push_back('"');
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          static const char* hex = "0123456789abcdef";
          out += "\\u00";
          out.push_back(hex[(c >> 4) & 0xf]);
          out.push_back(hex[c & 0xf]);
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

/// Headers the gateway owns: a handler cannot set (or duplicate) them.
bool reserved_header(absl::string_view name) {
  for (const char* own : {"content-length", "transfer-encoding", "connection",
                          "date", "content-type", "keep-alive", "upgrade",
                          "x-request-id"})
    if (absl::EqualsIgnoreCase(name, own))
      return true;
  return false;
}

} // namespace

bool valid_header_name(absl::string_view name) {
  if (name.empty())
    return false;
  for (char c : name)
    if (!is_tchar(c))
      return false;
  return true;
}

bool valid_header_value(absl::string_view value) {
  for (char c : value) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f)
      return false;
  }
  return true;
}

std::string write_head(const response_head& head, absl::string_view date) {
  std::string out;
  out.reserve(160);
  absl::StrAppend(&out, "HTTP/1.1 ", head.status, " ",
                  reason_phrase(head.status), "\r\nDate: ", date, "\r\n");
  // A handler's content type is untrusted text too.
  if (!head.content_type.empty() && valid_header_value(head.content_type))
    absl::StrAppend(&out, "Content-Type: ", head.content_type, "\r\n");
  bool no_body = head.status < 200 || head.status == 204 || head.status == 304;
  if (head.chunked)
    out += "Transfer-Encoding: chunked\r\n";
  else if (!no_body && !head.until_close)
    absl::StrAppend(&out, "Content-Length: ", head.content_length, "\r\n");
  if (!head.allow.empty())
    absl::StrAppend(&out, "Allow: ", head.allow, "\r\n");
  if (!head.request_id.empty())
    absl::StrAppend(&out, "X-Request-Id: ", head.request_id, "\r\n");
  if (head.extra) {
    for (const auto& [name, value] : *head.extra) {
      if (name.empty() || name[0] == ':' || !valid_header_name(name)
          || reserved_header(name))
        continue;
      // One header line per line of the value; a value with any invalid
      // line (a CR, a NUL) is dropped whole.
      std::vector<absl::string_view> lines = absl::StrSplit(value, '\n');
      if (!std::all_of(lines.begin(), lines.end(), valid_header_value))
        continue;
      for (auto line : lines)
        absl::StrAppend(&out, name, ": ", line, "\r\n");
    }
  }
  if (head.close)
    out += "Connection: close\r\n";
  else if (head.keep_alive_10)
    out += "Connection: keep-alive\r\n";
  out += "\r\n";
  return out;
}

std::string error_json(errc code, absl::string_view message) {
  std::string out = "{\"code\":";
  append_json_string(out, to_string(code));
  out += ",\"message\":";
  append_json_string(out, message);
  out += "}";
  return out;
}

} // namespace weft::http
