// Gateway and worker nodes in one process, joined over loopback through
// CAF's middleman (docs/architecture.md, "Distribution"): remote routes
// reached through the gateway's dispatcher, JSON conversion of a remote
// protobuf route, spreading over two workers, conflicting routes refused.

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <absl/strings/match.h>
#include <absl/strings/str_cat.h>
#include <absl/synchronization/mutex.h>
#include <gtest/gtest.h>

#include "actors/demo_routes.hpp"
#include "examples/hello.pb.h"
#include "runtime/client/client.hpp"
#include "runtime/weft.hpp"
#include "tests/integration/app/loopback_node.hpp"
#include "tests/integration/http/raw_http.hpp"
#include "weft/routes.pb.h"

namespace weft {
namespace {

using testing::start_loopback_node;

/// Counts events of one name on a node's bus; waits for a count. The
/// count lives in a shared_ptr the subscriber holds: a late event (a node
/// going down while the test ends) may arrive after the counter is gone.
class event_counter {
public:
  event_counter(const node& n, absl::string_view name)
    : state_(std::make_shared<state>()) {
    auto sub = n.events().on(name, [st = state_](const event& ev) {
      absl::MutexLock lock{&st->mu};
      ++st->count;
      st->last = ev.attributes;
    });
    EXPECT_TRUE(sub.ok()) << sub.status();
  }

  /// True once at least `n` events arrived, within `timeout`.
  bool wait_for(int n, absl::Duration timeout = absl::Seconds(10)) {
    absl::MutexLock lock{&state_->mu};
    auto reached = [this, n] { return state_->count >= n; };
    return state_->mu.AwaitWithTimeout(absl::Condition{&reached}, timeout);
  }

  event_attributes last() {
    absl::MutexLock lock{&state_->mu};
    return state_->last;
  }

private:
  struct state {
    absl::Mutex mu;
    int count = 0;
    event_attributes last;
  };
  std::shared_ptr<state> state_;
};

std::unique_ptr<node> start_gateway() {
  return start_loopback_node([](node_config& cfg) {
    cfg.name = "gw";
    cfg.role = "gateway";
    cfg.node_listen = "127.0.0.1:0";
  });
}

std::unique_ptr<node> start_worker(const std::string& name,
                                   std::uint16_t gateway_port) {
  return start_loopback_node([&](node_config& cfg) {
    cfg.name = name;
    cfg.role = "worker";
    cfg.join = {absl::StrCat("127.0.0.1:", gateway_port)};
    cfg.join_backoff_max = absl::Milliseconds(500);
  });
}

std::unique_ptr<client> connect_to(node& n) {
  client_options opts;
  opts.host = "127.0.0.1";
  opts.port = n.binary_port();
  auto c = client::connect(n.system(), n.reactors(), opts);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? std::move(*c) : nullptr;
}

std::string text_of(const reply& r) {
  return std::string{r.body.bytes().view()};
}

class ClusterTest : public ::testing::Test {
protected:
  void SetUp() override {
    gateway_ = start_gateway();
    ASSERT_TRUE(gateway_);
    ASSERT_TRUE(gateway_->listen().ok());
    ASSERT_NE(gateway_->cluster_port(), 0);
    ASSERT_EQ(gateway_->http_port(), 0); // the test asked for none
    node_up_ = std::make_unique<event_counter>(*gateway_, "cluster.node_up");
    node_down_
      = std::make_unique<event_counter>(*gateway_, "cluster.node_down");
  }

  /// A worker serving the demo app, joined to the gateway.
  std::unique_ptr<node> demo_worker(const std::string& name) {
    auto w = start_worker(name, gateway_->cluster_port());
    EXPECT_TRUE(w);
    if (!w)
      return nullptr;
    EXPECT_TRUE(w->serve(demo_app(w->scheduler(), name)).ok());
    EXPECT_TRUE(w->listen().ok());
    EXPECT_EQ(w->binary_port(), 0); // workers open no edges
    return w;
  }

