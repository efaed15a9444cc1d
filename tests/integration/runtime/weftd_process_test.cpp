// Runs the real weftd binary: start, signal, exit codes, option errors.

#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <absl/strings/numbers.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/str_split.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "runtime/protocol/spill_files.hpp"
#include "tests/integration/http/raw_http.hpp"
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

TEST(WeftdProcessTest, StartRemovesSpillFilesOfDeadProcesses) {
  // A spill file named as a process of this host that is gone (killed
  // mid-upload) would otherwise stay in the spill directory for good.
  auto dir = std::filesystem::temp_directory_path()
             / absl::StrCat("weftd-spill-test-", ::getpid());
  std::filesystem::create_directories(dir);
  auto child = ::fork();
  if (child == 0)
    ::_exit(0);
  ::waitpid(child, nullptr, 0); // now no process has this pid
  auto dead = protocol::spill_file_prefix(dir.string(), child) + "abcdef";
  std::ofstream{dead} << "left behind";
  ASSERT_TRUE(std::filesystem::exists(dead));
  child_process weftd{bin_path("weftd"),
                      {"--tcp-listen=127.0.0.1:0", "--http-listen=",
                       absl::StrCat("--spill-dir=", dir.string())}};
  ASSERT_TRUE(weftd.started());
  ASSERT_TRUE(weftd.wait_for_line("event=node.started", 10s)) << weftd.output();
  EXPECT_FALSE(std::filesystem::exists(dead));
  EXPECT_THAT(weftd.output(), HasSubstr("event=binary.spill_swept"));
  weftd.signal(SIGTERM);
  EXPECT_TRUE(weftd.wait_exit(5s).has_value());
  std::filesystem::remove_all(dir);
}

TEST(WeftdProcessTest, ReactorsOnTheWorkersServeHttpAndDrain) {
  // --io-mode workers: the scheduler's workers run the reactors.
  child_process weftd{bin_path("weftd"),
                      {"--io-mode=workers", "--tcp-listen=127.0.0.1:0",
                       "--http-listen=127.0.0.1:0", "--drain-timeout=2s"}};
  auto line = weftd.wait_for_line("event=http.listening", 10s);
  ASSERT_TRUE(line.has_value()) << weftd.output();
  ASSERT_TRUE(weftd.wait_for_line("event=node.started", 10s)) << weftd.output();
  auto colon = line->rfind(':');
  ASSERT_NE(colon, std::string::npos);
  int port = 0;
  ASSERT_TRUE(absl::SimpleAtoi(line->substr(colon + 1), &port)) << *line;
  for (int i = 0; i < 20; ++i) {
    auto reply = weft::testing::round_trip(
      static_cast<std::uint16_t>(port),
      "GET /plaintext HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    ASSERT_THAT(reply, HasSubstr("200 OK"));
    EXPECT_THAT(reply, HasSubstr("Hello, World!"));
  }
  weftd.signal(SIGTERM);
  auto code = weftd.wait_exit(2s + 1s);
  ASSERT_TRUE(code.has_value()) << "weftd did not exit:\n" << weftd.output();
  EXPECT_EQ(*code, 0) << weftd.output();
}

TEST(WeftdProcessTest, IoModeAutoPicksWorkersOnUpToTwoCpus) {
  // weftd inherits this thread's affinity mask.
  cpu_set_t saved;
  CPU_ZERO(&saved);
  ASSERT_EQ(::sched_getaffinity(0, sizeof saved, &saved), 0);
  if (CPU_COUNT(&saved) < 2)
    GTEST_SKIP() << "needs two CPUs to compare";
  std::size_t first = 0;
  while (!CPU_ISSET(first, &saved))
    ++first;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(first, &one);
  ASSERT_EQ(::sched_setaffinity(0, sizeof one, &one), 0);
  child_process pinned{bin_path("weftd"), {"--tcp-listen=127.0.0.1:0",
                                           "--http-listen=127.0.0.1:0"}};
  ASSERT_EQ(::sched_setaffinity(0, sizeof saved, &saved), 0);
  auto line = pinned.wait_for_line("event=node.started", 10s);
  ASSERT_TRUE(line.has_value()) << pinned.output();
  EXPECT_THAT(*line, HasSubstr("scheduler_threads=1"));
  EXPECT_THAT(*line, HasSubstr("io=workers"));
  child_process unpinned{bin_path("weftd"), {"--tcp-listen=127.0.0.1:0",
                                             "--http-listen=127.0.0.1:0"}};
  line = unpinned.wait_for_line("event=node.started", 10s);
  ASSERT_TRUE(line.has_value()) << unpinned.output();
  EXPECT_THAT(*line, HasSubstr(CPU_COUNT(&saved) <= 2 ? "io=workers"
                                                      : "io=threads"));
  for (auto* p : {&pinned, &unpinned}) {
    p->signal(SIGTERM);
    auto code = p->wait_exit(6s);
    ASSERT_TRUE(code.has_value()) << p->output();
    EXPECT_EQ(*code, 0) << p->output();
  }
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

/// The scheduling policy (field 41 of /proc/PID/task/TID/stat) of each of
/// `pid`'s threads.
std::vector<int> thread_policies(pid_t pid) {
  std::vector<int> result;
  auto dir = absl::StrCat("/proc/", pid, "/task");
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream in{entry.path() / "stat"};
    std::string line;
    std::getline(in, line);
    // Fields from the third on follow the ")" that ends the name.
    auto close = line.rfind(')');
    if (close == std::string::npos)
      continue;
    std::vector<std::string> fields
      = absl::StrSplit(line.substr(close + 2), ' ');
    int policy = -1;
    if (fields.size() > 38 && absl::SimpleAtoi(fields[38], &policy))
      result.push_back(policy);
  }
  return result;
}

TEST(WeftdProcessTest, BatchThreadPolicyReachesEveryThread) {
  child_process weftd{bin_path("weftd"),
                      {"--thread-policy", "batch", "--tcp-listen=127.0.0.1:0",
                       "--http-listen=127.0.0.1:0"}};
  ASSERT_TRUE(weftd.wait_for_line("event=node.started", 10s)) << weftd.output();
  auto policies = thread_policies(weftd.pid());
  // The main thread, CAF's workers and clock, the reactors at least.
  ASSERT_GE(policies.size(), 4u);
  for (auto policy : policies)
    EXPECT_EQ(policy, SCHED_BATCH);
  weftd.signal(SIGTERM);
  auto code = weftd.wait_exit(6s);
  ASSERT_TRUE(code.has_value()) << weftd.output();
  EXPECT_EQ(*code, 0) << weftd.output();
}

TEST(WeftdProcessTest, ThreadPolicyIsNormalByDefault) {
  child_process weftd{bin_path("weftd"),
                      {"--tcp-listen=127.0.0.1:0", "--http-listen=127.0.0.1:0"}};
  ASSERT_TRUE(weftd.wait_for_line("event=node.started", 10s)) << weftd.output();
  for (auto policy : thread_policies(weftd.pid()))
    EXPECT_EQ(policy, SCHED_OTHER);
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
