#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace weft::testing {

/// How to start a child_process beyond its program and arguments.
struct child_options {
  /// Entries ("K=V") added to our environment.
  std::vector<std::string> env;
  /// Capture the child's stdout (read with stdout_output()); otherwise it
  /// writes to ours.
  bool capture_stdout = true;
  /// Bytes fed to the child's stdin, which is then closed (an empty string
  /// gives it an empty stdin); nullopt lets it inherit ours.
  std::optional<std::string> stdin_data = std::string{};
};

/// A child process started from a test, with its stderr captured (and its
/// stdout and stdin if asked). The destructor kills a child that is still
/// running. Use from one thread. Every wait pumps all pipes, so a child
/// that writes much to stdout while being fed stdin never blocks on us.
class child_process {
public:
  /// Starts `path` with `args`; `env` entries ("K=V") are added to ours.
  /// stdin and stdout are inherited; stderr is captured.
  child_process(const std::string& path, const std::vector<std::string>& args,
                const std::vector<std::string>& env = {});

  /// Starts `path` with `args` and `options`; stderr is captured.
  child_process(const std::string& path, const std::vector<std::string>& args,
                child_options options);
  ~child_process();

  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  bool started() const {
    return pid_ > 0;
  }

  /// The child's process id (-1 if it did not start).
  pid_t pid() const {
    return pid_;
  }

  /// Reads stderr until a line containing `needle` arrives or `timeout`
  /// passes; returns that line.
  std::optional<std::string> wait_for_line(const std::string& needle,
                                           std::chrono::milliseconds timeout);

  /// Everything read from stderr so far.
  const std::string& output() const {
    return output_;
  }

  /// Everything read from stdout so far (empty unless captured).
  const std::string& stdout_output() const {
    return stdout_;
  }

  /// Sends `sig` to the child.
  void signal(int sig);

  /// Waits for exit; returns the exit code, or nullopt on timeout. A child
  /// killed by a signal reports 128 + the signal number. Once it returns a
  /// code, output() and stdout_output() hold everything the child wrote.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);

private:
  void start(const std::string& path, const std::vector<std::string>& args,
             const child_options& options);

  /// Moves bytes on every open pipe, waiting up to `timeout` for the first
  /// (or for the child's exit if `wake_on_exit`); false on timeout or when
  /// every pipe is closed.
  bool read_some(std::chrono::milliseconds timeout, bool wake_on_exit = false);

  pid_t pid_ = -1;
  int pidfd_ = -1;
  int stderr_fd_ = -1;
  int stdout_fd_ = -1;
  int stdin_fd_ = -1;
  std::string output_;
  std::string stdout_;
  std::string stdin_data_;
  std::size_t stdin_written_ = 0;
  std::size_t scanned_ = 0;
  std::optional<int> exit_code_;
};

/// Returns the path of a program in build/bin (from TESTS_WEFT_BIN_DIR).
std::string bin_path(const std::string& program);

} // namespace weft::testing