  std::unique_ptr<node> gateway_;
  std::unique_ptr<event_counter> node_up_;
  std::unique_ptr<event_counter> node_down_;
};

TEST_F(ClusterTest, RemoteProtobufRouteAnswersThroughTheGateway) {
  auto w = demo_worker("w1");
  ASSERT_TRUE(node_up_->wait_for(1));
  auto c = connect_to(*gateway_);
  ASSERT_TRUE(c);
  examples::hello::Greet req;
  req.set_name("Ada");
  auto out = c->call_message<examples::hello::Greeting>("hello.greet", req);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->text(), "Hello, Ada!");
  // The worker's own validation error crosses the nodes with its code.
  req.set_name("");
  auto bad = c->call_message<examples::hello::Greeting>("hello.greet", req);
  EXPECT_EQ(code_of(bad.status()), errc::invalid_argument) << bad.status();
  auto who = c->call_sync("node.whoami", payload{});
  ASSERT_TRUE(who.ok()) << who.status();
  EXPECT_EQ(text_of(*who), "w1");
}

TEST_F(ClusterTest, JsonIsConvertedOnTheGatewayForARemoteRoute) {
  auto w = demo_worker("w1");
  ASSERT_TRUE(node_up_->wait_for(1));
  auto c = connect_to(*gateway_);
  ASSERT_TRUE(c);
  call_options json;
  json.content_type = "application/json";
  auto r = c->call_sync("hello.greet",
                        payload{shared_bytes::copy_of(R"({"name":"Grace"})")},
                        json);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->content_type, "application/json");
  EXPECT_EQ(text_of(*r), R"({"text":"Hello, Grace!"})");
  auto wrong = c->call_sync(
    "hello.greet", payload{shared_bytes::copy_of(R"({"nope":1})")}, json);
  EXPECT_EQ(code_of(wrong.status()), errc::invalid_argument);
  // The gateway lists the remote route (what `weft schemas` prints).
  auto listing = c->call_sync("weft.routes", payload{});
  ASSERT_TRUE(listing.ok()) << listing.status();
  wire::RouteListing routes;
  ASSERT_TRUE(routes.ParseFromString(listing->body.bytes().to_string()));
  bool found = false;
  for (const auto& route : routes.routes())
    if (route.route() == "hello.greet") {
      found = true;
      EXPECT_EQ(route.request_type(), "weft.examples.hello.Greet");
    }
  EXPECT_TRUE(found);
}

TEST_F(ClusterTest, RequestsSpreadOverTwoWorkersAndKeysStayPut) {
  auto w1 = demo_worker("w1");
  auto w2 = demo_worker("w2");
  ASSERT_TRUE(node_up_->wait_for(2));
  auto c = connect_to(*gateway_);
  ASSERT_TRUE(c);
  std::set<std::string> seen;
  for (int i = 0; i < 20; ++i) {
    auto r = c->call_sync("node.whoami", payload{});
    ASSERT_TRUE(r.ok()) << r.status();
    seen.insert(text_of(*r));
  }
  EXPECT_EQ(seen, (std::set<std::string>{"w1", "w2"}));
  std::set<std::string> keyed_seen;
  for (int k = 0; k < 8; ++k) {
    call_options opts;
    opts.metadata["key"] = absl::StrCat("user-", k);
    std::set<std::string> owners;
    for (int i = 0; i < 5; ++i) {
      auto r = c->call_sync("node.whoami.keyed", payload{}, opts);
      ASSERT_TRUE(r.ok()) << r.status();
      owners.insert(text_of(*r));
    }
    EXPECT_EQ(owners.size(), 1u) << "key user-" << k;
    keyed_seen.insert(owners.begin(), owners.end());
  }
  EXPECT_EQ(keyed_seen.size(), 2u); // 8 keys use both nodes
}

