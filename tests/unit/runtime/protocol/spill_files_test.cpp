// Spill file names and the start-up sweep of files left by dead processes.

#include "runtime/protocol/spill_files.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <string>

#include <absl/strings/match.h>
#include <absl/strings/str_cat.h>
#include <gtest/gtest.h>

#include "tests/unit/runtime/protocol/session_pair.hpp"

namespace weft::protocol {
namespace {

using testing::temp_dir;

/// Creates an empty file `name` in `dir`.
void touch(const temp_dir& dir, const std::string& name) {
  auto fd = ::open((dir.path() + "/" + name).c_str(),
                   O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0) << name;
  ::close(fd);
}

/// The pid of a child that has exited and been reaped: no such process.
pid_t dead_pid() {
  auto pid = ::fork();
  if (pid == 0)
    ::_exit(0);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return pid;
}

bool has(const temp_dir& dir, const std::string& name) {
  auto files = dir.files();
  return std::find(files.begin(), files.end(), name) != files.end();
}

TEST(SpillFilesTest, NamesCarryTheHostAndThisProcess) {
  auto prefix = spill_file_prefix("/some/dir");
  EXPECT_TRUE(absl::StartsWith(prefix, "/some/dir/weft-spill-")) << prefix;
  EXPECT_TRUE(absl::EndsWith(prefix, absl::StrCat("-", ::getpid(), "-")))
    << prefix;
}

TEST(SpillFilesTest, SweepRemovesOnlyFilesOfDeadProcessesOfThisHost) {
  temp_dir dir;
  // File names only: the prefixes without "<dir>/".
  auto name_of = [&dir](long pid, const char* suffix) {
    return spill_file_prefix(dir.path(), pid).substr(dir.path().size() + 1)
           + suffix;
  };
  auto dead = name_of(dead_pid(), "abcdef");
  auto alive = name_of(::getpid(), "ghijkl");
  auto other_host = "weft-spill-elsewhere-" + std::to_string(dead_pid())
                    + "-mnopqr";
  touch(dir, dead);
  touch(dir, alive);
  touch(dir, other_host);
  touch(dir, "weft-spill-AbC123");   // the old format: no owner to check
  touch(dir, "notes.txt");
  auto removed = sweep_stale_spill_files(dir.path());
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_EQ(*removed, 1u);
  EXPECT_FALSE(has(dir, dead));
  EXPECT_TRUE(has(dir, alive));
  EXPECT_TRUE(has(dir, other_host));
  EXPECT_TRUE(has(dir, "weft-spill-AbC123"));
  EXPECT_TRUE(has(dir, "notes.txt"));
}

TEST(SpillFilesTest, UnreadableDirectoryIsAnError) {
  auto removed = sweep_stale_spill_files("/nonexistent/weft-spill-dir");
  EXPECT_FALSE(removed.ok());
}

} // namespace
} // namespace weft::protocol
