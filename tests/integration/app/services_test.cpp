// The node's services as an application sees them: background tasks from a
// handler, and lifecycle events on the event bus.

#include <chrono>
#include <future>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <absl/strings/str_cat.h>

#include <absl/synchronization/mutex.h>
#include <gtest/gtest.h>

#include "runtime/weft.hpp"
#include "tests/integration/app/loopback_node.hpp"

namespace weft {
namespace {

class ServicesTest : public ::testing::Test {
protected:
  void SetUp() override {
    node_ = testing::start_loopback_node();
    ASSERT_TRUE(node_);
  }

  void TearDown() override {
    if (node_)
      node_->stop();
  }

  std::unique_ptr<client> connect() {
    client_options opts;
    opts.port = node_->binary_port();
    opts.reconnect = false;
    auto c = client::connect(node_->system(), node_->reactors(), opts);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? std::move(*c) : nullptr;
  }

  std::unique_ptr<node> node_;
};

TEST_F(ServicesTest, BackgroundTaskFromAHandlerRunsAfterTheReply) {
  auto ran = std::make_shared<std::promise<std::string>>();
  blueprint app;
  app.raw_route("later", [ran](const payload& body,
                               context& ctx) -> absl::StatusOr<response> {
    auto text = body.bytes().to_string();
    auto st = ctx.background([ran, text] { ran->set_value(text); });
    if (!st.ok())
      return st;
    return response{};
  });
  ASSERT_TRUE(node_->serve(std::move(app)).ok());
  ASSERT_TRUE(node_->listen().ok());
  auto c = connect();
  ASSERT_TRUE(c);
  auto done = ran->get_future();
  ASSERT_TRUE(c->call_sync("later", payload{shared_bytes::copy_of("job")}).ok());
  ASSERT_EQ(done.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(done.get(), "job");
  // Counted when submitted; `completed` is bumped only after the task
  // returns, which may still be under way here.
  EXPECT_GE(node_->background().stats().submitted, 1u);
}

TEST_F(ServicesTest, LifecycleEventsReachSubscribers) {
  // Shared with the subscriber: an event may still arrive after the test
  // body returns, while the node lives on in the fixture.
  struct record_state {
    absl::Mutex mu;
    std::vector<std::string> seen;
  };
  auto state = std::make_shared<record_state>();
  auto& mu = state->mu;
  auto& seen = state->seen;
  auto record = [state](const event& ev) {
    absl::MutexLock lock{&state->mu};
    state->seen.push_back(absl::StrCat(ev.name, ":", ev.attribute("protocol"),
                                       ":", ev.attribute("route")));
  };
  for (auto name : {lifecycle::connection_opened, lifecycle::connection_closed,
                    lifecycle::route_registered, lifecycle::node_started})
    ASSERT_TRUE(node_->events().on(name, record).ok());
  blueprint app;
  app.raw_route("x", [](const payload&, context&) -> absl::StatusOr<response> {
    return response{};
  });
  ASSERT_TRUE(node_->serve(std::move(app)).ok());
  ASSERT_TRUE(node_->listen().ok());
  connect().reset(); // opens, then closes
  auto all_four = [&] { return seen.size() >= 4; };
  absl::MutexLock lock{&mu};
  ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(&all_four), absl::Seconds(10)));
  std::set<std::string> got(seen.begin(), seen.end());
  EXPECT_TRUE(got.count("route.registered::x"));
  EXPECT_TRUE(got.count("node.started::"));
  EXPECT_TRUE(got.count("connection.opened:binary:"));
  EXPECT_TRUE(got.count("connection.closed:binary:"));
}

TEST_F(ServicesTest, NodeSchedulesTasksAndCachesValues) {
  auto fired = std::make_shared<std::promise<void>>();
  auto done = fired->get_future();
  auto id = node_->schedule(
    run_once(std::chrono::milliseconds(10), [fired] { fired->set_value(); }));
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(done.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  auto never = node_->schedule(
    run_once(std::chrono::hours(1), [] { FAIL() << "cancelled task ran"; }));
  ASSERT_TRUE(never.ok());
  auto cancelled = node_->cancel_task(*never);
  ASSERT_TRUE(cancelled.ok());
  EXPECT_TRUE(*cancelled);
  ASSERT_TRUE(node_->cache()
                .set("k", shared_bytes::copy_of("v"), std::chrono::seconds(60))
                .ok());
  auto got = node_->cache().get("k");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->view(), "v");
}

} // namespace
} // namespace weft
