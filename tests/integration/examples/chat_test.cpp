// The chat room example (docs/examples/chat) served by an in-process node
// and called over loopback, with protobuf and with JSON bodies.

#include <algorithm>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include <absl/strings/str_cat.h>
#include <gtest/gtest.h>

#include "docs/examples/chat/chat_app.hpp"
#include "examples/chat.pb.h"
#include "tests/integration/examples/example_test.hpp"

namespace weft::test {
namespace {

namespace pb = weft::examples::chat;

pb::JoinRequest join_request(const std::string& room, const std::string& user) {
  pb::JoinRequest req;
  req.set_room(room);
  req.set_user(user);
  return req;
}

pb::SayRequest say_request(const std::string& room, const std::string& user,
                           const std::string& text) {
  pb::SayRequest req;
  req.set_room(room);
  req.set_user(user);
  req.set_text(text);
  return req;
}

pb::HistoryRequest history_request(const std::string& room,
                                   std::uint32_t limit = 0) {
  pb::HistoryRequest req;
  req.set_room(room);
  req.set_limit(limit);
  return req;
}

class ChatTest : public example_test {
protected:
  blueprint app() override {
    return examples::chat_app();
  }

  void join(const std::string& room, const std::string& user) {
    auto r = call_proto<pb::JoinReply>(*client_, "chat.join",
                                       join_request(room, user));
    ASSERT_TRUE(r.ok()) << r.status();
  }

  /// Says `count` lines into `room` as `user`, all sent before any reply is
  /// read; returns their seqs in the order sent.
  std::vector<std::uint64_t> say_many(client& c, const std::string& room,
                                      const std::string& user, int count) {
    std::vector<pending_call> calls;
    calls.reserve(static_cast<std::size_t>(count));
    for (int i = 0; i < count; ++i)
      calls.push_back(
        send_proto(c, "chat.say", say_request(room, user, line_text(user, i))));
    std::vector<std::uint64_t> seqs;
    for (auto& call : calls) {
      pb::SayReply said;
      auto st = take_proto(call, said);
      EXPECT_TRUE(st.ok()) << st;
      seqs.push_back(st.ok() ? said.seq() : 0);
    }
    return seqs;
  }

  /// Expects `room`'s history to be the `count` lines `user` said with
  /// say_many, numbered from 1.
  void expect_only_lines_of(const std::string& room, const std::string& user,
                            int count) {
    auto history = call_proto<pb::HistoryReply>(*client_, "chat.history",
                                                history_request(room));
    ASSERT_TRUE(history.ok()) << history.status();
    ASSERT_EQ(history->lines_size(), count) << room;
    for (int k = 0; k < count; ++k) {
      EXPECT_EQ(history->lines(k).seq(), static_cast<std::uint64_t>(k + 1));
      EXPECT_EQ(history->lines(k).user(), user);
      EXPECT_EQ(history->lines(k).text(), line_text(user, k));
    }
  }

