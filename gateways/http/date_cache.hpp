#pragma once

#include <cstdint>
#include <string>

#include <absl/strings/string_view.h>
#include <absl/time/time.h>

namespace weft::http {

/// Formats the Date header's value once per second. One per connection
/// actor (no shared state).
class date_cache {
public:
  /// The IMF-fixdate of `now` ("Sun, 22 Nov 2026 13:45:00 GMT").
  absl::string_view at(absl::Time now);

private:
  std::int64_t second_ = -1;
  std::string text_;
};

} // namespace weft::http
