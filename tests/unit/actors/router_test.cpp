// The router under CAF's test_coordinator: every message is delivered when
// the test says so, so supervision and table publication are checked step
// by step, without sockets or sleeps.

#include <memory>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <google/protobuf/wrappers.pb.h>
#include <gtest/gtest.h>

#include "actors/router.hpp"
#include "runtime/blueprint.hpp"
#include "runtime/error_bridge.hpp"
#include "runtime/route_table.hpp"
#include "runtime/type_ids.hpp"
#include "tests/unit/actors/virtual_time_fixture.hpp"

namespace weft {
namespace {

caf::behavior idle_handler(caf::event_based_actor*) {
  return {[](request_atom, const request&) -> response { return response{}; }};
}

class RouterTest : public virtual_time_fixture {
protected:
  RouterTest() {
    router_ = spawn_router(sys_, logger{log_level::off});
    sched_.run();
  }

  ~RouterTest() override {
    caf::anon_send_exit(router_, caf::exit_reason::user_shutdown);
    sched_.run();
  }

  /// Sends `xs` to the router, runs every actor, and returns the answer.
  template <class T, class... Ts>
  caf::expected<T> ask(Ts&&... xs) {
    return ask_actor<T>(router_, std::forward<Ts>(xs)...);
  }

  absl::Status serve(blueprint bp) {
    auto r = ask<ok_atom>(register_atom_v,
                          blueprint_ref{std::make_shared<const blueprint>(
                            std::move(bp))});
    return r ? absl::OkStatus() : to_status(r.error());
  }

  std::shared_ptr<const route_table> table() {
    auto r = ask<route_table_ref>(routes_atom_v);
    EXPECT_TRUE(r);
    return r ? r->ptr : nullptr;
  }