  static std::string line_text(const std::string& user, int i) {
    return absl::StrCat(user, " line ", i);
  }
};

TEST_F(ChatTest, JoinSayHistoryRoundTripWithProtobuf) {
  auto joined = call_proto<pb::JoinReply>(*client_, "chat.join",
                                          join_request("lobby", "ada"));
  ASSERT_TRUE(joined.ok()) << joined.status();
  ASSERT_EQ(joined->members_size(), 1);
  EXPECT_EQ(joined->members(0), "ada");

  joined = call_proto<pb::JoinReply>(*client_, "chat.join",
                                     join_request("lobby", "grace"));
  ASSERT_TRUE(joined.ok()) << joined.status();
  EXPECT_EQ(std::vector<std::string>(joined->members().begin(),
                                     joined->members().end()),
            (std::vector<std::string>{"ada", "grace"}));

  auto said = call_proto<pb::SayReply>(*client_, "chat.say",
                                       say_request("lobby", "ada", "hello"));
  ASSERT_TRUE(said.ok()) << said.status();
  EXPECT_EQ(said->seq(), 1u);
  said = call_proto<pb::SayReply>(*client_, "chat.say",
                                  say_request("lobby", "grace", "hi ada"));
  ASSERT_TRUE(said.ok()) << said.status();
  EXPECT_EQ(said->seq(), 2u);

  auto history = call_proto<pb::HistoryReply>(*client_, "chat.history",
                                              history_request("lobby"));
  ASSERT_TRUE(history.ok()) << history.status();
  ASSERT_EQ(history->lines_size(), 2);
  EXPECT_EQ(history->lines(0).seq(), 1u);
  EXPECT_EQ(history->lines(0).user(), "ada");
  EXPECT_EQ(history->lines(0).text(), "hello");
  EXPECT_EQ(history->lines(1).seq(), 2u);
  EXPECT_EQ(history->lines(1).user(), "grace");
  EXPECT_EQ(history->lines(1).text(), "hi ada");
}

TEST_F(ChatTest, JoinSayHistoryRoundTripWithJson) {
  auto joined = call_json_as<pb::JoinReply>(*client_, "chat.join",
                                            R"({"room":"lobby","user":"ada"})");
  ASSERT_TRUE(joined.ok()) << joined.status();
  ASSERT_EQ(joined->members_size(), 1);
  EXPECT_EQ(joined->members(0), "ada");

  auto said = call_json_as<pb::SayReply>(
    *client_, "chat.say", R"({"room":"lobby","user":"ada","text":"hello"})");
  ASSERT_TRUE(said.ok()) << said.status();
  EXPECT_EQ(said->seq(), 1u);

  std::string text;
  auto history = call_json_as<pb::HistoryReply>(
    *client_, "chat.history", R"({"room":"lobby","limit":5})", &text);
  ASSERT_TRUE(history.ok()) << history.status();
  ASSERT_EQ(history->lines_size(), 1);
  EXPECT_EQ(history->lines(0).user(), "ada");
  EXPECT_EQ(history->lines(0).text(), "hello");
  // The JSON is protobuf's mapping: field names as in chat.proto, 64-bit
  // integers as strings.
  EXPECT_EQ(text, R"({"lines":[{"seq":"1","user":"ada","text":"hello"}]})");
}

TEST_F(ChatTest, JsonThatDoesNotMatchTheSchemaIsInvalidArgument) {
  auto r = call_json(*client_, "chat.join", R"({"room":"lobby","nick":"x"})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(code_of(r.status()), errc::invalid_argument) << r.status();
}

TEST_F(ChatTest, HistoryKeepsTheOrderOfManySays) {
  join("lobby", "ada");
  constexpr int count = 200;
  auto seqs = say_many(*client_, "lobby", "ada", count);
  for (int i = 0; i < count; ++i)
    ASSERT_EQ(seqs[static_cast<std::size_t>(i)],
              static_cast<std::uint64_t>(i + 1));

  expect_only_lines_of("lobby", "ada", count);

  auto last = call_proto<pb::HistoryReply>(*client_, "chat.history",
                                           history_request("lobby", 10));
  ASSERT_TRUE(last.ok()) << last.status();
  ASSERT_EQ(last->lines_size(), 10);
  EXPECT_EQ(last->lines(0).seq(), static_cast<std::uint64_t>(count - 9));
  EXPECT_EQ(last->lines(9).seq(), static_cast<std::uint64_t>(count));
}

TEST_F(ChatTest, HistoryKeepsTheLastThousandLines) {
  join("lobby", "ada");
  constexpr int count = 1005;
  auto seqs = say_many(*client_, "lobby", "ada", count);
  EXPECT_EQ(seqs.back(), static_cast<std::uint64_t>(count));

  auto all = call_proto<pb::HistoryReply>(*client_, "chat.history",
                                          history_request("lobby"));
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->lines_size(), 1000);
  EXPECT_EQ(all->lines(0).seq(), 6u);
  EXPECT_EQ(all->lines(999).seq(), static_cast<std::uint64_t>(count));
}

TEST_F(ChatTest, TwoRoomsAreIndependent) {
  join("red", "ada");
  join("blue", "bob");
  auto red = say_many(*client_, "red", "ada", 3);
  auto blue = say_many(*client_, "blue", "bob", 2);
  EXPECT_EQ(red, (std::vector<std::uint64_t>{1, 2, 3}));
  EXPECT_EQ(blue, (std::vector<std::uint64_t>{1, 2}));

  expect_only_lines_of("red", "ada", 3);
  expect_only_lines_of("blue", "bob", 2);

  // Membership is per room too.
  auto intruder = call_proto<pb::SayReply>(*client_, "chat.say",
                                           say_request("red", "bob", "hi"));
  ASSERT_FALSE(intruder.ok());
  EXPECT_EQ(code_of(intruder.status()), errc::permission_denied);
}

TEST_F(ChatTest, ManyRoomsSpreadOverTheActorsKeepTheirOwnLines) {
  // More rooms than room actors: some share an actor, and each still sees
  // only its own members and lines.
  constexpr int rooms = 24;
  for (int i = 0; i < rooms; ++i)
    join(absl::StrCat("room", i), absl::StrCat("user", i));
  std::vector<pending_call> calls;
  for (int i = 0; i < rooms; ++i)
    for (int k = 0; k <= i % 3; ++k)
      calls.push_back(
        send_proto(*client_, "chat.say",
                   say_request(absl::StrCat("room", i), absl::StrCat("user", i),
                               line_text(absl::StrCat("user", i), k))));
  for (auto& call : calls) {
    pb::SayReply said;
    ASSERT_TRUE(take_proto(call, said).ok());
  }
  for (int i = 0; i < rooms; ++i)
    expect_only_lines_of(absl::StrCat("room", i), absl::StrCat("user", i),
                         i % 3 + 1);
}

TEST_F(ChatTest, SayWithoutJoiningIsPermissionDenied) {
  join("lobby", "ada");
  auto r = call_proto<pb::SayReply>(*client_, "chat.say",
                                    say_request("lobby", "eve", "hello"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(code_of(r.status()), errc::permission_denied) << r.status();

  auto history = call_proto<pb::HistoryReply>(*client_, "chat.history",
                                              history_request("lobby"));
  ASSERT_TRUE(history.ok()) << history.status();
  EXPECT_EQ(history->lines_size(), 0);
}

TEST_F(ChatTest, RoomNobodyJoinedIsNotFound) {
  auto history = call_proto<pb::HistoryReply>(*client_, "chat.history",
                                              history_request("void"));
  ASSERT_FALSE(history.ok());
  EXPECT_EQ(code_of(history.status()), errc::not_found) << history.status();
  auto said = call_proto<pb::SayReply>(*client_, "chat.say",
                                       say_request("void", "ada", "echo?"));
  ASSERT_FALSE(said.ok());
  EXPECT_EQ(code_of(said.status()), errc::not_found) << said.status();
}

TEST_F(ChatTest, EmptyNamesAndLongLinesAreRefused) {
  auto no_user = call_proto<pb::JoinReply>(*client_, "chat.join",
                                           join_request("lobby", ""));
  ASSERT_FALSE(no_user.ok());
  EXPECT_EQ(code_of(no_user.status()), errc::invalid_argument);

  join("lobby", "ada");
  auto long_line = call_proto<pb::SayReply>(
    *client_, "chat.say", say_request("lobby", "ada", std::string(5000, 'x')));
  ASSERT_FALSE(long_line.ok());
  EXPECT_EQ(code_of(long_line.status()), errc::limit_exceeded);
}

TEST_F(ChatTest, TenConcurrentClientsGetGapFreeIncreasingSeqs) {
  constexpr int clients = 10;
  constexpr int lines_each = 100;
  std::vector<client*> connected;
  for (int i = 0; i < clients; ++i) {
    auto c = node_->connect();
    ASSERT_TRUE(c.ok()) << c.status();
    connected.push_back(*c);
    auto joined = call_proto<pb::JoinReply>(
      **c, "chat.join", join_request("agora", absl::StrCat("user", i)));
    ASSERT_TRUE(joined.ok()) << joined.status();
  }

  std::vector<std::vector<std::uint64_t>> seqs(clients);
  {
    std::vector<std::thread> threads;
    for (int i = 0; i < clients; ++i)
      threads.emplace_back([&, i] {
        auto n = static_cast<std::size_t>(i);
        seqs[n] = say_many(*connected[n], "agora", absl::StrCat("user", i),
                           lines_each);
      });
    for (auto& t : threads)
      t.join();
  }

  std::vector<std::uint64_t> all;
  for (int i = 0; i < clients; ++i) {
    const auto& mine = seqs[static_cast<std::size_t>(i)];
    ASSERT_EQ(mine.size(), static_cast<std::size_t>(lines_each));
    // One connection's requests reach the room in the order sent.
    EXPECT_TRUE(std::is_sorted(mine.begin(), mine.end())
                && std::adjacent_find(mine.begin(), mine.end()) == mine.end())
      << "client " << i << " got seqs out of order";
    all.insert(all.end(), mine.begin(), mine.end());
  }
  std::sort(all.begin(), all.end());
  ASSERT_EQ(all.size(), static_cast<std::size_t>(clients * lines_each));
  for (std::size_t i = 0; i < all.size(); ++i)
    ASSERT_EQ(all[i], i + 1) << "seqs have a gap or a duplicate";

  auto history = call_proto<pb::HistoryReply>(*client_, "chat.history",
                                              history_request("agora"));
  ASSERT_TRUE(history.ok()) << history.status();
  ASSERT_EQ(history->lines_size(), clients * lines_each);
  for (int i = 0; i < history->lines_size(); ++i)
    ASSERT_EQ(history->lines(i).seq(), static_cast<std::uint64_t>(i + 1));
}

} // namespace
} // namespace weft::test
