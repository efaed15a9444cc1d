#include "runtime/cli/listen_command.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <unistd.h>
#include <vector>

#include <absl/strings/escaping.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/str_join.h>
#include <absl/time/clock.h>
#include <google/protobuf/message_lite.h>

#include "runtime/cli/node_call.hpp"
#include "runtime/cli/progress_bar.hpp"
#include "runtime/cli/push_queue.hpp"
#include "runtime/cli/signals.hpp"
#include "runtime/client/client.hpp"
#include "runtime/error_bridge.hpp"
#include "weft/registry.pb.h"

namespace weft::cli {

namespace {

/// How long each built-in call (weft.hello, weft.subscribe) may take.
constexpr absl::Duration setup_timeout = absl::Seconds(10);

/// How often the main thread stops waiting for pushes to look for signals
/// and for a lost connection.
constexpr absl::Duration poll_period = absl::Milliseconds(100);

/// A push body larger than this is not shown on a line (it is reported on
/// stderr instead); the protocol's message limit is usually lower anyway.
constexpr std::uint64_t max_shown_body = 64 * 1024 * 1024;

void print_err(const std::string& line) {
  std::fprintf(stderr, "%s\n", line.c_str());
}

constexpr char hex_digits[] = "0123456789abcdef";

/// Appends `prefix` and the two lowercase hex digits of `byte`.
void append_hex(std::string& out, absl::string_view prefix,
                unsigned char byte) {
  out.append(prefix.data(), prefix.size());
  out += hex_digits[byte >> 4];
  out += hex_digits[byte & 0xf];
}

/// The length of the valid UTF-8 sequence `s` starts with, and its code
/// point in `cp`; 0 when the first byte does not start one (a stray
/// continuation byte, an overlong form, a surrogate, beyond U+10FFFF, or a
/// sequence cut short). `s` must not be empty.
std::size_t utf8_sequence(absl::string_view s, char32_t& cp) {
  auto byte = [&](std::size_t i) {
    return static_cast<unsigned char>(s[i]);
  };
  auto lead = byte(0);
  if (lead < 0x80) {
    cp = lead;
    return 1;
  }
  std::size_t length = 0;
  char32_t min = 0;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
    cp = lead & 0x1fu;
    min = 0x80;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    cp = lead & 0x0fu;
    min = 0x800;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    cp = lead & 0x07u;
    min = 0x10000;
  } else {
    return 0;
  }
  if (s.size() < length)
    return 0;
  for (std::size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xc0u) != 0x80u)
      return 0;
    cp = (cp << 6) | (byte(i) & 0x3fu);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return length;
}

/// True for the C1 control characters U+0080..U+009F.
bool is_c1(char32_t cp) {
  return cp >= 0x80 && cp <= 0x9f;
}

/// Writes `line` to stdout and flushes it: ok, broken_pipe when the reader
/// left, remote_error (with the error on stderr) on any other failure.
exit_code write_line(const std::string& line) {
  errno = 0;
  if (std::fwrite(line.data(), 1, line.size(), stdout) == line.size()
      && std::fflush(stdout) == 0)
    return exit_code::ok;
  int err = errno;
  if (err == EPIPE)
    return exit_code::broken_pipe; // the reader left, as with `| head`
  print_err(error_line(make_status(
    errc::io_error, absl::StrCat("cannot write stdout: ",
                                 std::strerror(err != 0 ? err : EIO)))));
  return exit_code::remote_error;
}

/// Calls the built-in `route` with `request`, waiting at most
/// setup_timeout and polling `interrupts`; returns nullopt on success,
/// else how the command ends (the reason is printed on stderr).
std::optional<exit_code>
call_builtin(client& cli, const std::string& route,
             const google::protobuf::MessageLite& request,
             const sigset_t& interrupts) {
  call_options opts;
  opts.content_type = "application/x-protobuf";
  opts.timeout = setup_timeout;
  auto start = absl::Now();
  auto pending = cli.call(
    route, payload{shared_bytes::copy_of(request.SerializeAsString())},
    std::move(opts));
  progress_bar no_bar{STDERR_FILENO, false, 0, start};
  auto answer
    = await_reply(cli, pending, start, setup_timeout, interrupts, no_bar);
  if (answer.stopped) // interrupted before listening: as after, exit 0
    return *answer.stopped == exit_code::interrupted ? exit_code::ok
                                                     : *answer.stopped;
  if (answer.result.ok())
    return std::nullopt;
  print_err(error_line(answer.result.status()));
  return exit_code_of(answer.result.status(), cli.connected());
}

/// The line `weft listen` prints on stderr once it listens.
std::string listening_line(const cli_args& args) {
  auto who
    = args.client_id.empty()
        ? absl::StrCat("on ", node_address(args),
                       " (client id assigned by the node)")
        : absl::StrCat("as ", args.client_id, " on ", node_address(args));
  auto topics = args.topics.empty()
                  ? std::string{"no topics"}
                  : absl::StrCat("topics: ", absl::StrJoin(args.topics, ", "));
  return absl::StrCat("weft: listening ", who, ", ", topics);
}

/// Prints the line of one push (a body too large to show is reported on
/// stderr instead). Returns ok to go on, anything else to stop with it.
exit_code print_push(const cli_args& args, const push_message& msg) {
  auto body = msg.body.read_all(max_shown_body);
  if (!body.ok()) {
    print_err(absl::StrCat("weft: a push to ", escape_text(msg.route),
                           " is not shown: ", body.status().message()));
    return exit_code::ok;
  }
  return write_line(
    format_push_line(args.format, msg.route, msg.content_type, body->view()));
}

} // namespace

