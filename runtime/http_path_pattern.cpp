#include "runtime/http_path_pattern.hpp"

#include <absl/strings/ascii.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/str_split.h>

#include "runtime/error_bridge.hpp"

namespace weft {

namespace {

bool valid_name(absl::string_view name) {
  if (name.empty() || absl::ascii_isdigit(static_cast<unsigned char>(name[0])))
    return false;
  for (char c : name)
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_')
      return false;
  return true;
}

bool is_int(absl::string_view s) {
  if (!s.empty() && s[0] == '-')
    s.remove_prefix(1);
  if (s.empty() || s.size() > 19)
    return false;
  for (char c : s)
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c)))
      return false;
  return true;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

} // namespace

bool percent_decode(absl::string_view in, std::string& out,
                    bool plus_is_space) {
  out.clear();
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size())
        return false;
      int hi = hex_value(in[i + 1]);
      int lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0)
        return false;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return true;
}

absl::StatusOr<http_path_pattern>
http_path_pattern::parse(absl::string_view text) {
  auto bad = [&](absl::string_view why) {
    return make_status(errc::invalid_argument,
                       absl::StrCat("HTTP path '", text, "': ", why));
  };
  if (text.empty() || text[0] != '/')
    return bad("must start with '/'");
  http_path_pattern out;
  out.text_ = std::string{text};
  if (text == "/")
    return out;
  std::vector<absl::string_view> parts
    = absl::StrSplit(text.substr(1), '/');
  for (std::size_t i = 0; i < parts.size(); ++i) {
    auto part = parts[i];
    segment seg;
    if (!part.empty() && part.front() == '{') {
      if (part.back() != '}')
        return bad("a parameter must fill a whole segment");
      auto inner = part.substr(1, part.size() - 2);
      if (!inner.empty() && inner[0] == '*') {
        if (i + 1 != parts.size())
          return bad("a wildcard {*name} must be the last segment");
        seg.what = kind::wildcard;
        inner.remove_prefix(1);
      } else if (auto colon = inner.find(':');
                 colon != absl::string_view::npos) {
        if (inner.substr(colon + 1) != "int")
          return bad(absl::StrCat("unknown parameter type '",
                                  inner.substr(colon + 1),
                                  "' (only int)"));
        seg.what = kind::int_param;
        inner = inner.substr(0, colon);
      } else {
        seg.what = kind::param;
      }
      if (!valid_name(inner))
        return bad(absl::StrCat("bad parameter name '", inner, "'"));
      for (const auto& s : out.segments_)
        if (s.what != kind::literal && s.text == inner)
          return bad(absl::StrCat("parameter '", inner, "' appears twice"));
      seg.text = std::string{inner};
    } else {
      if (part.find_first_of("{}") != absl::string_view::npos)
        return bad("a parameter must fill a whole segment");
      std::string decoded;
      if (!percent_decode(part, decoded, false))
        return bad("malformed %-escape");
      seg.text = std::move(decoded);
    }
    out.segments_.push_back(std::move(seg));
  }
  return out;
}

bool http_path_pattern::match(absl::string_view path,
                              std::vector<param>& params) const {
  params.clear();
  if (path.empty() || path[0] != '/')
    return false;
  path.remove_prefix(1);
  std::string decoded;
  std::size_t i = 0;
  for (; i < segments_.size(); ++i) {
    const auto& seg = segments_[i];
    if (seg.what == kind::wildcard) {
      if (!percent_decode(path, decoded, false))
        return false;
      params.emplace_back(seg.text, std::move(decoded));
      return true;
    }
    auto slash = path.find('/');
    auto part = path.substr(0, slash);
    bool last = slash == absl::string_view::npos;
    if (!percent_decode(part, decoded, false))
      return false;
    switch (seg.what) {
      case kind::literal:
        if (decoded != seg.text)
          return false;
        break;
      case kind::int_param:
        if (!is_int(decoded))
          return false;
        params.emplace_back(seg.text, decoded);
        break;
      case kind::param:
        if (decoded.empty())
          return false;
        params.emplace_back(seg.text, decoded);
        break;
      case kind::wildcard:
        break;
    }
    if (last) {
      ++i;
      // Every segment must be used, except a wildcard, which may match
      // nothing.
      return i == segments_.size()
             || (i + 1 == segments_.size()
                 && segments_[i].what == kind::wildcard
                 && (params.emplace_back(segments_[i].text, ""), true));
    }
    path = path.substr(slash + 1);
  }
  // Segments used up but the path goes on; "/" alone matches the empty
  // pattern.
  return segments_.empty() && path.empty();
}

int http_path_pattern::specificity() const noexcept {
  int score = 0;
  for (const auto& s : segments_) {
    switch (s.what) {
      case kind::literal:
        score += 3;
        break;
      case kind::int_param:
        score += 2;
        break;
      case kind::param:
        score += 1;
        break;
      case kind::wildcard:
        break;
    }
  }
  return score;
}

} // namespace weft
