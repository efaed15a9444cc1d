#include "tests/integration/process.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace weft::testing {

namespace {

using clock_type = std::chrono::steady_clock;

int remaining_ms(clock_type::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
    deadline - clock_type::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

} // namespace

std::string bin_path(const std::string& program) {
  const char* dir = std::getenv("TESTS_WEFT_BIN_DIR");
  return std::string{dir != nullptr ? dir : "build/bin"} + "/" + program;
}

child_process::child_process(const std::string& path,
                             const std::vector<std::string>& args,
                             const std::vector<std::string>& env) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    return;
  std::vector<std::string> argv_store{path};
  argv_store.insert(argv_store.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_store)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_store;
  for (char** e = environ; *e != nullptr; ++e)
    env_store.emplace_back(*e);
  env_store.insert(env_store.end(), env.begin(), env.end());
  std::vector<char*> envp;
  for (auto& e : env_store)
    envp.push_back(e.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
  // The child starts with no signals blocked, whatever the test thread has.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, path.c_str(), &actions, &attr, argv.data(),
                       envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    return;
  }
  pid_ = pid;
  stderr_fd_ = fds[0];
  pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

child_process::~child_process() {
  if (pid_ > 0 && !exit_code_) {
    ::kill(pid_, SIGKILL);
    wait_exit(std::chrono::seconds(5));
  }
  if (stderr_fd_ >= 0)
    ::close(stderr_fd_);
  if (pidfd_ >= 0)
    ::close(pidfd_);
}

bool child_process::read_some(std::chrono::milliseconds timeout) {
  if (stderr_fd_ < 0)
    return false;
  pollfd pfd{stderr_fd_, POLLIN, 0};
  int rc = ::poll(&pfd, 1, static_cast<int>(timeout.count()));
  if (rc <= 0)
    return false;
  char buf[4096];
  auto n = ::read(stderr_fd_, buf, sizeof(buf));
  if (n <= 0) {
    ::close(stderr_fd_);
    stderr_fd_ = -1;
    return false;
  }
  output_.append(buf, static_cast<std::size_t>(n));
  return true;
}

std::optional<std::string>
child_process::wait_for_line(const std::string& needle,
                             std::chrono::milliseconds timeout) {
  auto deadline = clock_type::now() + timeout;
  for (;;) {
    // Scan complete lines not scanned yet.
    for (auto nl = output_.find('\n', scanned_); nl != std::string::npos;
         nl = output_.find('\n', scanned_)) {
      auto line = output_.substr(scanned_, nl - scanned_);
      scanned_ = nl + 1;
      if (line.find(needle) != std::string::npos)
        return line;
    }
    auto left = remaining_ms(deadline);
    if (left == 0 || !read_some(std::chrono::milliseconds(left)))
      return std::nullopt;
  }
}

void child_process::signal(int sig) {
  if (pid_ > 0 && !exit_code_)
    ::kill(pid_, sig);
}

std::optional<int> child_process::wait_exit(std::chrono::milliseconds timeout) {
  if (exit_code_ || pid_ <= 0)
    return exit_code_;
  auto deadline = clock_type::now() + timeout;
  for (;;) {
    int status = 0;
    auto rc = ::waitpid(pid_, &status, WNOHANG);
    if (rc == pid_) {
      exit_code_
        = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      // Keep what the child wrote before it exited.
      while (read_some(std::chrono::milliseconds(0))) {
      }
      return exit_code_;
    }
    auto left = remaining_ms(deadline);
    if (left == 0)
      return std::nullopt;
    // The pidfd becomes readable when the child exits; without one, drain
    // stderr while waiting (its EOF also marks the exit).
    if (pidfd_ >= 0) {
      pollfd pfd{pidfd_, POLLIN, 0};
      ::poll(&pfd, 1, std::min(left, 100));
    } else if (!read_some(std::chrono::milliseconds(std::min(left, 100)))) {
      ::poll(nullptr, 0, 10);
    }
  }
}

} // namespace weft::testing
