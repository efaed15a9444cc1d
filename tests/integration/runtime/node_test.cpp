// Starts and stops a node in-process, with drain participants that finish
// at once, later, or never.

#include "runtime/node.hpp"

#include <chrono>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>
#include <caf/scoped_actor.hpp>

#include <gtest/gtest.h>

#include "runtime/error_bridge.hpp"
#include "runtime/type_ids.hpp"

namespace weft {
namespace {

using namespace std::chrono_literals;

node_config test_config(absl::Duration drain_timeout) {
  node_config cfg;
  cfg.scheduler_threads = 2;
  cfg.drain_timeout = drain_timeout;
  return cfg;
}

std::unique_ptr<node> start_node(absl::Duration drain_timeout) {
  auto started
    = node::start(test_config(drain_timeout), logger{log_level::off});
  EXPECT_TRUE(started.ok()) << started.status();
  return started.ok() ? std::move(*started) : nullptr;
}

/// Answers a drain request after `delay` (zero: at once).
caf::behavior delayed_participant(caf::event_based_actor* self,
                                  caf::timespan delay) {
  return {
    [self, delay](drain_atom, caf::timespan) -> caf::result<ok_atom> {
      if (delay == caf::timespan{0})
        return ok_atom_v;
      auto promise = self->make_response_promise<ok_atom>();
      self->delayed_send(self, delay, ok_atom_v);
      self->become(caf::keep_behavior,
                   [promise](ok_atom) mutable { promise.deliver(ok_atom_v); });
      return promise;
    },
  };
}

/// Never answers a drain request: it keeps the promise forever.
caf::behavior stuck_participant(caf::event_based_actor* self) {
  return {
    [self](drain_atom, caf::timespan) -> caf::result<ok_atom> {
      return self->make_response_promise<ok_atom>();
    },
  };
}

TEST(NodeTest, StartsAndStopsWithoutParticipants) {
  auto n = start_node(absl::Seconds(1));
  ASSERT_NE(n, nullptr);
  EXPECT_TRUE(n->root());
  EXPECT_TRUE(n->drain().ok());
  auto started = std::chrono::steady_clock::now();
  n->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
}

TEST(NodeTest, UsesConfiguredSchedulerThreads) {
  auto n = start_node(absl::Seconds(1));
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->system().scheduler().num_workers(), 2u);
}

TEST(NodeTest, DrainWaitsForEveryParticipant) {
  auto n = start_node(absl::Seconds(3));
  ASSERT_NE(n, nullptr);
  n->add_drain_participant(n->system().spawn(delayed_participant, 0ms));
  n->add_drain_participant(n->system().spawn(delayed_participant, 100ms));
  auto started = std::chrono::steady_clock::now();
  EXPECT_TRUE(n->drain().ok());
  auto took = std::chrono::steady_clock::now() - started;
  EXPECT_GE(took, 100ms);
  EXPECT_LT(took, 3s);
}

TEST(NodeTest, DrainGivesUpAtTheDeadlineAndStopStillEnds) {
  auto n = start_node(absl::Milliseconds(300));
  ASSERT_NE(n, nullptr);
  n->add_drain_participant(n->system().spawn(stuck_participant));
  n->add_drain_participant(n->system().spawn(delayed_participant, 0ms));
  auto started = std::chrono::steady_clock::now();
  auto st = n->drain();
  EXPECT_EQ(code_of(st), errc::deadline_exceeded) << st;
  // Two participants here, plus the node's own background pool.
  EXPECT_NE(st.message().find("1 of 3"), absl::string_view::npos) << st;
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
  // The stuck participant goes down with the node: stop() returns.
  n->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 4s);
}

TEST(NodeTest, ParticipantThatDiesIsForgotten) {
  auto n = start_node(absl::Seconds(2));
  ASSERT_NE(n, nullptr);
  auto p = n->system().spawn(stuck_participant);
  n->add_drain_participant(p);
  caf::anon_send_exit(p, caf::exit_reason::kill);
  // The participant is gone: its request fails at once instead of at the
  // deadline (or it was already forgotten), and the drain counts it.
  auto started = std::chrono::steady_clock::now();
  EXPECT_TRUE(n->drain().ok());
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
}

TEST(NodeTest, DrainIsIdempotent) {
  auto n = start_node(absl::Seconds(1));
  ASSERT_NE(n, nullptr);
  EXPECT_TRUE(n->drain().ok());
  EXPECT_TRUE(n->drain().ok());
  n->stop();
  n->stop();
}

} // namespace
} // namespace weft
