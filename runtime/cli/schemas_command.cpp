#include "runtime/cli/schemas_command.hpp"

#include <algorithm>
#include <cstdio>
#include <unistd.h>
#include <vector>

#include <absl/strings/str_cat.h>
#include <absl/strings/str_join.h>
#include <absl/time/clock.h>

#include "runtime/cli/node_call.hpp"
#include "runtime/cli/progress_bar.hpp"
#include "runtime/client/client.hpp"
#include "runtime/error_bridge.hpp"

namespace weft::cli {

namespace {

/// The route every node answers with its listing.
constexpr absl::string_view routes_route = "weft.routes";

/// How long the listing may take without --timeout.
constexpr absl::Duration default_timeout = absl::Seconds(5);

/// A listing larger than this is not one a person reads.
constexpr std::uint64_t max_listing_bytes = 16 * 1024 * 1024;

void print_err(const std::string& line) {
  std::fprintf(stderr, "%s\n", line.c_str());
}

/// `text` with control characters replaced, so that a node cannot move the
/// cursor or break the columns.
std::string printable(absl::string_view text) {
  std::string out{text};
  for (auto& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      c = '?';
  return out;
}

/// Appends `text` and, unless it is the last column, spaces up to `width`.
void append_column(std::string& line, const std::string& text,
                   std::size_t width) {
  line += text;
  line.append(width - std::min(width, text.size()), ' ');
}

} // namespace

std::string format_route_listing(const weft::wire::RouteListing& listing) {
  struct row {
    std::string route;
    std::string request;
    std::string reply;
    std::string details;
  };
  std::vector<row> rows;
  rows.reserve(static_cast<std::size_t>(listing.routes_size()));
  std::size_t route_width = 0;
  std::size_t request_width = 0;
  std::size_t reply_width = 0;
  for (const auto& info : listing.routes()) {
    std::vector<std::string> details;
    if (!info.form().empty())
      details.push_back(printable(info.form()));
    if (info.workers() > 0)
      details.push_back(absl::StrCat(info.workers(),
                                     info.workers() == 1 ? " worker"
                                                         : " workers"));
    if (!info.dispatch().empty())
      details.push_back(printable(info.dispatch()));
    row r{printable(info.route()), printable(info.request_type()),
          printable(info.reply_type()),
          details.empty() ? std::string{}
                          : absl::StrCat("(", absl::StrJoin(details, ", "),
                                         ")")};
    route_width = std::max(route_width, r.route.size());
    request_width = std::max(request_width, r.request.size());
    reply_width = std::max(reply_width, r.reply.size());
    rows.push_back(std::move(r));
  }
  std::string out;
  for (const auto& r : rows) {
    std::string line;
    append_column(line, r.route, route_width);
    line += "  ";
    append_column(line, r.request, request_width);
    line += " -> ";
    if (r.details.empty()) {
      line += r.reply;
    } else {
      append_column(line, r.reply, reply_width);
      line += "  ";
      line += r.details;
    }
    absl::StrAppend(&out, line, "\n");
  }
  return out;
}

exit_code run_schemas(const cli_args& args, const sigset_t& interrupts) {
  auto start = absl::Now();
  auto cli = connect_to_node(args);
  if (cli == nullptr)
    return exit_code::connection;
  auto timeout
    = args.timeout > absl::ZeroDuration() ? args.timeout : default_timeout;
  call_options opts;
  opts.timeout = timeout;
  auto pending = cli->call(std::string{routes_route}, payload{},
                              std::move(opts));
  // A listing is small: no progress to show.
  progress_bar no_bar{STDERR_FILENO, false, 0, start};
  auto answer
    = await_reply(*cli, pending, start, timeout, interrupts, no_bar);
  if (answer.stopped)
    return *answer.stopped;
  if (!answer.result.ok()) {
    print_err(error_line(answer.result.status()));
    return exit_code_of(answer.result.status(), cli->connected());
  }
  auto bytes = answer.result->body.read_all(max_listing_bytes);
  weft::wire::RouteListing listing;
  if (!bytes.ok()) {
    print_err(error_line(bytes.status()));
    return exit_code::remote_error;
  }
  if (!listing.ParseFromArray(bytes->data(),
                              static_cast<int>(bytes->size()))) {
    print_err(error_line(make_status(
      errc::invalid_argument,
      absl::StrCat("the reply of ", routes_route,
                   " is not a weft.wire.RouteListing"))));
    return exit_code::remote_error;
  }
  std::fputs(format_route_listing(listing).c_str(), stdout);
  return exit_code::ok;
}

} // namespace weft::cli
