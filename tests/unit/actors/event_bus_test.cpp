// The event bus under CAF's test_coordinator (every message is delivered
// when the test says so), and once with real scheduler threads for the
// per-subscriber order of events emitted from plain threads.

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "actors/event_bus.hpp"
#include "runtime/error_bridge.hpp"
#include "runtime/type_ids.hpp"
#include "tests/unit/actors/coordinated_test.hpp"
#include "tests/unit/actors/countdown.hpp"
#include "tests/unit/actors/test_system_config.hpp"

namespace weft {
namespace {

using ::testing::ElementsAre;

/// An actor subscriber that counts the events it receives in `*count`.
caf::behavior counting_subscriber(caf::event_based_actor*,
                                  std::shared_ptr<int> count) {
  return {[count](event_atom, const event&) {
    ++*count;
  }};
}

class EventBusTest : public testing::coordinated_test {
protected:
  EventBusTest() {
    bus_ = spawn_event_bus(sys_, logger{log_level::off});
    sched_.run();
  }

  ~EventBusTest() override {
    caf::anon_send_exit(bus_.actor(), caf::exit_reason::user_shutdown);
    sched_.run();
  }

  /// Emits an event named `name` whose attribute "n" is `n`.
  void emit_numbered(absl::string_view name, int n) {
    ASSERT_TRUE(bus_.emit(name, {}, {{"n", std::to_string(n)}}).ok());
  }

  /// A function subscriber that appends attribute "n" of each event.
  static event_function record_into(std::vector<std::string>& seen) {
    return [&seen](const event& ev) {
      seen.emplace_back(ev.attribute("n"));
    };
  }

  /// How many (event_atom, event) messages wait in the test's own mailbox.
  int events_received_by_self() {
    int n = 0;
    bool more = true;
    while (more) {
      more = false;
      self_->receive([&](event_atom, const event&) { ++n, more = true; },
                     caf::after(std::chrono::seconds(0)) >> [] {});
    }
    return n;
  }