TEST_F(ClusterTest, AStoppedWorkerFailsItsRequestsAtOnceAndTheRestGoOn) {
  auto w1 = demo_worker("w1");
  auto w2 = demo_worker("w2");
  ASSERT_TRUE(node_up_->wait_for(2));
  auto c = connect_to(*gateway_);
  ASSERT_TRUE(c);
  std::vector<pending_call> calls;
  for (int i = 0; i < 20; ++i)
    calls.push_back(
      c->call("node.slow", payload{shared_bytes::copy_of("30000")}));
  // The gateway dispatched every slow request before it answers this one
  // (one connection's requests are dispatched in order).
  ASSERT_TRUE(c->call_sync("node.whoami", payload{}).ok());
  auto t0 = std::chrono::steady_clock::now();
  w2->stop(); // closes its connection: its node is down at once
  ASSERT_TRUE(node_down_->wait_for(1));
  // Half went to w2: answered unavailable at once, well before their 30 s;
  // w1's half is still waiting.
  auto deadline = t0 + std::chrono::seconds(3);
  int failed = 0;
  for (auto& call : calls) {
    if (call.result.wait_until(deadline) == std::future_status::ready) {
      auto r = call.result.get();
      EXPECT_EQ(code_of(r.status()), errc::unavailable) << r.status();
      ++failed;
    }
  }
  EXPECT_EQ(failed, 10);
  for (int i = 0; i < 6; ++i) {
    auto r = c->call_sync("node.whoami", payload{});
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(text_of(*r), "w1");
  }
}

TEST_F(ClusterTest, ADrainingWorkerFinishesItsRequestsAndGetsNoMore) {
  auto w1 = demo_worker("w1");
  auto w2 = demo_worker("w2");
  ASSERT_TRUE(node_up_->wait_for(2));
  auto c = connect_to(*gateway_);
  ASSERT_TRUE(c);
  std::vector<pending_call> calls;
  for (int i = 0; i < 10; ++i)
    calls.push_back(
      c->call("node.slow", payload{shared_bytes::copy_of("300")}));
  // Every slow request was dispatched before this answer came back.
  ASSERT_TRUE(c->call_sync("node.whoami", payload{}).ok());
  // Go-away: the gateway stops sending to w1 at once, and w1's drain
  // waits for the requests it has.
  EXPECT_TRUE(w1->drain().ok());
  std::map<std::string, int> answered;
  for (auto& call : calls) {
    auto r = call.result.get();
    ASSERT_TRUE(r.ok()) << r.status();
    ++answered[text_of(*r)];
  }
  EXPECT_EQ(answered, (std::map<std::string, int>{{"w1", 5}, {"w2", 5}}));
  for (int i = 0; i < 4; ++i) {
    auto r = c->call_sync("node.whoami", payload{});
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(text_of(*r), "w2");
  }
}

TEST(ClusterRestartTest, AWorkerJoinsAGatewayThatCameBack) {
  auto first = start_gateway();
  ASSERT_TRUE(first);
  event_counter first_up{*first, "cluster.node_up"};
  ASSERT_TRUE(first->listen().ok());
  auto port = first->cluster_port();
  auto w = start_worker("w1", port);
  ASSERT_TRUE(w);
  event_counter lost{*w, "cluster.gateway_lost"};
  event_counter joined{*w, "cluster.joined"};
  ASSERT_TRUE(w->serve(demo_app(w->scheduler(), "w1")).ok());
  ASSERT_TRUE(w->listen().ok());
  ASSERT_TRUE(first_up.wait_for(1));
  first->stop();
  ASSERT_TRUE(lost.wait_for(1));
  // The same node port again (publish sets SO_REUSEADDR); the worker has
  // been retrying with backoff meanwhile.
  auto second = start_loopback_node([port](node_config& cfg) {
    cfg.name = "gw2";
    cfg.role = "gateway";
    cfg.node_listen = absl::StrCat("127.0.0.1:", port);
  });
  ASSERT_TRUE(second);
  event_counter second_up{*second, "cluster.node_up"};
  ASSERT_TRUE(second->listen().ok());
  ASSERT_TRUE(second_up.wait_for(1));
  EXPECT_TRUE(joined.wait_for(2));
  auto c = connect_to(*second);
  ASSERT_TRUE(c);
  auto r = c->call_sync("node.whoami", payload{});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(text_of(*r), "w1");
}

