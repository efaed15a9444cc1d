#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <absl/status/statusor.h>
#include <absl/strings/string_view.h>
#include <absl/time/time.h>

namespace weft::cli {

/// The subcommand of `weft`.
enum class verb { none, call, ping, schemas, listen };

/// How `weft listen` prints each push (`--out-format`).
enum class output_format { text, json };

/// The parsed command line of the `weft` tool (docs/cli.md). A plain value:
/// made by parse() on the main thread, then only read.
struct cli_args {
  verb command = verb::none;
  /// `--help` / `-h` was given: print usage_text(command) and exit 0.
  bool help = false;
  /// `weft --version`.
  bool version = false;

  // -- every command --------------------------------------------------------

  /// The node's address, from the HOST:PORT argument.
  std::string host;
  std::uint16_t port = 0;
  /// `--timeout MS`: the call's deadline, each ping's wait, or the total
  /// listening time; zero = none for a call and for `weft listen` (5 s for
  /// a ping and for `weft schemas`).
  absl::Duration timeout = absl::ZeroDuration();

  // -- weft call ------------------------------------------------------------

  /// The route to call, e.g. `echo`.
  std::string route;
  /// `--data TEXT`: the request body, verbatim.
  std::optional<std::string> data;
  /// `--file PATH`: the request body, streamed from the file.
  std::optional<std::string> file;
  /// `--json TEXT`: the request body, sent as `application/json` for the
  /// node to convert through the route's schema; the reply is printed as
  /// JSON. Exclusive with --data, --file and --content-type.
  std::optional<std::string> json;
  /// `--out PATH`: where the reply body goes instead of stdout.
  std::optional<std::string> out;
  /// `--priority N`: 0 urgent, 1 high, 2 normal, 3 bulk.
  int priority = 2;
  /// `--content-type T`: the request's content type; nullopt means
  /// application/json with --json, else application/octet-stream.
  std::optional<std::string> content_type;
  /// `--meta K=V`, repeatable; a repeated key keeps the last value.
  std::map<std::string, std::string> metadata;

  // -- weft ping and weft listen -------------------------------------------

  /// `--count N`: pings to send, or pushes to print; nullopt = until
  /// interrupted.
  std::optional<std::uint64_t> count;
  /// `--interval MS`: pause between pings.
  absl::Duration interval = absl::Seconds(1);

  // -- weft listen ----------------------------------------------------------

  /// `--topic T`, repeatable: topics to follow, in order, without repeats.
  std::vector<std::string> topics;
  /// `--client-id ID`: the id to claim; "" keeps the one the node assigns.
  std::string client_id;
  /// `--out-format text|json`.
  output_format format = output_format::text;

  /// Parses `args` (without the program name). Errors are
  /// `invalid_argument` and name the offending argument; a `--help` anywhere
  /// wins over every other problem after the command name.
  static absl::StatusOr<cli_args> parse(const std::vector<std::string>& args);
};

/// The usage text of `command` (the general one for verb::none).
std::string usage_text(verb command);

/// Parses `HOST:PORT` (`[v6]:PORT` too) with a port from 1 to 65535.
absl::Status parse_host_port(absl::string_view text, std::string& host,
                             std::uint16_t& port);

} // namespace weft::cli
