// route_dispatcher over hand-made route tables: lookup, middleware, error
// handlers, JSON conversion, worker choice and the pool bound, without any
// actor running (the workers are never sent to).

#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <google/protobuf/wrappers.pb.h>
#include <absl/strings/str_cat.h>
#include <gtest/gtest.h>

#include "runtime/blueprint.hpp"
#include "runtime/route_dispatcher.hpp"

namespace weft {
namespace {

using google::protobuf::StringValue;

/// A table with one route built from `bp`'s first route, `workers` null
/// actor handles (enough to pick from), and `mws` / `ehs`.
struct table_builder {
  std::shared_ptr<route_table> table = std::make_shared<route_table>();

  route_binding& add(std::shared_ptr<const route_spec> spec, std::size_t workers,
                     int key_field = 0) {
    auto b = std::make_shared<route_binding>();
    b->name = spec->name;
    b->spec = spec;
    b->workers.resize(workers);
    b->load = std::make_shared<pool_load>(workers, spec->options.max_queue);
    b->key_field = key_field;
    auto& ref = *b;
    table->routes.emplace(spec->name, std::move(b));
    return ref;
  }

  std::shared_ptr<const route_table> done() {
    table->version = 1;
    auto schemas = std::make_shared<schema_registry>();
    schemas->add(StringValue::descriptor());
    table->schemas = schemas;
    return table;
  }
};

std::shared_ptr<const route_spec> spec_of(blueprint bp) {
  return bp.routes().front();
}

std::shared_ptr<const route_spec> string_route(route_options opts = {}) {
  blueprint bp;
  bp.route<StringValue, StringValue>(
    "s", [](const StringValue& v, context&) { return v; }, std::move(opts));
  return spec_of(std::move(bp));
}

request make_request(std::string route, std::string body = {}) {
  request req;
  req.route = std::move(route);
  req.body = payload{shared_bytes::copy_of(body)};
  return req;
}

std::string encoded(absl::string_view text) {
  StringValue v;
  v.set_value(std::string{text});
  return v.SerializeAsString();
}

TEST(KeyOfTest, ReadsStringsIntegersAndAbsentFields) {
  EXPECT_EQ(key_of(encoded("room-7"), 1), "room-7");
  EXPECT_EQ(key_of(encoded("room-7"), 2), "");
  google::protobuf::Int64Value n;
  n.set_value(300);
  EXPECT_EQ(key_of(n.SerializeAsString(), 1), "300");
  EXPECT_EQ(key_of("", 1), "");
}

TEST(KeyOfTest, MalformedBytesGiveAKeyWithoutReadingPastTheEnd) {
  // Field 1, length 100, but only 3 bytes follow.
  std::string truncated{"\x0a\x64\x61\x62\x63", 5};
  EXPECT_EQ(key_of(truncated, 1), "");
  std::string garbage(64, '\xff');
  EXPECT_EQ(key_of(garbage, 1), "");
}

TEST(PoolLoadTest, BoundsInFlightAndGivesPlacesBack) {
  pool_load load{2, 3};
  EXPECT_TRUE(load.try_acquire(0));
  EXPECT_TRUE(load.try_acquire(0));
  EXPECT_TRUE(load.try_acquire(1));
  EXPECT_FALSE(load.try_acquire(1));
  EXPECT_EQ(load.in_flight(), 3);
  EXPECT_EQ(load.least_loaded(), 1u);
  load.release(0);
  load.release(0);
  EXPECT_EQ(load.least_loaded(), 0u);
  EXPECT_TRUE(load.try_acquire(1));
  std::set<std::size_t> turns{load.next(), load.next()};
  EXPECT_EQ(turns.size(), 2u);
}

TEST(RouteDispatcherTest, UnknownRouteIsNotFoundAndDownRouteUnavailable) {
  table_builder tb;
  auto& down = tb.add(string_route(), 0);
  down.down_reason = "it crashed";
  route_dispatcher d{tb.done()};
  dispatch_ticket t1;
  auto req = make_request("nope");
  EXPECT_EQ(code_of(d.prepare(req, t1)), errc::not_found);
  dispatch_ticket t2;
  auto req2 = make_request("s");
  auto st = d.prepare(req2, t2);
  EXPECT_EQ(code_of(st), errc::unavailable);
  EXPECT_NE(st.message().find("it crashed"), absl::string_view::npos);
}

TEST(RouteDispatcherTest, FullPoolIsOverloadedUntilATicketGoes) {
  route_options opts;
  opts.max_queue = 2;
  table_builder tb;
  tb.add(string_route(opts), 1);
  route_dispatcher d{tb.done()};
  std::vector<dispatch_ticket> held(2);
  for (auto& t : held) {
    auto req = make_request("s", encoded("x"));
    ASSERT_TRUE(d.prepare(req, t).ok());
  }
  dispatch_ticket extra;
  auto req = make_request("s", encoded("x"));
  EXPECT_EQ(code_of(d.prepare(req, extra)), errc::overloaded);
  held.pop_back(); // its destructor gives the place back
  dispatch_ticket again;
  auto req2 = make_request("s", encoded("x"));
  EXPECT_TRUE(d.prepare(req2, again).ok());
}

TEST(RouteDispatcherTest, BatchedCountsReachThePoolAtSettleAndStillBound) {
  route_options opts;
  opts.max_queue = 3;
  table_builder tb;
  auto load = tb.add(string_route(opts), 1).load;
  route_dispatcher d{tb.done()};
  d.count_in_batches(true);
  std::vector<dispatch_ticket> held(3);
  for (auto& t : held) {
    auto req = make_request("s", encoded("x"));
    ASSERT_TRUE(d.prepare(req, t).ok());
  }
  // Nothing reached the shared counter yet, but this dispatcher's own
  // unsettled places count against the bound.
  EXPECT_EQ(load->in_flight(), 0);
  dispatch_ticket extra;
  auto req = make_request("s", encoded("x"));
  EXPECT_EQ(code_of(d.prepare(req, extra)), errc::overloaded);
  d.settle();
  EXPECT_EQ(load->in_flight(), 3);
  // Places given back (finish, or a ticket that goes) and a place taken
  // in the same step net out in one update.
  absl::StatusOr<response> result = response{};
  d.finish(held[0], result);
  held.pop_back();
  dispatch_ticket again;
  auto req2 = make_request("s", encoded("x"));
  ASSERT_TRUE(d.prepare(req2, again).ok());
  EXPECT_EQ(load->in_flight(), 3);
  d.settle();
  EXPECT_EQ(load->in_flight(), 2);
  // Turning batching off settles; so does the dispatcher's end.
  again = dispatch_ticket{};
  d.count_in_batches(false);
  EXPECT_EQ(load->in_flight(), 1);
  {
    route_dispatcher other{d.table()};
    other.count_in_batches(true);
    dispatch_ticket t;
    auto req3 = make_request("s", encoded("x"));
    ASSERT_TRUE(other.prepare(req3, t).ok());
    EXPECT_EQ(load->in_flight(), 1);
  }
  EXPECT_EQ(load->in_flight(), 1);
  held.clear();
  EXPECT_EQ(load->in_flight(), 0);
}

TEST(RouteDispatcherTest, BatchedCountsOfAnotherPoolOrWorkerApplyTheLastOnes) {
  // One count waits at a time: moving to another worker (or pool) applies
  // the one before, so every worker's count stays right.
  table_builder tb;
  auto load = tb.add(string_route(), 2).load;
  route_dispatcher d{tb.done()};
  d.count_in_batches(true);
  std::vector<dispatch_ticket> held(4);
  for (auto& t : held) {
    auto req = make_request("s", encoded("x"));
    ASSERT_TRUE(d.prepare(req, t).ok()); // round robin: 0, 1, 0, 1
  }
  EXPECT_EQ(load->in_flight(), 3);
  d.settle();
  EXPECT_EQ(load->in_flight(0), 2);
  EXPECT_EQ(load->in_flight(1), 2);
  held.clear();
  d.settle();
  EXPECT_EQ(load->in_flight(0), 0);
  EXPECT_EQ(load->in_flight(1), 0);
  EXPECT_EQ(load->in_flight(), 0);
}

TEST(RouteDispatcherTest, LeastLoadedCountsThePlacesNotSettledYet) {
  // Two requests of one step: the second sees the first's place.
  route_options opts;
  opts.dispatch = dispatch_policy::least_loaded;
  table_builder tb;
  auto load = tb.add(string_route(opts), 2).load;
  route_dispatcher d{tb.done()};
  d.count_in_batches(true);
  dispatch_ticket first;
  dispatch_ticket second;
  auto req1 = make_request("s", encoded("x"));
  auto req2 = make_request("s", encoded("x"));
  ASSERT_TRUE(d.prepare(req1, first).ok());
  ASSERT_TRUE(d.prepare(req2, second).ok());
  EXPECT_NE(&first.worker(), &second.worker());
  d.settle();
  EXPECT_EQ(load->in_flight(0), 1);
  EXPECT_EQ(load->in_flight(1), 1);
}

TEST(RouteDispatcherTest, BatchedCountsAreSettledBeforeTheirTableGoes) {
  // The pool lives in the table: a table that goes with its last ticket
  // first gets that ticket's count (ASan reports a late one).
  table_builder tb;
  auto load = tb.add(string_route(), 1).load;
  auto v1 = tb.done();
  route_dispatcher d{v1};
  d.count_in_batches(true);
  dispatch_ticket t;
  auto req = make_request("s", encoded("x"));
  ASSERT_TRUE(d.prepare(req, t).ok());
  table_builder newer;
  newer.add(string_route(), 1);
  newer.done();
  newer.table->version = 2;
  d.update(newer.table);
  EXPECT_EQ(load->in_flight(), 1); // update settles
  std::weak_ptr<const route_table> v1_alive = v1;
  v1.reset();
  tb.table.reset();
  ASSERT_FALSE(v1_alive.expired());
  t = dispatch_ticket{};
  EXPECT_TRUE(v1_alive.expired());
  EXPECT_EQ(load->in_flight(), 0);
}

TEST(RouteDispatcherTest, TicketsKeepTheirTableUntilTheyGo) {
  auto table_of = [](std::string name, std::uint64_t version) {
    table_builder tb;
    tb.add(string_route(), 1).name = std::move(name);
    tb.done();
    tb.table->version = version;
    return std::shared_ptr<const route_table>{std::move(tb.table)};
  };
  auto v1 = table_of("first", 1);
  std::weak_ptr<const route_table> v1_alive = v1;
  route_dispatcher d{std::move(v1)};
  auto t = std::make_unique<dispatch_ticket>();
  auto req = make_request("s", encoded("x"));
  ASSERT_TRUE(d.prepare(req, *t).ok());
  d.update(table_of("newer", 2));
  // The request in flight still finishes against the table it came with.
  ASSERT_FALSE(v1_alive.expired());
  EXPECT_EQ(t->binding()->name, "first");
  absl::StatusOr<response> result = response{};
  d.finish(*t, result);
  EXPECT_TRUE(result.ok());
  // New requests take the newer table.
  dispatch_ticket t2;
  auto req2 = make_request("s", encoded("x"));
  ASSERT_TRUE(d.prepare(req2, t2).ok());
  EXPECT_EQ(t2.binding()->name, "newer");
  // The old table goes with its last ticket, wherever that was moved.
  auto moved = std::move(*t);
  t.reset();
  EXPECT_FALSE(v1_alive.expired());
  moved = dispatch_ticket{};
  EXPECT_TRUE(v1_alive.expired());
  // The same for the next table: it stays past an update while t2 lives.
  std::weak_ptr<const route_table> v2_alive = d.table();
  d.update(table_of("newest", 3));
  EXPECT_FALSE(v2_alive.expired());
  EXPECT_EQ(t2.binding()->name, "newer");
  t2 = dispatch_ticket{};
  EXPECT_TRUE(v2_alive.expired());
}

TEST(RouteDispatcherTest, MiddlewareWrapsTheHandlerInOrder) {
  std::vector<std::string> trace;
  auto mw = [&trace](std::string name, bool deny = false) {
    middleware m;
    m.name = name;
    m.before = [&trace, name, deny](request& req) {
      trace.push_back(name + ".before");
      req.values[name] = "seen";
      return deny ? make_status(errc::permission_denied, name)
                  : absl::OkStatus();
    };
    m.after = [&trace, name](const request& req, absl::StatusOr<response>&) {
      trace.push_back(name + ".after:" + std::to_string(req.values.size()));
    };
    return std::make_shared<const middleware>(std::move(m));
  };
  table_builder tb;
  auto& route = tb.add(string_route(), 1);
  route.middlewares = {mw("outer"), mw("inner")};
  route_dispatcher d{tb.done()};
  dispatch_ticket t;
  auto req = make_request("s", encoded("x"));
  ASSERT_TRUE(d.prepare(req, t).ok());
  EXPECT_EQ(req.values.size(), 2u);
  absl::StatusOr<response> result = response{};
  d.finish(t, result);
  EXPECT_EQ(trace, (std::vector<std::string>{"outer.before", "inner.before",
                                             "inner.after:2", "outer.after:2"}));
}

TEST(RouteDispatcherTest, ShortCircuitSkipsInnerMiddlewareButRunsOuterAfter) {
  std::vector<std::string> trace;
  table_builder tb;
  auto& route = tb.add(string_route(), 1);
  middleware deny;
  deny.name = "deny";
  deny.before = [&](request&) {
    trace.push_back("deny.before");
    return make_status(errc::permission_denied, "no");
  };
  deny.after = [&](const request&, absl::StatusOr<response>&) {
    trace.push_back("deny.after");
  };
  middleware inner;
  inner.name = "inner";
  inner.before = [&](request&) {
    trace.push_back("inner.before");
    return absl::OkStatus();
  };
  route.middlewares = {std::make_shared<const middleware>(deny),
                       std::make_shared<const middleware>(inner)};
  route_dispatcher d{tb.done()};
  dispatch_ticket t;
  auto req = make_request("s", encoded("x"));
  absl::StatusOr<response> result = d.prepare(req, t);
  EXPECT_EQ(code_of(result.status()), errc::permission_denied);
  d.finish(t, result);
  EXPECT_EQ(trace, (std::vector<std::string>{"deny.before", "deny.after"}));
}

TEST(RouteDispatcherTest, ThrowingMiddlewareBecomesHandlerFailed) {
  table_builder tb;
  auto& route = tb.add(string_route(), 1);
  middleware m;
  m.name = "bad";
  m.before = [](request&) -> absl::Status { throw std::runtime_error("oops"); };
  route.middlewares = {std::make_shared<const middleware>(m)};
  route_dispatcher d{tb.done()};
  dispatch_ticket t;
  auto req = make_request("s", encoded("x"));
  auto st = d.prepare(req, t);
  EXPECT_EQ(code_of(st), errc::handler_failed);
  EXPECT_NE(st.message().find("oops"), absl::string_view::npos);
}

TEST(RouteDispatcherTest, ErrorHandlersRunInnermostFirstUntilOneReplies) {
  table_builder tb;
  auto& route = tb.add(string_route(), 1);
  std::vector<int> ran;
  route.error_handlers = {
    std::make_shared<const error_handler>(
      [&](const request&, const absl::Status& s) -> absl::StatusOr<response> {
        ran.push_back(1);
        return s;
      }),
    std::make_shared<const error_handler>(
      [&](const request& req, const absl::Status&) -> absl::StatusOr<response> {
        ran.push_back(2);
        response rsp;
        rsp.body = payload{shared_bytes::copy_of(req.route)};
        return rsp;
      }),
    std::make_shared<const error_handler>(
      [&](const request&, const absl::Status& s) -> absl::StatusOr<response> {
        ran.push_back(3);
        return s;
      }),
  };
  route_dispatcher d{tb.done()};
  dispatch_ticket t;
  auto req = make_request("s", encoded("x"));
  ASSERT_TRUE(d.prepare(req, t).ok());
  absl::StatusOr<response> result = make_status(errc::internal, "x");
  d.finish(t, result);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->body.bytes().view(), "s");
  EXPECT_EQ(ran, (std::vector<int>{1, 2}));
}

TEST(RouteDispatcherTest, JsonRequestsAreEncodedAndRepliesPrintedAsJson) {
  table_builder tb;
  tb.add(string_route(), 1);
  route_dispatcher d{tb.done()};
  dispatch_ticket t;
  auto req = make_request("s", R"("hi")");
  req.content_type = json_content_type;
  ASSERT_TRUE(d.prepare(req, t).ok());
  EXPECT_EQ(req.content_type, protobuf_content_type);
  EXPECT_EQ(req.body.bytes().view(), encoded("hi"));
  absl::StatusOr<response> result = encode_message([] {
    StringValue v;
    v.set_value("back");
    return v;
  }());
  d.finish(t, result);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->content_type, json_content_type);
  EXPECT_EQ(result->body.bytes().view(), R"("back")");
  dispatch_ticket bad;
  auto wrong = make_request("s", R"({"not":"a string"})");
  wrong.content_type = json_content_type;
  EXPECT_EQ(code_of(d.prepare(wrong, bad)), errc::invalid_argument);
}

