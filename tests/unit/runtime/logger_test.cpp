#include "runtime/logger.hpp"

#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace weft {
namespace {

using ::testing::HasSubstr;

absl::Time fixed_time() {
  return absl::FromUnixMillis(1'700'000'000'123);
}

TEST(LoggerTest, FormatsLogfmtLine) {
  auto line = logger::format(fixed_time(), log_level::info, "node.started",
                             {{"threads", 2}, {"name", "weft"}});
  EXPECT_EQ(line, "ts=2023-11-14T22:13:20.123Z level=info event=node.started "
                  "threads=2 name=weft\n");
}

TEST(LoggerTest, QuotesAndEscapesValues) {
  auto line = logger::format(fixed_time(), log_level::warn, "x",
                             {{"msg", "a \"b\"\nc"}, {"empty", ""}});
  EXPECT_THAT(line, HasSubstr("msg=\"a \\\"b\\\"\\nc\""));
  EXPECT_THAT(line, HasSubstr("empty=\"\""));
}

TEST(LoggerTest, RendersDurationsBoolsAndStatus) {
  auto line = logger::format(fixed_time(), log_level::error, "x",
                             {{"took", absl::Milliseconds(250)},
                              {"ok", true},
                              {"st", absl::NotFoundError("gone")}});
  EXPECT_THAT(line, HasSubstr("took=250ms"));
  EXPECT_THAT(line, HasSubstr("ok=true"));
  EXPECT_THAT(line, HasSubstr("st=\"NOT_FOUND: gone\""));
}

TEST(LoggerTest, DropsLinesBelowLevel) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  logger log{log_level::warn, fds[1]};
  log.info("hidden");
  log.warn("shown", {{"k", 1}});
  ::close(fds[1]);
  char buf[512];
  auto n = ::read(fds[0], buf, sizeof(buf));
  ::close(fds[0]);
  ASSERT_GT(n, 0);
  std::string text(buf, static_cast<size_t>(n));
  EXPECT_THAT(text, HasSubstr("event=shown k=1"));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("hidden")));
}

TEST(LoggerTest, OffLogsNothing) {
  logger log{log_level::off};
  EXPECT_FALSE(log.enabled(log_level::error));
}

TEST(LoggerTest, LevelNamesParseBack) {
  for (auto level : {log_level::debug, log_level::info, log_level::warn,
                     log_level::error, log_level::off}) {
    log_level parsed;
    ASSERT_TRUE(from_string(to_string(level), parsed));
    EXPECT_EQ(parsed, level);
  }
}

} // namespace
} // namespace weft
