// Runs the real weftd binary: start, signal, exit codes, option errors.

#include <csignal>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/integration/process.hpp"

namespace weft {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using weft::testing::bin_path;
using weft::testing::child_process;

TEST(WeftdProcessTest, SigtermDrainsAndExitsZeroWithinDeadline) {
  child_process weftd{bin_path("weftd"), {"--drain-timeout=2s", "--tcp-listen=127.0.0.1:0",
                                         "--http-listen=127.0.0.1:0"}};
  ASSERT_TRUE(weftd.started());
  ASSERT_TRUE(weftd.wait_for_line("event=node.started", 10s)) << weftd.output();
  auto sent = std::chrono::steady_clock::now();
  weftd.signal(SIGTERM);
  auto code = weftd.wait_exit(2s + 1s);
  ASSERT_TRUE(code.has_value()) << "weftd did not exit:\n" << weftd.output();
  EXPECT_EQ(*code, 0) << weftd.output();
  EXPECT_LT(std::chrono::steady_clock::now() - sent, 3s);
  EXPECT_THAT(weftd.output(), HasSubstr("event=node.stopping signal=SIGTERM"));
  EXPECT_THAT(weftd.output(), HasSubstr("event=node.stopped"));
}

TEST(WeftdProcessTest, SigintAlsoDrains) {
  child_process weftd{bin_path("weftd"),
                      {"--tcp-listen=127.0.0.1:0", "--http-listen=127.0.0.1:0"}};
  ASSERT_TRUE(weftd.wait_for_line("event=node.started", 10s)) << weftd.output();
  weftd.signal(SIGINT);
  auto code = weftd.wait_exit(6s);
  ASSERT_TRUE(code.has_value()) << weftd.output();
  EXPECT_EQ(*code, 0) << weftd.output();
}

TEST(WeftdProcessTest, UnknownFlagExitsTwoNamingIt) {
  child_process weftd{bin_path("weftd"), {"--no-such-flag"}};
  auto code = weftd.wait_exit(10s);
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 2);
  EXPECT_THAT(weftd.output(), HasSubstr("--no-such-flag"));
}

TEST(WeftdProcessTest, InvalidValueExitsTwoNamingIt) {
  child_process weftd{bin_path("weftd"), {"--scheduler-threads", "many"}};
  auto code = weftd.wait_exit(10s);
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 2);
  EXPECT_THAT(weftd.output(), HasSubstr("--scheduler-threads"));
}

TEST(WeftdProcessTest, InvalidEnvironmentExitsTwo) {
  child_process weftd{bin_path("weftd"), {}, {"WEFT_LOG_LEVEL=chatty"}};
  auto code = weftd.wait_exit(10s);
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 2);
  EXPECT_THAT(weftd.output(), HasSubstr("WEFT_LOG_LEVEL"));
}

TEST(WeftdProcessTest, HelpExitsZero) {
  child_process weftd{bin_path("weftd"), {"--help"}};
  auto code = weftd.wait_exit(10s);
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0);
}

} // namespace
} // namespace weft
