#pragma once

#include <cstdint>
#include <set>
#include <utility>

#include <absl/time/time.h>

namespace weft::cluster::internal {

/// Request ids ordered by deadline, for an actor that bounds its requests
/// with one timer of its own instead of a CAF timeout per request: CAF 0.17
/// keeps every request timeout in its clock until it expires, so at tens
/// of thousands of requests per second a 60 s timeout each would pin
/// millions of clock entries. Owned by one actor; not thread-safe.
class expiry_queue {
public:
  /// How often the owner checks while something is queued: deadlines are
  /// enforced up to this late (the edges enforce the client's deadline
  /// themselves; this is the backstop).
  static constexpr absl::Duration tick = absl::Milliseconds(100);

  void add(std::uint64_t id, absl::Time deadline) {
    queue_.emplace(deadline, id);
  }

  void remove(std::uint64_t id, absl::Time deadline) {
    queue_.erase({deadline, id});
  }

  bool empty() const noexcept {
    return queue_.empty();
  }

  /// Removes every id whose deadline is at or before `now` and calls
  /// `expired(id)` for each, earliest first.
  template <class F>
  void expire(absl::Time now, F&& expired) {
    while (!queue_.empty() && queue_.begin()->first <= now) {
      auto id = queue_.begin()->second;
      queue_.erase(queue_.begin());
      expired(id);
    }
  }

private:
  std::set<std::pair<absl::Time, std::uint64_t>> queue_;
};

} // namespace weft::cluster::internal
