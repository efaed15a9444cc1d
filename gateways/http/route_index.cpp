#include "gateways/http/route_index.hpp"

#include <algorithm>

#include <absl/strings/str_join.h>

namespace weft::http {

route_index::route_index(std::shared_ptr<const route_table> table)
  : table_(std::move(table)) {
  if (!table_)
    return;
  for (const auto& [name, binding] : table_->routes) {
    const auto& spec = *binding->spec;
    if (spec.http_path.empty())
      continue;
    auto pattern = http_path_pattern::parse(spec.http_path);
    if (!pattern.ok())
      continue;
    entries_.push_back(entry{spec.http_method, std::move(*pattern), binding});
  }
  // Most specific first; ties by text, so the order never depends on the
  // hash map's.
  std::sort(entries_.begin(), entries_.end(),
            [](const entry& a, const entry& b) {
              if (a.pattern.specificity() != b.pattern.specificity())
                return a.pattern.specificity() > b.pattern.specificity();
              if (a.pattern.text() != b.pattern.text())
                return a.pattern.text() < b.pattern.text();
              return a.method < b.method;
            });
  for (std::size_t i = 0; i < entries_.size(); ++i)
    if (entries_[i].pattern.text().find('{') == std::string::npos)
      literal_[entries_[i].pattern.text()].push_back(i);
}

route_index::match route_index::find(absl::string_view method,
                                     absl::string_view path) const {
  match out;
  absl::string_view wanted = method == "HEAD" ? "GET" : method;
  std::vector<http_path_pattern::param> params;
  if (auto lit = literal_.find(path); lit != literal_.end())
    for (auto i : lit->second)
      if (entries_[i].method == wanted
          && entries_[i].pattern.match(path, params)) {
        out.route = entries_[i].route.get();
        return out;
      }
  std::vector<std::string> allowed;
  for (const auto& e : entries_) {
    if (!e.pattern.match(path, params))
      continue;
    if (e.method == wanted) {
      out.route = e.route.get();
      out.params = std::move(params);
      return out;
    }
    allowed.push_back(e.method);
    if (e.method == "GET")
      allowed.emplace_back("HEAD");
  }
  if (!allowed.empty()) {
    allowed.emplace_back("OPTIONS");
    std::sort(allowed.begin(), allowed.end());
    allowed.erase(std::unique(allowed.begin(), allowed.end()), allowed.end());
    out.allow = absl::StrJoin(allowed, ", ");
  }
  return out;
}

} // namespace weft::http