  event_bus bus_;
};

TEST_F(EventBusTest, OnDeliversEveryEventInEmitOrder) {
  std::vector<std::string> seen;
  auto id = bus_.on("a", record_into(seen));
  ASSERT_TRUE(id.ok());
  EXPECT_NE(*id, 0u);
  for (int i = 0; i < 5; ++i)
    emit_numbered("a", i);
  sched_.run();
  EXPECT_THAT(seen, ElementsAre("0", "1", "2", "3", "4"));
  EXPECT_EQ(bus_.stats().emitted, 5u);
  EXPECT_EQ(bus_.stats().delivered, 5u);
}

TEST_F(EventBusTest, OnlySubscribersOfTheEventNameAreCalled) {
  std::vector<std::string> a;
  std::vector<std::string> b;
  ASSERT_TRUE(bus_.on("a", record_into(a)).ok());
  ASSERT_TRUE(bus_.on("b", record_into(b)).ok());
  emit_numbered("a", 1);
  emit_numbered("c", 2);
  sched_.run();
  EXPECT_THAT(a, ElementsAre("1"));
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(bus_.stats().emitted, 2u);
}

TEST_F(EventBusTest, OnceDeliversOnlyTheNextEvent) {
  std::vector<std::string> seen;
  ASSERT_TRUE(bus_.once("a", record_into(seen)).ok());
  ASSERT_TRUE(bus_.once("a", caf::actor_cast<caf::actor>(self_)).ok());
  EXPECT_EQ(bus_.stats().subscriptions, 0u) << "not applied before it ran";
  sched_.run();
  EXPECT_EQ(bus_.stats().subscriptions, 2u);
  emit_numbered("a", 1);
  emit_numbered("a", 2);
  sched_.run();
  EXPECT_THAT(seen, ElementsAre("1"));
  EXPECT_EQ(events_received_by_self(), 1);
  EXPECT_EQ(bus_.stats().subscriptions, 0u);
}

TEST_F(EventBusTest, OffStopsDeliveryAndUnknownIdsAreIgnored) {
  std::vector<std::string> seen;
  auto fn_id = bus_.on("a", record_into(seen));
  auto actor_id = bus_.on("a", caf::actor_cast<caf::actor>(self_));
  ASSERT_TRUE(fn_id.ok());
  ASSERT_TRUE(actor_id.ok());
  emit_numbered("a", 1);
  sched_.run();
  EXPECT_TRUE(bus_.off(*fn_id).ok());
  EXPECT_TRUE(bus_.off(*actor_id).ok());
  EXPECT_TRUE(bus_.off(12345).ok());
  emit_numbered("a", 2);
  sched_.run();
  EXPECT_THAT(seen, ElementsAre("1"));
  EXPECT_EQ(events_received_by_self(), 1);
  EXPECT_EQ(bus_.stats().subscriptions, 0u);
}

TEST_F(EventBusTest, ManySubscribersEachGetEveryEvent) {
  constexpr std::size_t functions = 100;
  constexpr std::size_t actors = 5;
  constexpr int events = 10;
  std::vector<int> calls(functions, 0);
  for (std::size_t i = 0; i < functions; ++i)
    ASSERT_TRUE(bus_.on("a", [&calls, i](const event&) { ++calls[i]; }).ok());
  std::vector<std::shared_ptr<int>> counts;
  for (std::size_t i = 0; i < actors; ++i) {
    counts.push_back(std::make_shared<int>(0));
    ASSERT_TRUE(
      bus_.on("a", sys_.spawn(counting_subscriber, counts.back())).ok());
  }
  for (int i = 0; i < events; ++i)
    emit_numbered("a", i);
  sched_.run();
  for (std::size_t i = 0; i < functions; ++i)
    EXPECT_EQ(calls[i], events) << "function subscriber " << i;
  for (std::size_t i = 0; i < actors; ++i)
    EXPECT_EQ(*counts[i], events) << "actor subscriber " << i;
  EXPECT_EQ(bus_.stats().delivered,
            (functions + actors) * std::uint64_t{events});
}

TEST_F(EventBusTest, ThrowingSubscriberDoesNotAffectOthers) {
  std::vector<std::string> seen;
  ASSERT_TRUE(
    bus_
      .on("a",
          [](const event&) { throw std::runtime_error("subscriber broke"); })
      .ok());
  ASSERT_TRUE(bus_.on("a", [](const event&) { throw 42; }).ok());
  ASSERT_TRUE(bus_.on("a", record_into(seen)).ok());
  for (int i = 0; i < 3; ++i)
    emit_numbered("a", i);
  sched_.run();
  EXPECT_THAT(seen, ElementsAre("0", "1", "2"));
  auto stats = bus_.stats();
  EXPECT_EQ(stats.failed, 6u);
  EXPECT_EQ(stats.subscriptions, 3u) << "failing subscribers stay subscribed";
}

TEST_F(EventBusTest, ActorSubscriberReceivesTheEvent) {
  ASSERT_TRUE(
    bus_.on(lifecycle::connection_opened, caf::actor_cast<caf::actor>(self_))
      .ok());
  ASSERT_TRUE(bus_
                .emit(lifecycle::connection_opened,
                      shared_bytes::copy_of("body"),
                      {{"peer", "127.0.0.1:5000"}, {"protocol", "binary"}})
                .ok());
  sched_.run();
  event got;
  self_->receive([&](event_atom, const event& ev) { got = ev; },
                 caf::after(std::chrono::seconds(0)) >> [] {});
  EXPECT_EQ(got.name, "connection.opened");
  EXPECT_EQ(got.payload.view(), "body");
  EXPECT_EQ(got.attribute("peer"), "127.0.0.1:5000");
  EXPECT_EQ(got.attribute("protocol"), "binary");
  EXPECT_EQ(got.attribute("missing"), "");
}

TEST_F(EventBusTest, ActorSubscriberThatDiesIsDropped) {
  auto count = std::make_shared<int>(0);
  auto subscriber = sys_.spawn(counting_subscriber, count);
  ASSERT_TRUE(bus_.on("a", subscriber).ok());
  ASSERT_TRUE(bus_.once("b", subscriber).ok());
  emit_numbered("a", 1);
  sched_.run();
  EXPECT_EQ(*count, 1);
  caf::anon_send_exit(subscriber, caf::exit_reason::kill);
  sched_.run();
  auto stats = bus_.stats();
  EXPECT_EQ(stats.subscriptions, 0u);
  EXPECT_EQ(stats.dead_subscribers, 2u);
  emit_numbered("a", 2);
  emit_numbered("b", 3);
  sched_.run();
  EXPECT_EQ(bus_.stats().delivered, 1u) << "nothing goes to a dead actor";
}

TEST_F(EventBusTest, LaggingFunctionSubscriberMissesEventsPastItsBound) {
  event_bus_options opts;
  opts.max_pending_per_function = 2;
  auto bus = spawn_event_bus(sys_, logger{log_level::off}, opts);
  std::vector<std::string> seen;
  ASSERT_TRUE(bus.on("a", record_into(seen)).ok());
  sched_.run();
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(bus.emit("a", {}, {{"n", std::to_string(i)}}).ok());
  // Run the bus alone: its subscriber's runner gets no chance to catch up.
  run_only(bus.actor());
  EXPECT_EQ(bus.stats().dropped, 3u);
  sched_.run();
  EXPECT_THAT(seen, ElementsAre("0", "1"));
  ASSERT_TRUE(bus.emit("a", {}, {{"n", "5"}}).ok());
  sched_.run();
  EXPECT_THAT(seen, ElementsAre("0", "1", "5")) << "caught up: delivered again";
  caf::anon_send_exit(bus.actor(), caf::exit_reason::user_shutdown);
  sched_.run();
}

TEST_F(EventBusTest, BadArgumentsAndAStoppedBusAreRefused) {
  EXPECT_EQ(code_of(bus_.on("", [](const event&) {}).status()),
            errc::invalid_argument);
  EXPECT_EQ(code_of(bus_.on("a", event_function{}).status()),
            errc::invalid_argument);
  EXPECT_EQ(code_of(bus_.once("a", caf::actor{}).status()),
            errc::invalid_argument);
  EXPECT_EQ(code_of(bus_.emit("")), errc::invalid_argument);
  EXPECT_EQ(code_of(event_bus{}.emit("a")), errc::unavailable);
  caf::anon_send_exit(bus_.actor(), caf::exit_reason::user_shutdown);
  sched_.run();
  EXPECT_EQ(code_of(bus_.emit("a")), errc::unavailable);
  EXPECT_EQ(code_of(bus_.on("a", [](const event&) {}).status()),
            errc::unavailable);
  EXPECT_EQ(code_of(bus_.off(1)), errc::unavailable);
}

TEST_F(EventBusTest, EventSurvivesSerialization) {
  event ev{"node.joined",
           shared_bytes::copy_of("\x01\x02"),
           {{"node", "n2"}, {"address", "10.0.0.2:7701"}}};
  std::vector<char> buf;
  caf::binary_serializer sink{sys_, buf};
  ASSERT_FALSE(sink(ev));
  event back;
  caf::binary_deserializer source{sys_, buf};
  ASSERT_FALSE(source(back));
  EXPECT_EQ(back, ev);
}

TEST_F(EventBusTest, EventsFromPlainThreadsKeepTheirOrderPerSubscriber) {
  // Real scheduler threads: subscribers run concurrently with the emitters.
  testing::test_system_config cfg{2};
  caf::actor_system sys{cfg};
  auto bus = spawn_event_bus(sys, logger{log_level::off});
  constexpr std::size_t emitters = 2;
  constexpr std::size_t per_emitter = 500;
  constexpr std::size_t subscribers = 4;
  // One log per subscriber, each written only by that subscriber's runner.
  std::vector<std::vector<std::string>> logs(subscribers);
  testing::countdown all_seen{subscribers};
  for (std::size_t s = 0; s < subscribers; ++s) {
    ASSERT_TRUE(bus
                  .on("tick",
                      [&logs, &all_seen, s](const event& ev) {
                        auto& log = logs[s];
                        log.emplace_back(ev.attribute("seq"));
                        if (log.size() == emitters * per_emitter)
                          all_seen.count_down();
                      })
                  .ok());
  }
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < emitters; ++t) {
    threads.emplace_back([&bus, t] {
      for (std::size_t i = 0; i < per_emitter; ++i)
        (void)bus.emit("tick", {},
                       {{"seq", std::to_string(t) + ":" + std::to_string(i)}});
    });
  }
  for (auto& th : threads)
    th.join();
  ASSERT_TRUE(all_seen.wait_for(std::chrono::seconds(30)));
  for (std::size_t s = 0; s < subscribers; ++s) {
    std::vector<std::size_t> next(emitters, 0);
    for (const auto& seq : logs[s]) {
      auto colon = seq.find(':');
      auto t = std::stoul(seq.substr(0, colon));
      EXPECT_EQ(std::stoul(seq.substr(colon + 1)), next[t]++)
        << "subscriber " << s << " saw " << seq << " out of order";
    }
  }
  EXPECT_EQ(bus.stats().delivered,
            std::uint64_t{emitters * per_emitter * subscribers});
  caf::anon_send_exit(bus.actor(), caf::exit_reason::user_shutdown);
}

} // namespace
} // namespace weft