  caf::actor router_;
};

TEST_F(RouterTest, StartsWithOnlyTheListingRoute) {
  auto t = table();
  ASSERT_TRUE(t);
  EXPECT_EQ(t->routes.size(), 1u);
  EXPECT_TRUE(t->routes.contains(routes_route));
}

TEST_F(RouterTest, EveryChangePublishesANewerTableToSubscribers) {
  auto first = ask<route_table_ref>(subscribe_atom_v,
                                    caf::actor_cast<caf::actor>(self_));
  ASSERT_TRUE(first);
  blueprint bp{"a"};
  bp.raw_route("b", [](const payload&, context&) -> absl::StatusOr<response> {
    return response{};
  });
  ASSERT_TRUE(serve(std::move(bp)).ok());
  route_table_ref pushed;
  self_->receive([&](routes_atom, route_table_ref& ref) { pushed = ref; },
                 caf::after(std::chrono::seconds(0)) >> [] {});
  ASSERT_TRUE(pushed.ptr) << "no table was pushed";
  EXPECT_GT(pushed.version, first->version);
  EXPECT_TRUE(pushed.ptr->routes.contains("a.b"));
  EXPECT_TRUE(pushed.ptr->schemas);
}

TEST_F(RouterTest, PoolGetsItsWorkersAndSharedPoolsAreShared) {
  route_options opts;
  opts.workers = 3;
  blueprint bp;
  bp.actor_pool("shared", [](caf::actor_system& s) { return s.spawn(idle_handler); },
                opts);
  bp.route_to("x", "shared");
  bp.route_to("y", "shared");
  ASSERT_TRUE(serve(std::move(bp)).ok());
  auto t = table();
  const auto& x = *t->routes.at("x");
  const auto& y = *t->routes.at("y");
  EXPECT_EQ(x.workers.size(), 3u);
  EXPECT_EQ(x.workers, y.workers);
  EXPECT_EQ(x.load, y.load);
}

TEST_F(RouterTest, DeadWorkerIsRestartedUntilTheLimitThenThePoolIsDown) {
  route_options opts;
  opts.workers = 2;
  opts.restart.max_restarts = 2;
  opts.restart.window = absl::Hours(1);
  blueprint bp;
  bp.route_actors("r", [](caf::actor_system& s) { return s.spawn(idle_handler); },
                  opts);
  ASSERT_TRUE(serve(std::move(bp)).ok());
  for (int restart = 1; restart <= 2; ++restart) {
    auto before = table()->routes.at("r")->workers;
    caf::anon_send_exit(before[0], caf::exit_reason::kill);
    sched_.run();
    auto after = table()->routes.at("r");
    ASSERT_EQ(after->workers.size(), 2u) << "restart " << restart;
    EXPECT_NE(after->workers[0], before[0]);
    EXPECT_EQ(after->workers[1], before[1]);
    EXPECT_TRUE(after->down_reason.empty());
  }
  auto last = table()->routes.at("r")->workers;
  caf::anon_send_exit(last[1], caf::exit_reason::kill);
  sched_.run();
  auto down = table()->routes.at("r");
  EXPECT_TRUE(down->workers.empty());
  EXPECT_NE(down->down_reason.find("failed 3 times"), std::string::npos)
    << down->down_reason;
}

TEST_F(RouterTest, GivenActorIsNotRestarted) {
  auto handler = sys_.spawn(idle_handler);
  blueprint bp;
  bp.route_actor("given", handler);
  ASSERT_TRUE(serve(std::move(bp)).ok());
  caf::anon_send_exit(handler, caf::exit_reason::kill);
  sched_.run();
  auto route = table()->routes.at("given");
  EXPECT_TRUE(route->workers.empty());
  EXPECT_NE(route->down_reason.find("its actor exited"), std::string::npos);
}

TEST_F(RouterTest, BadBlueprintsAreRefusedWhole) {
  blueprint dup;
  dup.raw_route("same", [](const payload&, context&) -> absl::StatusOr<response> {
    return response{};
  });
  dup.raw_route("same", [](const payload&, context&) -> absl::StatusOr<response> {
    return response{};
  });
  EXPECT_EQ(code_of(serve(std::move(dup))), errc::already_exists);
  blueprint no_pool;
  no_pool.route_to("orphan", "nowhere");
  EXPECT_EQ(code_of(serve(std::move(no_pool))), errc::invalid_argument);
  route_options keyed;
  keyed.dispatch = dispatch_policy::by_key;
  blueprint no_key;
  no_key.raw_route("k", [](const payload&, context&) -> absl::StatusOr<response> {
    return response{};
  }, keyed);
  EXPECT_EQ(code_of(serve(std::move(no_key))), errc::invalid_argument);
  route_options nested;
  nested.dispatch = dispatch_policy::by_key;
  nested.key = "value";
  blueprint ok;
  ok.route<google::protobuf::StringValue, google::protobuf::StringValue>(
    "keyed",
    [](const google::protobuf::StringValue& v, context&) { return v; }, nested);
  EXPECT_TRUE(serve(std::move(ok)).ok());
  auto t = table();
  EXPECT_EQ(t->routes.size(), 2u); // keyed + weft.routes: nothing else
  EXPECT_EQ(t->routes.at("keyed")->key_field, 1);
}

TEST_F(RouterTest, HttpRoutesNeedAValidPatternAndAFreeMethodAndPath) {
  auto page = [](const http_request&, context&) {
    return http_response::text("x");
  };
  blueprint a{"a"};
  a.get("/items/{id:int}", page);
  ASSERT_TRUE(serve(std::move(a)).ok());
  ASSERT_TRUE(table()->routes.contains("a.GET /items/{id:int}"));
  // The same method and path from another blueprint is refused...
  blueprint b{"b"};
  b.get("/items/{id:int}", page);
  EXPECT_EQ(code_of(serve(std::move(b))), errc::already_exists);
  // ...another method on it is fine, and a bad pattern is refused.
  blueprint c{"c"};
  c.del("/items/{id:int}", page);
  EXPECT_TRUE(serve(std::move(c)).ok());
  blueprint d{"d"};
  d.get("/files/{*rest}/more", page);
  EXPECT_EQ(code_of(serve(std::move(d))), errc::invalid_argument);
}

} // namespace
} // namespace weft
