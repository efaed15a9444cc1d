// The key-value store example (docs/examples/kv) served by an in-process
// node and called over loopback, with protobuf and with JSON bodies.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <absl/strings/str_cat.h>
#include <absl/synchronization/mutex.h>
#include <gtest/gtest.h>

#include "docs/examples/kv/kv_app.hpp"
#include "examples/kv.pb.h"
#include "tests/integration/examples/example_test.hpp"

namespace weft::test {
namespace {

namespace pb = weft::examples::kv;

class KvTest : public example_test {
protected:
  blueprint app() override {
    return examples::kv_app();
  }

  absl::StatusOr<pb::GetReply> get(const std::string& key) {
    pb::GetRequest req;
    req.set_key(key);
    return call_proto<pb::GetReply>(*client_, "kv.get", req);
  }

  absl::StatusOr<pb::PutReply>
  put(const std::string& key, const std::string& value,
      std::optional<std::uint64_t> expected_version = std::nullopt) {
    pb::PutRequest req;
    req.set_key(key);
    req.set_value(value);
    if (expected_version)
      req.set_expected_version(*expected_version);
    return call_proto<pb::PutReply>(*client_, "kv.put", req);
  }

  absl::StatusOr<pb::DeleteReply> erase(const std::string& key) {
    pb::DeleteRequest req;
    req.set_key(key);
    return call_proto<pb::DeleteReply>(*client_, "kv.delete", req);
  }
};

TEST_F(KvTest, PutGetDeleteRoundTrip) {
  auto missing = get("color");
  ASSERT_TRUE(missing.ok()) << missing.status();
  EXPECT_FALSE(missing->found());

  auto put1 = put("color", "red");
  ASSERT_TRUE(put1.ok()) << put1.status();
  EXPECT_GT(put1->version(), 0u);

  auto got = get("color");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(got->found());
  EXPECT_EQ(got->value(), "red");
  EXPECT_EQ(got->version(), put1->version());

  auto put2 = put("color", std::string("bl\0ue", 5));
  ASSERT_TRUE(put2.ok()) << put2.status();
  EXPECT_GT(put2->version(), put1->version());
  got = get("color");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->value(), std::string("bl\0ue", 5));
  EXPECT_EQ(got->version(), put2->version());

  auto erased = erase("color");
  ASSERT_TRUE(erased.ok()) << erased.status();
  EXPECT_TRUE(erased->existed());
  got = get("color");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_FALSE(got->found());
  EXPECT_EQ(got->version(), 0u);

  erased = erase("color");
  ASSERT_TRUE(erased.ok()) << erased.status();
  EXPECT_FALSE(erased->existed());
}

TEST_F(KvTest, VersionsGrowEvenAcrossADelete) {
  auto first = put("k", "a");
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(erase("k").ok());
  auto again = put("k", "b");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_GT(again->version(), first->version());
}

TEST_F(KvTest, CompareAndSetConflictChangesNothing) {
  // expected_version 0: create only.
  auto created = put("counter", "1", 0u);
  ASSERT_TRUE(created.ok()) << created.status();
  auto recreate = put("counter", "x", 0u);
  ASSERT_FALSE(recreate.ok());
  EXPECT_EQ(code_of(recreate.status()), errc::failed_precondition)
    << recreate.status();

  auto updated = put("counter", "2", created->version());
  ASSERT_TRUE(updated.ok()) << updated.status();

  // A writer that read the old version loses.
  auto stale = put("counter", "stale", created->version());
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(code_of(stale.status()), errc::failed_precondition) << stale.status();
  EXPECT_NE(stale.status().message().find(absl::StrCat(updated->version())),
            absl::string_view::npos)
    << stale.status();

  auto got = get("counter");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->value(), "2");
  EXPECT_EQ(got->version(), updated->version());

  // A compare-and-set on a key that does not exist fails too.
  auto absent = put("nothing", "v", 7u);
  ASSERT_FALSE(absent.ok());
  EXPECT_EQ(code_of(absent.status()), errc::failed_precondition);
  got = get("nothing");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_FALSE(got->found());
}

