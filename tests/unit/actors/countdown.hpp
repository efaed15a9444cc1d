#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>

namespace weft::testing {

/// A latch whose wait is bounded (std::latch has no timed wait): tests wait
/// on the event itself, never on a sleep, and fail instead of hanging.
/// Callable from any thread.
class countdown {
public:
  explicit countdown(std::size_t count) : count_(count) {
  }

  /// Counts one event; the waiters wake at zero.
  void count_down() {
    std::lock_guard<std::mutex> guard{mtx_};
    if (count_ > 0 && --count_ == 0)
      cv_.notify_all();
  }

  /// Waits until the count reached zero; false after `bound`.
  bool wait_for(std::chrono::milliseconds bound) {
    std::unique_lock<std::mutex> guard{mtx_};
    return cv_.wait_for(guard, bound, [this] { return count_ == 0; });
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  std::size_t count_;
};

} // namespace weft::testing