TEST(ClusterBothTest, LocalAndRemoteHandlersShareARoute) {
  auto gateway = start_loopback_node([](node_config& cfg) {
    cfg.name = "gw";
    cfg.node_listen = "127.0.0.1:0"; // role both: edges and its own routes
  });
  ASSERT_TRUE(gateway);
  ASSERT_TRUE(gateway->serve(demo_app(gateway->scheduler(), "gw")).ok());
  event_counter node_up{*gateway, "cluster.node_up"};
  ASSERT_TRUE(gateway->listen().ok());
  auto w = start_worker("w1", gateway->cluster_port());
  ASSERT_TRUE(w);
  ASSERT_TRUE(w->serve(demo_app(w->scheduler(), "w1")).ok());
  ASSERT_TRUE(w->listen().ok());
  ASSERT_TRUE(node_up.wait_for(1));
  auto c = connect_to(*gateway);
  ASSERT_TRUE(c);
  std::map<std::string, int> seen;
  for (int i = 0; i < 10; ++i) {
    auto r = c->call_sync("node.whoami", payload{});
    ASSERT_TRUE(r.ok()) << r.status();
    ++seen[text_of(*r)];
  }
  EXPECT_EQ(seen, (std::map<std::string, int>{{"gw", 5}, {"w1", 5}}));
}

/// GET `target` on 127.0.0.1:`port` with Connection: close; the whole
/// response.
std::string http_get(std::uint16_t port, const std::string& target) {
  return testing::round_trip(
    port, absl::StrCat("GET ", target,
                       " HTTP/1.1\r\nHost: weft\r\nConnection: close\r\n\r\n"),
    std::chrono::seconds(5));
}

TEST(ClusterHttpTest, AWorkersHttpRoutesAreServedByTheGatewaysHttpEdge) {
  auto gateway = start_loopback_node([](node_config& cfg) {
    cfg.name = "gw";
    cfg.role = "gateway";
    cfg.node_listen = "127.0.0.1:0";
    cfg.http_listen = "127.0.0.1:0";
  });
  ASSERT_TRUE(gateway);
  event_counter node_up{*gateway, "cluster.node_up"};
  ASSERT_TRUE(gateway->listen().ok());
  ASSERT_NE(gateway->http_port(), 0);
  // Before any worker: the gateway has no HTTP routes of its own.
  EXPECT_NE(http_get(gateway->http_port(), "/hello/Ada").find("404"),
            std::string::npos);
  auto w = start_worker("w1", gateway->cluster_port());
  ASSERT_TRUE(w);
  ASSERT_TRUE(w->serve(demo_app(w->scheduler(), "w1")).ok());
  ASSERT_TRUE(w->listen().ok());
  ASSERT_TRUE(node_up.wait_for(1));
  // A function HTTP route with a path parameter and a query, answered by
  // the worker (the request's method, path and parameters travel with it).
  auto hello = http_get(gateway->http_port(), "/hello/Ada?greeting=Hi");
  EXPECT_NE(hello.find("HTTP/1.1 200"), std::string::npos) << hello;
  EXPECT_NE(hello.find("Hi, Ada!"), std::string::npos) << hello;
  auto plain = http_get(gateway->http_port(), "/plaintext");
  EXPECT_NE(plain.find("Hello, World!"), std::string::npos) << plain;
}

TEST(ClusterSpillTest, AFileBackedBodyIsReadBeforeItCrossesNodes) {
  auto gateway = start_loopback_node([](node_config& cfg) {
    cfg.name = "gw";
    cfg.role = "gateway";
    cfg.node_listen = "127.0.0.1:0";
    cfg.spill_threshold = 16 * 1024; // bodies above it arrive as files
  });
  ASSERT_TRUE(gateway);
  event_counter node_up{*gateway, "cluster.node_up"};
  ASSERT_TRUE(gateway->listen().ok());
  auto w = start_worker("w1", gateway->cluster_port());
  ASSERT_TRUE(w);
  ASSERT_TRUE(w->serve(demo_app(w->scheduler(), "w1")).ok());
  ASSERT_TRUE(w->listen().ok());
  ASSERT_TRUE(node_up.wait_for(1));
  auto c = connect_to(*gateway);
  ASSERT_TRUE(c);
  std::string big(200 * 1024, 'x');
  for (std::size_t i = 0; i < big.size(); i += 97)
    big[i] = static_cast<char>('a' + i % 26);
  auto r = c->call_sync("echo.fn", payload{shared_bytes::copy_of(big)});
  ASSERT_TRUE(r.ok()) << r.status();
  auto bytes = r->body.read_all(1 << 20);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  EXPECT_EQ(bytes->size(), big.size());
  EXPECT_TRUE(bytes->view() == big);
}

