#pragma once

#include <caf/abstract_actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/resumable.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/scoped_actor.hpp>
#include <gtest/gtest.h>

#include "tests/unit/actors/test_system_config.hpp"

namespace weft::testing {

/// A GoogleTest fixture around an actor system on CAF's test_coordinator:
/// actors run only when the test calls `sched_.run()` (or `run_only`), on
/// the test's thread, so every step can be checked. `self_` is a blocking
/// actor for sending to and receiving from the actors under test.
class coordinated_test : public ::testing::Test {
protected:
  coordinated_test()
    : sys_(cfg_),
      sched_(dynamic_cast<caf::scheduler::test_coordinator&>(sys_.scheduler())),
      self_(sys_) {
  }

  /// Runs the jobs of `actor` alone, while the other actors wait.
  template <class Handle>
  void run_only(const Handle& actor) {
    auto* job = dynamic_cast<caf::resumable*>(
      caf::actor_cast<caf::abstract_actor*>(actor));
    sched_.run_jobs_filtered([job](caf::resumable* x) { return x == job; });
  }

  test_system_config cfg_;
  caf::actor_system sys_;
  caf::scheduler::test_coordinator& sched_;
  caf::scoped_actor self_;
};

} // namespace weft::testing
