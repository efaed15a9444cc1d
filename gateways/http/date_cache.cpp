#include "gateways/http/date_cache.hpp"

namespace weft::http {

absl::string_view date_cache::at(absl::Time now) {
  auto second = absl::ToUnixSeconds(now);
  if (second != second_) {
    second_ = second;
    text_ = absl::FormatTime("%a, %d %b %Y %H:%M:%S GMT", now,
                             absl::UTCTimeZone());
  }
  return text_;
}

} // namespace weft::http