std::string escape_text(absl::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  std::size_t i = 0;
  while (i < bytes.size()) {
    char32_t cp = 0;
    auto length = utf8_sequence(bytes.substr(i), cp);
    if (length == 0) {
      append_hex(out, "\\x", static_cast<unsigned char>(bytes[i]));
      ++i;
      continue;
    }
    if (cp == '\\')
      out += "\\\\";
    else if (cp == '\n')
      out += "\\n";
    else if (cp == '\t')
      out += "\\t";
    else if (cp == '\r')
      out += "\\r";
    else if (cp < 0x20 || cp == 0x7f || is_c1(cp))
      for (std::size_t j = 0; j < length; ++j)
        append_hex(out, "\\x", static_cast<unsigned char>(bytes[i + j]));
    else
      out.append(bytes.data() + i, length);
    i += length;
  }
  return out;
}

std::string json_string(absl::string_view bytes, bool* lossless) {
  std::string out;
  out.reserve(bytes.size() + 2);
  out += '"';
  bool exact = true;
  std::size_t i = 0;
  while (i < bytes.size()) {
    char32_t cp = 0;
    auto length = utf8_sequence(bytes.substr(i), cp);
    if (length == 0) {
      out += "\\ufffd";
      exact = false;
      ++i;
      continue;
    }
    switch (cp) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case 0x2028:
        out += "\\u2028";
        break;
      case 0x2029:
        out += "\\u2029";
        break;
      default:
        if (cp < 0x20 || cp == 0x7f || is_c1(cp))
          append_hex(out, "\\u00", static_cast<unsigned char>(cp));
        else
          out.append(bytes.data() + i, length);
    }
    i += length;
  }
  out += '"';
  if (lossless != nullptr)
    *lossless = exact;
  return out;
}

std::string format_push_line(output_format format, absl::string_view route,
                             absl::string_view content_type,
                             absl::string_view body) {
  if (format == output_format::text)
    return absl::StrCat(escape_text(route), "\t", escape_text(body), "\n");
  bool exact = true;
  auto body_json = json_string(body, &exact);
  auto line = absl::StrCat("{\"route\":", json_string(route),
                           ",\"content_type\":", json_string(content_type),
                           ",\"body\":", body_json);
  if (!exact)
    absl::StrAppend(&line, ",\"body_base64\":\"", absl::Base64Escape(body),
                    "\"");
  line += "}\n";
  return line;
}

exit_code run_listen(const cli_args& args, const sigset_t& interrupts) {
  // Declared before the client: the client's thread puts pushes into it
  // until the client, destroyed first, has stopped.
  push_queue queue;
  client_options opts;
  opts.on_push = [&queue](push_message msg) {
    queue.put(std::move(msg));
  };
  auto cli = connect_to_node(args, std::move(opts));
  if (cli == nullptr)
    return exit_code::connection;
  // Claimed here rather than through client_options::client_id, so that a
  // refused claim (exit 1) is told apart from a failed connection (exit 3).
  if (!args.client_id.empty()) {
    weft::wire::ClientHello hello;
    hello.set_client_id(args.client_id);
    if (auto stop = call_builtin(*cli, "weft.hello", hello, interrupts))
      return *stop;
  }
  for (const auto& topic : args.topics) {
    weft::wire::TopicRequest req;
    req.set_topic(topic);
    if (auto stop = call_builtin(*cli, "weft.subscribe", req, interrupts))
      return *stop;
  }
  print_err(listening_line(args));
  auto end = args.timeout > absl::ZeroDuration() ? absl::Now() + args.timeout
                                                 : absl::InfiniteFuture();
  std::uint64_t handled = 0;
  // Prints `batch`; returns the exit code once the command should stop
  // (--count reached, stdout failed), nullopt to go on listening.
  auto print_batch
    = [&](const std::vector<push_message>& batch) -> std::optional<exit_code> {
    for (const auto& msg : batch) {
      if (auto code = print_push(args, msg); code != exit_code::ok)
        return code;
      if (args.count && ++handled >= *args.count)
        return exit_code::ok;
    }
    return std::nullopt;
  };
  auto outcome = exit_code::ok;
  for (;;) {
    auto wait
      = std::clamp(end - absl::Now(), absl::ZeroDuration(), poll_period);
    if (auto stop = print_batch(queue.take(wait))) {
      outcome = *stop;
      break;
    }
    if (wait_for_signal(interrupts, absl::ZeroDuration()) != 0)
      break;
    if (!cli->connected()) {
      // Every push that came before the loss is queued by now: the client
      // hands them over before it marks the connection closed.
      if (auto stop = print_batch(queue.take(absl::ZeroDuration()))) {
        outcome = *stop;
        break;
      }
      print_err(error_line(make_status(
        errc::unavailable,
        absl::StrCat("connection to ", node_address(args), " lost"))));
      outcome = exit_code::connection;
      break;
    }
    if (absl::Now() >= end)
      break;
  }
  if (auto dropped = queue.dropped(); dropped > 0)
    print_err(absl::StrCat(
      "weft: warning: ", dropped, " pushes dropped: more than ",
      push_queue::default_capacity, " were waiting to be printed"));
  return outcome;
}

} // namespace weft::cli
