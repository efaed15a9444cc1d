#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace weft::testing {

/// A child process started from a test, with its stderr captured. The
/// destructor kills a child that is still running. Use from one thread.
class child_process {
public:
  /// Starts `path` with `args`; `env` entries ("K=V") are added to ours.
  child_process(const std::string& path, const std::vector<std::string>& args,
                const std::vector<std::string>& env = {});
  ~child_process();

  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  bool started() const {
    return pid_ > 0;
  }

  /// Reads stderr until a line containing `needle` arrives or `timeout`
  /// passes; returns that line.
  std::optional<std::string> wait_for_line(const std::string& needle,
                                           std::chrono::milliseconds timeout);

  /// Everything read from stderr so far.
  const std::string& output() const {
    return output_;
  }

  /// Sends `sig` to the child.
  void signal(int sig);

  /// Waits for exit; returns the exit code, or nullopt on timeout. A child
  /// killed by a signal reports 128 + the signal number.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);

private:
  /// Reads what is available within `timeout`; false on EOF or timeout.
  bool read_some(std::chrono::milliseconds timeout);

  pid_t pid_ = -1;
  int pidfd_ = -1;
  int stderr_fd_ = -1;
  std::string output_;
  std::size_t scanned_ = 0;
  std::optional<int> exit_code_;
};

/// Returns the path of a program in build/bin (from TESTS_WEFT_BIN_DIR).
std::string bin_path(const std::string& program);

} // namespace weft::testing
