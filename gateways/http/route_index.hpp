#pragma once

#include <memory>
#include <string>
#include <vector>

#include <absl/container/flat_hash_map.h>
#include <absl/strings/string_view.h>

#include "runtime/http_path_pattern.hpp"
#include "runtime/route_table.hpp"

namespace weft::http {

/// The HTTP routes of one route table (routes declared with
/// blueprint::http), ordered most specific first. Immutable; shared by
/// every connection of a gateway.
class route_index {
public:
  /// What a request's method and path found.
  struct match {
    /// The route, or null (then `allow` says whether the path exists).
    const route_binding* route = nullptr;
    std::vector<http_path_pattern::param> params;
    /// When no route has this method but some have the path: their
    /// methods, for 405's Allow header ("GET, HEAD, POST").
    std::string allow;
  };

  /// Indexes the HTTP routes of `table` (routes whose pattern does not
  /// parse are skipped: the router refused them already).
  explicit route_index(std::shared_ptr<const route_table> table);

  /// Finds the route for `method` on `path` (percent-encoded, no query).
  /// HEAD finds GET routes.
  match find(absl::string_view method, absl::string_view path) const;

  const std::shared_ptr<const route_table>& table() const noexcept {
    return table_;
  }

private:
  struct entry {
    std::string method;
    http_path_pattern pattern;
    std::shared_ptr<const route_binding> route;
  };

  std::shared_ptr<const route_table> table_;
  std::vector<entry> entries_;
  /// Entries whose pattern is all literal, by its text: a request path
  /// equal to one (the common case) is found without trying every pattern;
  /// such a pattern is the most specific match there is.
  absl::flat_hash_map<std::string, std::vector<std::size_t>> literal_;
};

} // namespace weft::http
