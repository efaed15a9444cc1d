#pragma once

#include <cstdint>
#include <string>

namespace weft {

/// What a graceful drain achieved: how many drain participants finished in
/// time and how many were still busy (or failed) when the deadline came.
struct drain_report {
  std::uint32_t participants = 0;
  std::uint32_t drained = 0;
  std::uint32_t unfinished = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, drain_report& x) {
  return f(x.participants, x.drained, x.unfinished);
}

inline bool operator==(const drain_report& a, const drain_report& b) {
  return a.participants == b.participants && a.drained == b.drained
         && a.unfinished == b.unfinished;
}

} // namespace weft
