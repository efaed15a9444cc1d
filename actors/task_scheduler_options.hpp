#pragma once

#include <cstddef>

namespace weft {

/// Limits of a task scheduler (actors/task_scheduler.hpp).
struct task_scheduler_options {
  /// Tasks the scheduler holds at once (waiting, due or running); one more
  /// is refused with errc::overloaded. Must be positive.
  std::size_t max_pending = 100'000;
  /// Runner actors, i.e. the most task runs in progress at once; due tasks
  /// beyond that wait in the scheduler, highest priority first. 0 picks one
  /// per CAF scheduler thread.
  std::size_t runners = 0;
};

} // namespace weft
