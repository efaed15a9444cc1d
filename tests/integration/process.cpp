#include "tests/integration/process.hpp"

#include <algorithm>
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

void close_fd(int& fd) {
  if (fd >= 0)
    ::close(fd);
  fd = -1;
}

/// A pipe whose ends close on exec; false if the system refused.
bool make_pipe(int (&fds)[2]) {
  return ::pipe2(fds, O_CLOEXEC) == 0;
}

} // namespace

std::string bin_path(const std::string& program) {
  const char* dir = std::getenv("TESTS_WEFT_BIN_DIR");
  return std::string{dir != nullptr ? dir : "build/bin"} + "/" + program;
}

child_process::child_process(const std::string& path,
                             const std::vector<std::string>& args,
                             const std::vector<std::string>& env) {
  child_options options;
  options.env = env;
  options.capture_stdout = false;
  options.stdin_data = std::nullopt;
  start(path, args, options);
}

child_process::child_process(const std::string& path,
                             const std::vector<std::string>& args,
                             child_options options) {
  start(path, args, options);
}

void child_process::start(const std::string& path,
                          const std::vector<std::string>& args,
                          const child_options& options) {
  int err_pipe[2] = {-1, -1};
  int out_pipe[2] = {-1, -1};
  int in_pipe[2] = {-1, -1};
  auto close_all = [&] {
    for (int* fds : {err_pipe, out_pipe, in_pipe}) {
      close_fd(fds[0]);
      close_fd(fds[1]);
    }
  };
  if (!make_pipe(err_pipe) || (options.capture_stdout && !make_pipe(out_pipe))
      || (options.stdin_data && !make_pipe(in_pipe))) {
    close_all();
    return;
  }
  std::vector<std::string> argv_store{path};
  argv_store.insert(argv_store.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_store)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_store;
  for (char** e = environ; *e != nullptr; ++e)
    env_store.emplace_back(*e);
  env_store.insert(env_store.end(), options.env.begin(), options.env.end());
  std::vector<char*> envp;
  for (auto& e : env_store)
    envp.push_back(e.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
  if (out_pipe[1] >= 0)
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  if (in_pipe[0] >= 0)
    posix_spawn_file_actions_adddup2(&actions, in_pipe[0], 0);
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
  close_fd(err_pipe[1]);
  close_fd(out_pipe[1]);
  close_fd(in_pipe[0]);
  if (rc != 0) {
    close_all();
    return;
  }
  pid_ = pid;
  stderr_fd_ = err_pipe[0];
  stdout_fd_ = out_pipe[0];
  stdin_fd_ = in_pipe[1];
  if (stdin_fd_ >= 0) {
    stdin_data_ = *options.stdin_data;
    // Non-blocking, so feeding a child that does not read never stalls us.
    ::fcntl(stdin_fd_, F_SETFL, ::fcntl(stdin_fd_, F_GETFL) | O_NONBLOCK);
    if (stdin_data_.empty())
      close_fd(stdin_fd_);
  }
  pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

child_process::~child_process() {
  if (pid_ > 0 && !exit_code_) {
    ::kill(pid_, SIGKILL);
    wait_exit(std::chrono::seconds(5));
  }
  close_fd(stderr_fd_);
  close_fd(stdout_fd_);
  close_fd(stdin_fd_);
  close_fd(pidfd_);
}

bool child_process::read_some(std::chrono::milliseconds timeout,
                              bool wake_on_exit) {
  pollfd pfds[4];
  nfds_t n = 0;
  if (stderr_fd_ >= 0)
    pfds[n++] = pollfd{stderr_fd_, POLLIN, 0};
  if (stdout_fd_ >= 0)
    pfds[n++] = pollfd{stdout_fd_, POLLIN, 0};
  if (stdin_fd_ >= 0)
    pfds[n++] = pollfd{stdin_fd_, POLLOUT, 0};
  if (wake_on_exit && pidfd_ >= 0)
    pfds[n++] = pollfd{pidfd_, POLLIN, 0};
  if (n == 0)
    return false;
  int rc = ::poll(pfds, n, static_cast<int>(timeout.count()));
  if (rc <= 0)
    return false;
  char buf[65536];
  for (nfds_t i = 0; i < n; ++i) {
    if (pfds[i].revents == 0)
      continue;
    int fd = pfds[i].fd;
    if (fd == pidfd_)
      continue; // the child exited: the caller reaps it
    if (fd == stdin_fd_) {
      auto w = ::write(fd, stdin_data_.data() + stdin_written_,
                       stdin_data_.size() - stdin_written_);
      if (w < 0 && (errno == EAGAIN || errno == EINTR))
        continue;
      if (w < 0) { // EPIPE: the child does not read its stdin
        close_fd(stdin_fd_);
        continue;
      }
      stdin_written_ += static_cast<std::size_t>(w);
      if (stdin_written_ == stdin_data_.size())
        close_fd(stdin_fd_);
      continue;
    }
    auto r = ::read(fd, buf, sizeof(buf));
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0) {
      close_fd(fd == stderr_fd_ ? stderr_fd_ : stdout_fd_);
      continue;
    }
    (fd == stderr_fd_ ? output_ : stdout_)
      .append(buf, static_cast<std::size_t>(r));
  }
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
    if (stderr_fd_ < 0)
      return std::nullopt; // stderr ended: the line will never come
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
      close_fd(stdin_fd_);
      while (read_some(std::chrono::milliseconds(0))) {
      }
      return exit_code_;
    }
    auto left = remaining_ms(deadline);
    if (left == 0)
      return std::nullopt;
    // Keep the pipes moving while waiting (a child blocked writing its
    // stdout would never exit); the pidfd wakes us when the child exits.
    // Without a pidfd or open pipes, look again every 10 ms.
    auto slice = std::min(left, 100);
    if (!read_some(std::chrono::milliseconds(slice), true) && stderr_fd_ < 0
        && stdout_fd_ < 0 && stdin_fd_ < 0 && pidfd_ < 0)
      ::poll(nullptr, 0, std::min(left, 10));
  }
}

} // namespace weft::testing