TEST(RouteDispatcherTest, KeyedRoutesSendOneKeyToOneWorker) {
  route_options opts;
  opts.workers = 4;
  opts.dispatch = dispatch_policy::by_key;
  opts.key = "value";
  table_builder tb;
  tb.add(string_route(opts), 4, 1);
  route_dispatcher d{tb.done()};
  std::set<const caf::actor*> used;
  for (int k = 0; k < 32; ++k) {
    auto key = absl::StrCat("key-", k);
    std::set<std::size_t> workers;
    for (int i = 0; i < 5; ++i) {
      dispatch_ticket t;
      auto req = make_request("s", encoded(key));
      ASSERT_TRUE(d.prepare(req, t).ok());
      used.insert(&t.worker());
      workers.insert(static_cast<std::size_t>(&t.worker() - &t.binding()->workers[0]));
      EXPECT_TRUE(t.keyed());
    }
    EXPECT_EQ(workers.size(), 1u) << key;
  }
  EXPECT_GT(used.size(), 1u);
}

TEST(RouteDispatcherTest, SameCoreSendsToTheWorkerOfTheEdgesThread) {
  route_options opts;
  opts.workers = 3;
  opts.dispatch = dispatch_policy::same_core;
  table_builder tb;
  tb.add(string_route(opts), 3);
  for (std::size_t home : {0u, 1u, 2u, 3u, 7u}) {
    route_dispatcher d{tb.done()};
    d.set_home(home);
    for (int i = 0; i < 4; ++i) {
      dispatch_ticket t;
      auto req = make_request("s", encoded("x"));
      ASSERT_TRUE(d.prepare(req, t).ok());
      EXPECT_EQ(&t.worker(), &t.binding()->workers[home % 3]) << home;
    }
  }
  // Without a home (an edge that has no I/O thread), the first worker.
  route_dispatcher d{tb.done()};
  dispatch_ticket t;
  auto req = make_request("s", encoded("x"));
  ASSERT_TRUE(d.prepare(req, t).ok());
  EXPECT_EQ(&t.worker(), &t.binding()->workers[0]);
}

} // namespace
} // namespace weft
