#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include <absl/base/thread_annotations.h>
#include <absl/synchronization/mutex.h>
#include <absl/time/time.h>

#include "runtime/push_message.hpp"

namespace weft::cli {

/// Hands pushes from the client's thread (client_options::on_push) to the
/// main thread of `weft listen`. Bounded: a push that finds `capacity`
/// others waiting is dropped and counted, so a reader that cannot keep up
/// (a blocked stdout) costs no more memory. Thread-safe; one producer and
/// one consumer are expected, any number works.
class push_queue {
public:
  /// How many pushes may wait by default.
  static constexpr std::size_t default_capacity = 10'000;

  explicit push_queue(std::size_t capacity = default_capacity);

  push_queue(const push_queue&) = delete;
  push_queue& operator=(const push_queue&) = delete;

  /// Appends `msg`, or drops it when the queue is full; returns false when
  /// dropped. Never blocks beyond the lock. Any thread.
  bool put(push_message msg);

  /// Waits up to `timeout` (zero: just looks) for at least one push and
  /// takes every push waiting, oldest first; empty when none came. Any
  /// thread, but meant for the one consumer.
  std::vector<push_message> take(absl::Duration timeout);

  /// Pushes dropped so far because the queue was full. Any thread.
  std::uint64_t dropped() const;

private:
  const std::size_t capacity_;
  mutable absl::Mutex mu_;
  std::deque<push_message> waiting_ ABSL_GUARDED_BY(mu_);
  std::uint64_t dropped_ ABSL_GUARDED_BY(mu_) = 0;
};

} // namespace weft::cli
