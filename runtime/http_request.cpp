#include "runtime/http_request.hpp"

#include <absl/strings/ascii.h>
#include <absl/strings/match.h>
#include <absl/strings/numbers.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/str_split.h>
#include <absl/strings/strip.h>

#include "runtime/body_codec.hpp"
#include "runtime/error_bridge.hpp"
#include "runtime/http_path_pattern.hpp"

namespace weft {

namespace {

/// The value of parameter `name` in a header value such as
/// `multipart/form-data; boundary="xyz"` ("" if absent).
std::string header_param(absl::string_view value, absl::string_view name) {
  for (auto part : absl::StrSplit(value, ';')) {
    part = absl::StripAsciiWhitespace(part);
    auto eq = part.find('=');
    if (eq == absl::string_view::npos)
      continue;
    auto key = absl::StripAsciiWhitespace(part.substr(0, eq));
    if (!absl::EqualsIgnoreCase(key, name))
      continue;
    auto v = absl::StripAsciiWhitespace(part.substr(eq + 1));
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"')
      v = v.substr(1, v.size() - 2);
    return std::string{v};
  }
  return {};
}

absl::string_view media_type(absl::string_view content_type) {
  return absl::StripAsciiWhitespace(
    content_type.substr(0, content_type.find(';')));
}

} // namespace

absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
parse_urlencoded(absl::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  for (auto pair : absl::StrSplit(text, '&', absl::SkipEmpty())) {
    auto eq = pair.find('=');
    std::string key;
    std::string value;
    if (!percent_decode(pair.substr(0, eq), key, true)
        || (eq != absl::string_view::npos
            && !percent_decode(pair.substr(eq + 1), value, true)))
      return make_status(errc::invalid_argument,
                         "malformed %-escape in urlencoded text");
    out.emplace_back(std::move(key), std::move(value));
  }
  return out;
}

absl::StatusOr<std::vector<form_field>>
parse_multipart(absl::string_view body, absl::string_view boundary) {
  auto bad = [](absl::string_view why) {
    return make_status(errc::invalid_argument,
                       absl::StrCat("malformed multipart body: ", why));
  };
  if (boundary.empty() || boundary.size() > 70)
    return bad("missing or overlong boundary");
  std::string delimiter = absl::StrCat("--", boundary);
  auto at = body.find(delimiter);
  if (at == absl::string_view::npos)
    return bad("no boundary");
  std::vector<form_field> out;
  // After each delimiter: "--" ends the body, CRLF starts a part.
  auto rest = body.substr(at + delimiter.size());
  std::string next_delimiter = absl::StrCat("\r\n", delimiter);
  for (int parts = 0; parts < 10000; ++parts) {
    if (absl::StartsWith(rest, "--"))
      return out;
    if (!absl::ConsumePrefix(&rest, "\r\n"))
      return bad("a boundary is not followed by CRLF");
    auto head_end = rest.find("\r\n\r\n");
    if (head_end == absl::string_view::npos)
      return bad("a part has no end of headers");
    auto head = rest.substr(0, head_end);
    rest = rest.substr(head_end + 4);
    auto end = rest.find(next_delimiter);
    if (end == absl::string_view::npos)
      return bad("a part has no closing boundary");
    form_field field;
    field.value = std::string{rest.substr(0, end)};
    rest = rest.substr(end + next_delimiter.size());
    for (auto line : absl::StrSplit(head, "\r\n", absl::SkipEmpty())) {
      auto colon = line.find(':');
      if (colon == absl::string_view::npos)
        return bad("a part header has no colon");
      auto name = absl::StripAsciiWhitespace(line.substr(0, colon));
      auto value = absl::StripAsciiWhitespace(line.substr(colon + 1));
      if (absl::EqualsIgnoreCase(name, "content-disposition")) {
        field.name = header_param(value, "name");
        field.filename = header_param(value, "filename");
      } else if (absl::EqualsIgnoreCase(name, "content-type")) {
        field.content_type = std::string{value};
      }
    }
    out.push_back(std::move(field));
  }
  return bad("too many parts");
}

absl::StatusOr<http_request> http_request::from(const payload& body,
                                                const context& ctx) {
  const auto* method = ctx.metadata(http_method_key);
  if (!method)
    return make_status(errc::invalid_argument,
                       absl::StrCat("route '", ctx.route(),
                                    "' is an HTTP route: call it over HTTP"));
  http_request out;
  out.method_ = *method;
  out.content_type_ = ctx.content_type();
  out.body_ = body;
  const std::string prefix = http_param_prefix;
  for (const auto& [key, value] : ctx.metadata()) {
    if (key == http_path_key)
      out.path_ = value;
    else if (key == http_query_key) {
      auto query = parse_urlencoded(value);
      if (!query.ok())
        return query.status();
      out.query_ = std::move(*query);
    } else if (absl::StartsWith(key, prefix))
      out.params_.emplace_back(key.substr(prefix.size()), value);
    else if (!key.empty() && key[0] != ':')
      out.headers_.emplace(key, value);
  }
  return out;
}

const std::string* http_request::param(absl::string_view name) const {
  for (const auto& [k, v] : params_)
    if (k == name)
      return &v;
  return nullptr;
}

absl::StatusOr<std::int64_t>
http_request::int_param(absl::string_view name) const {
  const auto* text = param(name);
  std::int64_t n = 0;
  if (!text || !absl::SimpleAtoi(*text, &n))
    return make_status(errc::invalid_argument,
                       absl::StrCat("path parameter '", name,
                                    "' is not an integer"));
  return n;
}

const std::string* http_request::query(absl::string_view name) const {
  for (const auto& [k, v] : query_)
    if (k == name)
      return &v;
  return nullptr;
}

absl::string_view http_request::last_event_id() const {
  const auto* id = header("last-event-id");
  return id ? absl::string_view{*id} : absl::string_view{};
}

const std::string* http_request::header(absl::string_view name) const {
  auto found = headers_.find(absl::AsciiStrToLower(name));
  return found == headers_.end() ? nullptr : &found->second;
}

absl::string_view http_request::text() const noexcept {
  return body_.bytes().view();
}

absl::StatusOr<google::protobuf::Value> http_request::json() const {
  return parse_json(text());
}

absl::StatusOr<std::vector<form_field>> http_request::form() const {
  auto type = media_type(content_type_);
  if (absl::EqualsIgnoreCase(type, "application/x-www-form-urlencoded")) {
    auto pairs = parse_urlencoded(text());
    if (!pairs.ok())
      return pairs.status();
    std::vector<form_field> out;
    out.reserve(pairs->size());
    for (auto& [k, v] : *pairs)
      out.push_back(form_field{std::move(k), std::move(v), {}, {}});
    return out;
  }
  if (absl::EqualsIgnoreCase(type, "multipart/form-data"))
    return parse_multipart(text(), header_param(content_type_, "boundary"));
  return make_status(errc::invalid_argument,
                     absl::StrCat("not a form: content type '",
                                  content_type_, "'"));
}

} // namespace weft
