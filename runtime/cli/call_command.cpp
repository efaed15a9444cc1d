#include "runtime/cli/call_command.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include <absl/strings/ascii.h>
#include <absl/strings/match.h>
#include <absl/strings/str_cat.h>
#include <absl/time/clock.h>

#include "runtime/cli/node_call.hpp"
#include "runtime/cli/progress_bar.hpp"
#include "runtime/client/client.hpp"
#include "runtime/error_bridge.hpp"

namespace weft::cli {

namespace {

/// Reply bodies are copied out in pieces of this size, so a spilled reply
/// of any size costs this much memory.
constexpr std::size_t copy_piece = 1024 * 1024;

/// The content type of JSON bodies, sent with --json and looked for in the
/// reply.
constexpr absl::string_view json_content_type = "application/json";

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

/// The request body: --data, --json, --file (streamed, never read here),
/// stdin when it is not a terminal (a regular file is streamed like
/// --file), or nothing.
absl::StatusOr<payload> request_body(const cli_args& args) {
  if (args.data)
    return payload{shared_bytes::copy_of(*args.data)};
  if (args.json)
    return payload{shared_bytes::copy_of(*args.json)};
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

/// True for `application/json`, with or without parameters such as
/// `; charset=utf-8`.
bool is_json(absl::string_view content_type) {
  auto type = content_type.substr(0, content_type.find(';'));
  return absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(type),
                                json_content_type);
}

/// True when --json asked for the reply and it is JSON printed to stdout
/// without a final newline: the shell prompt should not follow it on the
/// same line. Raw replies, and anything written to --out, stay exact.
bool needs_newline(const cli_args& args, const reply& answer) {
  if (!args.json || args.out || !is_json(answer.content_type)
      || answer.body.size() == 0)
    return false;
  auto last = answer.body.read(answer.body.size() - 1, 1);
  return last.ok() && last->size() == 1 && last->span()[0] != '\n';
}

/// Writes the reply body to --out or stdout.
exit_code write_reply(const cli_args& args, const reply& answer) {
  const auto& body = answer.body;
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
  if (copied.ok() && err == 0 && needs_newline(args, answer)) {
    constexpr std::uint8_t newline[] = {'\n'};
    err = write_all(fd, newline);
  }
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
  // One call: its body is whatever the user asked to send.
  copts.max_pending_bytes = ~std::uint64_t{0};
  auto cli = connect_to_node(args, std::move(copts));
  if (cli == nullptr)
    return exit_code::connection;
  call_options opts;
  opts.priority = static_cast<weft::wire::Priority>(args.priority);
  opts.timeout = args.timeout;
  opts.content_type = args.content_type.value_or(
    std::string{args.json ? json_content_type : "application/octet-stream"});
  opts.metadata = args.metadata;
  opts.on_progress = [&bar](std::uint64_t done, std::uint64_t total) {
    bar.on_download(done, total);
  };
  auto pending = cli->call(args.route, std::move(*body), std::move(opts));
  auto answer
    = await_reply(*cli, pending, start, args.timeout, interrupts, bar);
  if (answer.stopped)
    return *answer.stopped;
  if (!answer.result.ok()) {
    print_err(error_line(answer.result.status()));
    return exit_code_of(answer.result.status(), cli->connected());
  }
  return write_reply(args, *answer.result);
}

} // namespace weft::cli
