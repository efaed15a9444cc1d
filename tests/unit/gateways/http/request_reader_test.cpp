#include "gateways/http/request_reader.hpp"

#include <random>
#include <string>

#include <gtest/gtest.h>

namespace {

using weft::http::http_limits;
using weft::http::request_reader;
using state = request_reader::state;

/// Feeds `bytes` in two pieces split at `split`, as a connection would
/// (keeping what the reader did not use); returns the reader's final state.
state feed_split(request_reader& reader, const std::string& bytes,
                 std::size_t split, std::uint64_t max_body = 1 << 20) {
  std::string buffered;
  std::size_t given = 0;
  for (int rounds = 0; rounds < 100; ++rounds) {
    if (given < bytes.size()) {
      auto piece = given == 0 ? split : bytes.size() - given;
      buffered += bytes.substr(given, piece);
      given += piece;
    }
    auto used = reader.feed(buffered);
    buffered.erase(0, used);
    if (reader.current() == state::head)
      reader.read_body(max_body);
    if (reader.current() == state::complete
        || reader.current() == state::failed)
      return reader.current();
    if (used == 0 && given == bytes.size() && reader.current() != state::head)
      return reader.current();
  }
  return reader.current();
}

TEST(RequestReaderTest, ReadsAChunkedRequestFedAtEverySplitPoint) {
  const std::string bytes
    = "POST /up?x=1 HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\n"
      "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n1;e=2\r\n!\r\n0\r\n\r\n";
  http_limits limits;
  for (std::size_t split = 1; split < bytes.size(); ++split) {
    request_reader reader{limits};
    ASSERT_EQ(feed_split(reader, bytes, split), state::complete) << split;
    EXPECT_EQ(reader.head().method, "POST");
    EXPECT_EQ(reader.head().target, "/up?x=1");
    EXPECT_TRUE(reader.head().chunked);
    EXPECT_EQ(reader.head().content_type, "text/plain");
    EXPECT_EQ(reader.body(), "hello!") << split;
  }
}

TEST(RequestReaderTest, ReadsPipelinedRequestsOneAtATime) {
  const std::string bytes = "GET /a HTTP/1.1\r\nHost: a\r\n\r\n"
                            "POST /b HTTP/1.1\r\nHost: a\r\n"
                            "Content-Length: 2\r\n\r\nhiGET /c HTTP/1.1\r\n";
  http_limits limits;
  request_reader reader{limits};
  std::string buffered = bytes;
  std::vector<std::string> targets;
  for (int i = 0; i < 10 && !buffered.empty(); ++i) {
    buffered.erase(0, reader.feed(buffered));
    if (reader.current() == state::head)
      reader.read_body(100);
    if (reader.current() == state::need_more)
      buffered.erase(0, reader.feed(buffered));
    if (reader.current() == state::complete) {
      targets.push_back(reader.head().target + ":" + reader.body());
      reader.next();
    }
  }
  EXPECT_EQ(targets, (std::vector<std::string>{"/a:", "/b:hi"}));
  EXPECT_EQ(reader.current(), state::need_more);
  EXPECT_TRUE(reader.started());
}

struct refused {
  const char* name;
  std::string bytes;
  int status;
};

TEST(RequestReaderTest, RefusesAmbiguousFramingAndOversizedParts) {
  http_limits limits;
  limits.max_target_bytes = 64;
  limits.max_header_bytes = 512;
  limits.max_header_count = 5;
  const std::string post = "POST / HTTP/1.1\r\nHost: a\r\n";
  const refused cases[] = {
    {"CL and TE", post + "Content-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
    {"two CL", post + "Content-Length: 1\r\nContent-Length: 1\r\n\r\na", 400},
    {"CL list", post + "Content-Length: 1, 1\r\n\r\na", 400},
    {"chunked not last", post + "Transfer-Encoding: chunked, gzip\r\n\r\n", 400},
    {"gzip alone", post + "Transfer-Encoding: gzip\r\n\r\n", 400},
    {"gzip, chunked", post + "Transfer-Encoding: gzip, chunked\r\n\r\n", 501},
    {"obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n\t2\r\n\r\n", 400},
    {"1.0 with TE", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
    {"no Host", "GET / HTTP/1.1\r\n\r\n", 400},
    {"two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
    {"long target", "GET /" + std::string(100, 'a') + " HTTP/1.1\r\n\r\n", 414},
    {"endless line", "GET /" + std::string(600, 'a'), 414},
    {"big head", "GET / HTTP/1.1\r\nX: " + std::string(600, 'b') + "\r\n\r\n", 431},
    {"many headers", "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\nE: 1\r\n\r\n", 431},
    {"big body", post + "Content-Length: 101\r\n\r\n", 413},
    {"big chunk", post + "Transfer-Encoding: chunked\r\n\r\n65\r\n", 413},
    {"version 1.9", "GET / HTTP/1.9\r\nHost: a\r\n\r\n", 400},
    {"version 2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 400},
  };
  for (const auto& c : cases) {
    request_reader reader{limits};
    EXPECT_EQ(feed_split(reader, c.bytes, c.bytes.size(), 100), state::failed)
      << c.name;
    EXPECT_EQ(reader.error_status(), c.status) << c.name << ": "
                                               << reader.error_reason();
  }
}

TEST(RequestReaderTest, MutatedRequestsEndInADefinedState) {
  // Untrusted bytes never crash the reader: valid requests with random
  // bytes changed, inserted or cut, fed at a random split (fixed seed).
  const std::string seeds[] = {
    "POST /a?b=c HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello",
    "PUT /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
    "3\r\nabc\r\n0\r\n\r\n",
    "GET / HTTP/1.0\r\nConnection: keep-alive\r\nExpect: 100-continue\r\n\r\n",
  };
  http_limits limits;
  limits.max_header_bytes = 256;
  std::mt19937 rng{42};
  int outcomes[4] = {};
  for (int round = 0; round < 3000; ++round) {
    auto bytes = seeds[static_cast<std::size_t>(round) % 3];
    auto edits = 1 + rng() % 4;
    for (std::uint32_t e = 0; e < edits && !bytes.empty(); ++e) {
      auto at = rng() % bytes.size();
      auto byte = static_cast<char>(rng() % 256);
      switch (rng() % 3) {
        case 0: bytes[at] = byte; break;
        case 1: bytes.insert(bytes.begin() + static_cast<long>(at), byte); break;
        default: bytes.erase(at, 1 + rng() % 8); break;
      }
    }
    request_reader reader{limits};
    auto split = bytes.empty() ? 0 : 1 + rng() % bytes.size();
    auto end = feed_split(reader, bytes, split, 64);
    ++outcomes[static_cast<int>(end)];
    if (end == state::failed) {
      EXPECT_GE(reader.error_status(), 400) << round;
      EXPECT_LT(reader.error_status(), 600) << round;
    }
  }
  // Both kinds happen: the mutations are not all fatal, nor all harmless.
  EXPECT_GT(outcomes[static_cast<int>(state::complete)], 0);
  EXPECT_GT(outcomes[static_cast<int>(state::failed)], 0);
}

} // namespace
