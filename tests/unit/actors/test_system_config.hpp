#pragma once

#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>

#include "runtime/type_ids.hpp"

namespace weft::testing {

/// An actor system config for tests, with weft's message types registered.
/// Default: CAF's test_coordinator, which runs actors only when the test
/// says so (`sched.run()`), on the test's thread. With `threads`: that many
/// real scheduler threads, for tests of concurrency.
struct test_system_config : caf::actor_system_config {
  test_system_config() {
    set("scheduler.policy", caf::atom("testing"));
    add_message_types<caf::id_block::weft>();
  }

  explicit test_system_config(int threads) {
    set("scheduler.max-threads", threads);
    add_message_types<caf::id_block::weft>();
  }
};

} // namespace weft::testing
