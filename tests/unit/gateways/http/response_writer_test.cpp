#include "gateways/http/response_writer.hpp"
#include "gateways/http/date_cache.hpp"

#include <map>
#include <string>

#include <absl/time/time.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using weft::http::response_head;
using weft::http::write_head;

TEST(ResponseWriterTest, WritesStatusDateLengthAndConnection) {
  response_head head;
  head.status = 201;
  head.content_type = "application/json";
  head.content_length = 7;
  head.close = true;
  auto text = write_head(head, "Sun, 22 Nov 2026 13:45:00 GMT");
  EXPECT_EQ(text, "HTTP/1.1 201 Created\r\n"
                  "Date: Sun, 22 Nov 2026 13:45:00 GMT\r\n"
                  "Content-Type: application/json\r\n"
                  "Content-Length: 7\r\n"
                  "Connection: close\r\n\r\n");
}

TEST(ResponseWriterTest, NoContentHasNoLength) {
  response_head head;
  head.status = 204;
  EXPECT_THAT(write_head(head, "d"), Not(HasSubstr("Content-Length")));
}

TEST(ResponseWriterTest, HandlerHeadersCannotInjectOrOverride) {
  std::map<std::string, std::string> extra{
    {"X-Fine", "yes"},
    {"Set-Cookie", "a=1\nb=2"},
    {"X-Split", "a\r\nInjected: 1"},
    {"Content-Length", "999"},
    {"Connection", "keep-alive"},
    {"Bad Name", "x"},
    {":status", "201"},
  };
  response_head head;
  head.extra = &extra;
  auto text = write_head(head, "d");
  EXPECT_THAT(text, HasSubstr("X-Fine: yes\r\n"));
  EXPECT_THAT(text, HasSubstr("Set-Cookie: a=1\r\nSet-Cookie: b=2\r\n"));
  EXPECT_THAT(text, Not(HasSubstr("Injected")));
  EXPECT_THAT(text, Not(HasSubstr("999")));
  EXPECT_THAT(text, Not(HasSubstr("keep-alive")));
  EXPECT_THAT(text, Not(HasSubstr("Bad Name")));
  EXPECT_THAT(text, Not(HasSubstr(":status")));
}

TEST(ResponseWriterTest, ContentTypeWithCrlfIsDropped) {
  response_head head;
  head.content_type = "text/plain\r\nX-Injected: 1";
  EXPECT_THAT(write_head(head, "d"), Not(HasSubstr("Injected")));
}

TEST(ResponseWriterTest, DateIsImfFixdateAndCachedPerSecond) {
  weft::http::date_cache dates;
  auto t = absl::FromUnixSeconds(1795355100); // 2026-11-22 13:45:00 UTC
  EXPECT_EQ(std::string{dates.at(t)}, "Sun, 22 Nov 2026 13:45:00 GMT");
  EXPECT_EQ(std::string{dates.at(t + absl::Milliseconds(900))},
            "Sun, 22 Nov 2026 13:45:00 GMT");
  EXPECT_EQ(std::string{dates.at(t + absl::Seconds(1))},
            "Sun, 22 Nov 2026 13:45:01 GMT");
}

TEST(ResponseWriterTest, ErrorBodyIsEscapedJson) {
  EXPECT_EQ(weft::http::error_json(weft::errc::not_found, "a \"b\"\n"),
            R"({"code":"not_found","message":"a \"b\"\n"})");
}

} // namespace
