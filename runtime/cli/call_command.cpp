#include "runtime/cli/call_command.hpp"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include <absl/strings/str_cat.h>
#include <absl/time/clock.h>

#include "runtime/cli/progress_bar.hpp"
#include "runtime/cli/signals.hpp"
#include "runtime/client/client.hpp"
#include "runtime/error_bridge.hpp"

namespace weft::cli {

namespace {

/// Reply bodies are copied out in pieces of this size, so a spilled reply
/// of any size costs this much memory.
constexpr std::size_t copy_piece = 1024 * 1024;

/// How long past --timeout we wait for the client to report the deadline
/// itself before giving up on it locally.
constexpr absl::Duration deadline_grace = absl::Seconds(2);

/// How often the main thread wakes to redraw the bar and look for signals.
constexpr auto poll_period = std::chrono::milliseconds(100);

void print_err(const std::string& line) {
  std::fprintf(stderr, "%s\n", line.c_str());
}

/// Writes all of `bytes` to `fd`; returns errno on failure, 0 on success.
int write_all(int fd, absl::Span<const std::uint8_t> bytes) {
  std::size_t off = 0;
  while (off < bytes.size()) {
    auto n = ::write(fd, bytes.data() + off, bytes.size() - off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return errno;
    off += static_cast<std::size_t>(n);
  }
  return 0;
}

/// Reads stdin to its end into memory (a pipe has no size to stream by).
absl::StatusOr<payload> read_stdin() {
  std::vector<std::uint8_t> data;
  std::vector<std::uint8_t> piece(64 * 1024);
  for (;;) {
    auto n = ::read(STDIN_FILENO, piece.data(), piece.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return make_status(errc::io_error, absl::StrCat("cannot read stdin: ",
                                                      std::strerror(errno)));
    if (n == 0)
      break;
    data.insert(data.end(), piece.begin(),
                piece.begin() + static_cast<std::ptrdiff_t>(n));
  }
  return payload{shared_bytes{std::move(data)}};
}

/// The request body: --data, --file (streamed, never read here), stdin
/// when it is not a terminal (a regular file is streamed like --file), or
/// nothing.
absl::StatusOr<payload> request_body(const cli_args& args) {
  if (args.data)
    return payload{shared_bytes::copy_of(*args.data)};
  if (args.file) {
    auto body = payload::from_file(*args.file);
    if (!body.ok())
      return make_status(
        code_of(body.status()),
        absl::StrCat("cannot use --file: ", body.status().message()));
    return body;
  }
  if (::isatty(STDIN_FILENO) != 0)
    return payload{};
  struct stat st = {};
  if (::fstat(STDIN_FILENO, &st) == 0 && S_ISREG(st.st_mode)
      && ::lseek(STDIN_FILENO, 0, SEEK_CUR) == 0) {
    // `weft call ... < big.bin`: stream the file behind stdin through its
    // /proc name instead of copying it into memory.
    if (auto body = payload::from_file("/proc/self/fd/0"); body.ok())
      return body;
  }
  return read_stdin();
}

/// Copies `body` to `fd` piece by piece (a file-backed body is never read
/// whole); returns errno on failure, 0 on success.
absl::StatusOr<int> copy_body(const payload& body, int fd) {
  std::uint64_t offset = 0;
  while (offset < body.size()) {
    auto length = static_cast<std::size_t>(
      std::min<std::uint64_t>(copy_piece, body.size() - offset));
    auto piece = body.read(offset, length);
    if (!piece.ok())
      return piece.status();
    if (int err = write_all(fd, piece->span()); err != 0)
      return err;
    offset += length;
  }
  return 0;
}

/// Writes the reply body to --out or stdout.
exit_code write_reply(const cli_args& args, const payload& body) {
  int fd = STDOUT_FILENO;
  std::string where = "stdout";
  if (args.out) {
    where = *args.out;
    fd = ::open(args.out->c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                0666);
    if (fd < 0) {
      print_err(error_line(
        make_status(errc::io_error, absl::StrCat("cannot open ", where, ": ",
                                                 std::strerror(errno)))));
      return exit_code::remote_error;
    }
  }
  auto copied = copy_body(body, fd);
  int err = copied.ok() ? *copied : 0;
  if (args.out && ::close(fd) != 0 && err == 0 && copied.ok())
    err = errno;
  if (!copied.ok()) {
    print_err(error_line(copied.status()));
    return exit_code::remote_error;
  }
  if (err == EPIPE && !args.out)
    return exit_code::broken_pipe; // the reader left, as with `| head`
  if (err != 0) {
    print_err(error_line(
      make_status(errc::io_error, absl::StrCat("cannot write ", where, ": ",
                                               std::strerror(err)))));
    return exit_code::remote_error;
  }
  return exit_code::ok;
}

} // namespace

exit_code run_call(const cli_args& args, const sigset_t& interrupts) {
  auto body = request_body(args);
  if (!body.ok()) {
    print_err(absl::StrCat("weft: ", body.status().message()));
    return exit_code::usage;
  }
  auto start = absl::Now();
  // Declared before the client: its on_progress callback points here, and
  // the client (whose destructor stops its actor) goes first.
  progress_bar bar{STDERR_FILENO, ::isatty(STDERR_FILENO) != 0, body->size(),
                   start};
  client_options copts;
  copts.host = args.host;
  copts.port = args.port;
  copts.reconnect = false;
  // One call: its body is whatever the user asked to send.
  copts.max_pending_bytes = ~std::uint64_t{0};
  auto cli = client::connect(copts);
  if (!cli.ok()) {
    print_err(error_line(cli.status()));
    return exit_code::connection;
  }
  call_options opts;
  opts.priority = static_cast<weft::wire::Priority>(args.priority);
  opts.timeout = args.timeout;
  opts.content_type = args.content_type;
  opts.metadata = args.metadata;
  opts.on_progress = [&bar](std::uint64_t done, std::uint64_t total) {
    bar.on_download(done, total);
  };
  auto pending = (*cli)->call(args.route, std::move(*body), std::move(opts));
  while (pending.result.wait_for(poll_period) != std::future_status::ready) {
    auto now = absl::Now();
    bar.tick(now);
    if (wait_for_signal(interrupts, absl::ZeroDuration()) != 0) {
      (*cli)->cancel(pending.token);
      bar.clear();
      print_err("weft: interrupted, call cancelled");
      return exit_code::interrupted;
    }
    if (args.timeout > absl::ZeroDuration()
        && now - start > args.timeout + deadline_grace) {
      // The client reports deadlines itself; this is only a safety net.
      (*cli)->cancel(pending.token);
      bar.clear();
      print_err(error_line(make_status(
        errc::deadline_exceeded,
        absl::StrCat("no reply within ", absl::FormatDuration(args.timeout)))));
      return exit_code::remote_error;
    }
  }
  bar.clear();
  auto result = pending.result.get();
  if (!result.ok()) {
    print_err(error_line(result.status()));
    return exit_code_of(result.status(), (*cli)->connected());
  }
  return write_reply(args, result->body);
}

} // namespace weft::cli