TEST_F(KvTest, CompareAndSetLetsOneOfTwoRacingWritersWin) {
  // Two connections race to write the same read-modify-write increment:
  // each time exactly one wins, so no increment is lost or applied twice.
  auto other = node_->connect();
  ASSERT_TRUE(other.ok()) << other.status();
  ASSERT_TRUE(put("n", "0", 0u).ok());
  constexpr int increments = 50;
  for (int i = 0; i < increments; ++i) {
    auto now = get("n");
    ASSERT_TRUE(now.ok()) << now.status();
    pb::PutRequest write;
    write.set_key("n");
    write.set_value(std::to_string(std::stoi(now->value()) + 1));
    write.set_expected_version(now->version());
    auto mine = send_proto(*client_, "kv.put", write);
    auto theirs = send_proto(**other, "kv.put", write);
    pb::PutReply r1, r2;
    auto s1 = take_proto(mine, r1);
    auto s2 = take_proto(theirs, r2);
    ASSERT_NE(s1.ok(), s2.ok()) << s1 << " / " << s2;
    auto lost = s1.ok() ? s2 : s1;
    EXPECT_EQ(code_of(lost), errc::failed_precondition) << lost;
  }
  auto final_value = get("n");
  ASSERT_TRUE(final_value.ok()) << final_value.status();
  EXPECT_EQ(final_value->value(), std::to_string(increments));
}

TEST_F(KvTest, JsonPutAndGet) {
  // bytes travel as base64 in protobuf's JSON mapping: "aGVsbG8=" is "hello".
  auto put_reply = call_json_as<pb::PutReply>(
    *client_, "kv.put", R"({"key":"greeting","value":"aGVsbG8="})");
  ASSERT_TRUE(put_reply.ok()) << put_reply.status();
  EXPECT_GT(put_reply->version(), 0u);

  std::string text;
  auto got = call_json_as<pb::GetReply>(*client_, "kv.get",
                                        R"({"key":"greeting"})", &text);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_NE(text.find(R"("value":"aGVsbG8=")"), std::string::npos) << text;
  EXPECT_TRUE(got->found());
  EXPECT_EQ(got->value(), "hello");
  EXPECT_EQ(got->version(), put_reply->version());

  // A JSON compare-and-set against a stale version is refused the same way.
  auto stale
    = call_json(*client_, "kv.put",
                R"({"key":"greeting","value":"eA==","expectedVersion":"999"})");
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(code_of(stale.status()), errc::failed_precondition) << stale.status();

  // The same data read back as protobuf.
  auto proto = get("greeting");
  ASSERT_TRUE(proto.ok()) << proto.status();
  EXPECT_EQ(proto->value(), "hello");
}

TEST_F(KvTest, EmptyKeyAndHugeValueAreRefused) {
  auto empty = put("", "v");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(code_of(empty.status()), errc::invalid_argument);

  auto huge = put("big", std::string(1024 * 1024 + 1, 'x'));
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(code_of(huge.status()), errc::limit_exceeded);
}

TEST_F(KvTest, ManyKeysSpreadOverShardsKeepTheirValues) {
  constexpr int count = 500;
  std::vector<pending_call> calls;
  for (int i = 0; i < count; ++i) {
    pb::PutRequest req;
    req.set_key(absl::StrCat("key", i));
    req.set_value(absl::StrCat("value", i));
    calls.push_back(send_proto(*client_, "kv.put", req));
  }
  for (auto& call : calls) {
    pb::PutReply r;
    ASSERT_TRUE(take_proto(call, r).ok());
  }
  for (int i = 0; i < count; ++i) {
    auto got = get(absl::StrCat("key", i));
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_TRUE(got->found()) << i;
    EXPECT_EQ(got->value(), absl::StrCat("value", i));
  }
}

TEST_F(KvTest, WatchPushesEveryLaterChangeOfTheKey) {
  absl::Mutex mu;
  std::vector<pb::KeyChanged> changes;
  client_options opts;
  opts.port = node_->port();
  opts.reconnect = false;
  opts.on_push = [&](push_message msg) {
    pb::KeyChanged change;
    EXPECT_EQ(msg.route, "kv.changed");
    EXPECT_TRUE(change.ParseFromString(msg.body.bytes().to_string()));
    absl::MutexLock lock{&mu};
    changes.push_back(change);
  };
  auto watcher = client::connect(opts);
  ASSERT_TRUE(watcher.ok()) << watcher.status();
  ASSERT_TRUE(put("color", "red").ok());
  pb::WatchRequest watch;
  watch.set_key("color");
  auto current = (*watcher)->call_message<pb::WatchReply>("kv.watch", watch);
  ASSERT_TRUE(current.ok()) << current.status();
  EXPECT_EQ(current->current().value(), "red");
  auto blue = put("color", "blue");
  ASSERT_TRUE(blue.ok());
  ASSERT_TRUE(put("other", "x").ok()); // not watched
  ASSERT_TRUE(erase("color").ok());
  auto two = [&] { return changes.size() >= 2; };
  absl::MutexLock lock{&mu};
  ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(&two), absl::Seconds(10)));
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].value(), "blue");
  EXPECT_EQ(changes[0].version(), blue->version());
  EXPECT_TRUE(changes[1].deleted());
}

} // namespace
} // namespace weft::test
