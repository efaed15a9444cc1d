#pragma once

#include <string>
#include <utility>
#include <vector>

#include <absl/status/statusor.h>
#include <absl/strings/string_view.h>

namespace weft {

/// A compiled HTTP route path such as `/users/{id:int}/files/{*path}`:
/// literal segments, parameters (`{name}` one segment, `{name:int}` one
/// segment of an optional `-` and digits) and a wildcard tail (`{*name}`,
/// last, zero or more segments). Immutable after parse(); any thread.
class http_path_pattern {
public:
  /// One matched parameter: its name and its (percent-decoded) value.
  using param = std::pair<std::string, std::string>;

  /// Compiles `text`: it starts with '/', a parameter fills a whole
  /// segment, names are [A-Za-z_][A-Za-z0-9_]*, and a wildcard comes last.
  /// Errors: invalid_argument naming what is wrong.
  static absl::StatusOr<http_path_pattern> parse(absl::string_view text);

  /// Matches a request path (without its query, still percent-encoded):
  /// true and `params` filled, or false. A matched segment is decoded; a
  /// segment whose escapes are invalid does not match.
  bool match(absl::string_view path, std::vector<param>& params) const;

  /// The text it was compiled from.
  const std::string& text() const noexcept {
    return text_;
  }

  /// Literal segments before the first parameter: more specific patterns
  /// are tried first (literals beat parameters beat wildcards).
  int specificity() const noexcept;

private:
  enum class kind { literal, param, int_param, wildcard };
  struct segment {
    kind what = kind::literal;
    std::string text; // the literal, or the parameter's name
  };

  std::string text_;
  std::vector<segment> segments_;
};

/// Decodes %XX escapes (and '+' as a space when `plus_is_space`, for query
/// strings and forms); false on a malformed escape.
bool percent_decode(absl::string_view in, std::string& out,
                    bool plus_is_space);

} // namespace weft
