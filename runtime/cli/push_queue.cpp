#include "runtime/cli/push_queue.hpp"

#include <algorithm>
#include <iterator>
#include <utility>

namespace weft::cli {

push_queue::push_queue(std::size_t capacity)
  : capacity_(std::max<std::size_t>(1, capacity)) {
  // nop
}

bool push_queue::put(push_message msg) {
  absl::MutexLock lock{&mu_};
  if (waiting_.size() >= capacity_) {
    ++dropped_;
    return false;
  }
  waiting_.push_back(std::move(msg));
  return true;
}

std::vector<push_message> push_queue::take(absl::Duration timeout) {
  absl::MutexLock lock{&mu_};
  auto non_empty = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !waiting_.empty();
  };
  if (timeout > absl::ZeroDuration())
    mu_.AwaitWithTimeout(absl::Condition(&non_empty), timeout);
  std::vector<push_message> out{std::make_move_iterator(waiting_.begin()),
                                std::make_move_iterator(waiting_.end())};
  waiting_.clear();
  return out;
}

std::uint64_t push_queue::dropped() const {
  absl::MutexLock lock{&mu_};
  return dropped_;
}

} // namespace weft::cli
