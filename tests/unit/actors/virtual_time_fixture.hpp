#pragma once

// A GoogleTest fixture base for actors under CAF's test_coordinator: virtual
// time, and every message delivered when the test runs the coordinator.

#include <chrono>
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/expected.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/sec.hpp>
#include <gtest/gtest.h>

#include "runtime/type_ids.hpp"
#include "tests/unit/actors/coordinated_test.hpp"

namespace weft {

/// testing::coordinated_test (an actor system on the test_coordinator and
/// a scoped actor) plus request/answer helpers for the actors under test.
class virtual_time_fixture : public testing::coordinated_test {
protected:
  /// Sends `xs` to `dest`, runs every actor, returns the answer.
  template <class T, class Handle, class... Ts>
  caf::expected<T> ask_actor(const Handle& dest, Ts&&... xs) {
    self_->send(dest, std::forward<Ts>(xs)...);
    sched_.run();
    return take<T>();
  }

  /// The next answer already in the scoped actor's mailbox: a T, an error,
  /// or request_timeout if there is none.
  template <class T>
  caf::expected<T> take() {
    caf::expected<T> result = caf::sec::request_timeout;
    self_->receive([&](T& x) { result = std::move(x); },
                   [&](caf::error& err) { result = std::move(err); },
                   caf::after(std::chrono::seconds(0)) >> [] {});
    return result;
  }
};

} // namespace weft