TEST_F(ClusterTest, AWorkerBoundsItsHandlersByItsHandlerTimeout) {
  auto w = start_loopback_node([&](node_config& cfg) {
    cfg.name = "w1";
    cfg.role = "worker";
    cfg.join = {absl::StrCat("127.0.0.1:", gateway_->cluster_port())};
    cfg.handler_timeout = absl::Milliseconds(200);
  });
  ASSERT_TRUE(w);
  ASSERT_TRUE(w->serve(demo_app(w->scheduler(), "w1")).ok());
  ASSERT_TRUE(w->listen().ok());
  ASSERT_TRUE(node_up_->wait_for(1));
  auto c = connect_to(*gateway_);
  ASSERT_TRUE(c);
  auto t0 = std::chrono::steady_clock::now();
  auto r = c->call_sync("node.slow", payload{shared_bytes::copy_of("5000")});
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(code_of(r.status()), errc::deadline_exceeded) << r.status();
  EXPECT_TRUE(absl::StrContains(r.status().message(), "in time"))
    << r.status();
  EXPECT_LT(took, std::chrono::seconds(2));
  // The endpoint stays usable.
  auto who = c->call_sync("node.whoami", payload{});
  ASSERT_TRUE(who.ok()) << who.status();
}

TEST_F(ClusterTest, RoutesServedAfterTheJoinAreAnnouncedAgain) {
  auto w = demo_worker("w1");
  ASSERT_TRUE(node_up_->wait_for(1));
  event_counter updated{*gateway_, "cluster.node_routes"};
  auto c = connect_to(*gateway_);
  ASSERT_TRUE(c);
  auto slow = c->call("node.slow", payload{shared_bytes::copy_of("300")});
  EXPECT_EQ(code_of(c->call_sync("late.hello", payload{}).status()),
            errc::not_found);
  blueprint late;
  late.raw_route("late.hello", [](const payload&, context&) {
    response rsp;
    rsp.body = payload{shared_bytes::copy_of("late")};
    return rsp;
  });
  ASSERT_TRUE(w->serve(std::move(late)).ok());
  ASSERT_TRUE(updated.wait_for(1));
  auto r = c->call_sync("late.hello", payload{});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(text_of(*r), "late");
  // The request in flight during the update kept its proxy.
  auto s = slow.result.get();
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(text_of(*s), "w1");
}

TEST_F(ClusterTest, AConflictingRouteDefinitionIsRefused) {
  auto w1 = start_worker("w1", gateway_->cluster_port());
  ASSERT_TRUE(w1);
  blueprint typed;
  typed.route<examples::hello::Greet, examples::hello::Greeting>(
    "shared", [](const examples::hello::Greet&, context&) {
      return examples::hello::Greeting{};
    });
  ASSERT_TRUE(w1->serve(std::move(typed)).ok());
  ASSERT_TRUE(w1->listen().ok());
  ASSERT_TRUE(node_up_->wait_for(1));

  auto w2 = start_worker("w2", gateway_->cluster_port());
  ASSERT_TRUE(w2);
  event_counter refused{*w2, "cluster.join_failed"};
  blueprint raw;
  raw.raw_route("shared", [](const payload& body, context&) {
    response rsp;
    rsp.body = body;
    return rsp;
  });
  ASSERT_TRUE(w2->serve(std::move(raw)).ok());
  ASSERT_TRUE(w2->listen().ok());
  ASSERT_TRUE(refused.wait_for(1));
  auto why = refused.last()["error"];
  EXPECT_TRUE(absl::StrContains(why, "route 'shared'")) << why;
  EXPECT_TRUE(absl::StrContains(why, "weft.examples.hello.Greet")) << why;
  // The first definition stays served.
  auto c = connect_to(*gateway_);
  ASSERT_TRUE(c);
  examples::hello::Greet req;
  req.set_name("x");
  EXPECT_TRUE(
    c->call_message<examples::hello::Greeting>("shared", req).ok());
}

} // namespace
} // namespace weft
