#include "runtime/cli/cli_args.hpp"

#include <algorithm>
#include <functional>
#include <limits>

#include <absl/strings/ascii.h>
#include <absl/strings/match.h>
#include <absl/strings/numbers.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/strip.h>

#include "runtime/error_bridge.hpp"

namespace weft::cli {

namespace {

absl::Status fail(absl::string_view text) {
  return make_status(errc::invalid_argument, text);
}

/// One `--name VALUE` flag of a command; every flag of `weft` takes a value.
struct flag_spec {
  absl::string_view name;
  std::function<absl::Status(cli_args&, absl::string_view)> set;
};

/// Parses a whole number of milliseconds in [min, max].
absl::Status parse_ms(absl::string_view flag, absl::string_view text,
                      std::int64_t min, absl::Duration& out) {
  constexpr std::int64_t max = std::numeric_limits<std::int32_t>::max();
  std::int64_t ms = 0;
  if (!absl::SimpleAtoi(text, &ms) || ms < min || ms > max)
    return fail(absl::StrCat("--", flag, " needs milliseconds from ", min,
                             " to ", max, ", got '", text, "'"));
  out = absl::Milliseconds(ms);
  return absl::OkStatus();
}

/// `--timeout MS`, the same flag for every command.
flag_spec timeout_flag() {
  return {"timeout", [](cli_args& a, absl::string_view v) {
            return parse_ms("timeout", v, 1, a.timeout);
          }};
}

std::vector<flag_spec> call_flags() {
  return {
    {"data",
     [](cli_args& a, absl::string_view v) {
       a.data = std::string{v};
       return absl::OkStatus();
     }},
    {"file",
     [](cli_args& a, absl::string_view v) {
       if (v.empty())
         return fail("--file needs a PATH");
       a.file = std::string{v};
       return absl::OkStatus();
     }},
    {"json",
     [](cli_args& a, absl::string_view v) {
       a.json = std::string{v};
       return absl::OkStatus();
     }},
    {"out",
     [](cli_args& a, absl::string_view v) {
       if (v.empty())
         return fail("--out needs a PATH");
       a.out = std::string{v};
       return absl::OkStatus();
     }},
    {"priority",
     [](cli_args& a, absl::string_view v) {
       int p = 0;
       if (!absl::SimpleAtoi(v, &p) || p < 0 || p > 3)
         return fail(absl::StrCat(
           "--priority needs 0 (urgent) to 3 (bulk), got '", v, "'"));
       a.priority = p;
       return absl::OkStatus();
     }},
    timeout_flag(),
    {"content-type",
     [](cli_args& a, absl::string_view v) {
       a.content_type = std::string{v};
       return absl::OkStatus();
     }},
    {"meta",
     [](cli_args& a, absl::string_view v) {
       auto eq = v.find('=');
       if (eq == absl::string_view::npos || eq == 0)
         return fail(absl::StrCat("--meta needs KEY=VALUE, got '", v, "'"));
       a.metadata[std::string{v.substr(0, eq)}] = std::string{v.substr(eq + 1)};
       return absl::OkStatus();
     }},
  };
}

std::vector<flag_spec> schemas_flags() {
  return {timeout_flag()};
}

/// `--count N`, for pings and for pushes.
flag_spec count_flag() {
  return {"count", [](cli_args& a, absl::string_view v) {
            std::uint64_t n = 0;
            if (!absl::SimpleAtoi(v, &n) || n == 0)
              return fail(
                absl::StrCat("--count needs a positive number, got '", v, "'"));
            a.count = n;
            return absl::OkStatus();
          }};
}

std::vector<flag_spec> ping_flags() {
  return {
    count_flag(),
    {"interval",
     [](cli_args& a, absl::string_view v) {
       return parse_ms("interval", v, 0, a.interval);
     }},
    timeout_flag(),
  };
}

std::vector<flag_spec> listen_flags() {
  return {
    {"topic",
     [](cli_args& a, absl::string_view v) {
       if (v.empty())
         return fail("--topic needs a TOPIC");
       if (std::find(a.topics.begin(), a.topics.end(), v) == a.topics.end())
         a.topics.emplace_back(v);
       return absl::OkStatus();
     }},
    {"client-id",
     [](cli_args& a, absl::string_view v) {
       if (v.empty())
         return fail("--client-id needs an ID");
       a.client_id = std::string{v};
       return absl::OkStatus();
     }},
    count_flag(),
    timeout_flag(),
    {"out-format",
     [](cli_args& a, absl::string_view v) {
       if (v == "text")
         a.format = output_format::text;
       else if (v == "json")
         a.format = output_format::json;
       else
         return fail(
           absl::StrCat("--out-format needs text or json, got '", v, "'"));
       return absl::OkStatus();
     }},
  };
}

/// What parse() needs to know of each command.
struct verb_spec {
  verb command;
  absl::string_view name;
  /// The synopsis quoted by "missing ..." errors.
  absl::string_view synopsis;
  /// How many positional arguments: HOST:PORT, and ROUTE for a call.
  std::size_t positional_count;
  std::vector<flag_spec> (*flags)();
};

const verb_spec* find_verb(absl::string_view name) {
  static constexpr verb_spec specs[] = {
    {verb::call, "call", "weft call HOST:PORT ROUTE [options]", 2, call_flags},
    {verb::ping, "ping", "weft ping HOST:PORT [options]", 1, ping_flags},
    {verb::schemas, "schemas", "weft schemas HOST:PORT [options]", 1,
     schemas_flags},
    {verb::listen, "listen", "weft listen HOST:PORT [options]", 1,
     listen_flags},
  };
  for (const auto& spec : specs)
    if (spec.name == name)
      return &spec;
  return nullptr;
}

} // namespace

absl::Status parse_host_port(absl::string_view text, std::string& host,
                             std::uint16_t& port) {
  auto colon = text.rfind(':');
  if (colon == absl::string_view::npos || colon == 0)
    return fail(absl::StrCat("bad address '", text,
                             "': expected HOST:PORT, e.g. 127.0.0.1:7700"));
  auto h = text.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']')
    h = h.substr(1, h.size() - 2);
  else if (absl::StrContains(h, ':'))
    return fail(absl::StrCat("bad address '", text,
                             "': write an IPv6 host in brackets, [::1]:7700"));
  std::uint32_t p = 0;
  auto digits = text.substr(colon + 1);
  if (h.empty() || digits.empty()
      || !absl::ascii_isdigit(static_cast<unsigned char>(digits.front()))
      || !absl::SimpleAtoi(digits, &p) || p == 0 || p > 65535)
    return fail(absl::StrCat("bad address '", text,
                             "': expected HOST:PORT with a port from 1 to "
                             "65535"));
  host = std::string{h};
  port = static_cast<std::uint16_t>(p);
  return absl::OkStatus();
}

absl::StatusOr<cli_args> cli_args::parse(const std::vector<std::string>& args) {
  cli_args result;
  if (args.empty())
    return fail(
      "missing command: call, ping, schemas or listen (see weft --help)");
  absl::string_view first = args[0];
  if (first == "--help" || first == "-h" || first == "help") {
    result.help = true;
    return result;
  }
  if (first == "--version") {
    result.version = true;
    return result;
  }
  const auto* command_spec = find_verb(first);
  if (command_spec == nullptr && absl::StartsWith(first, "-"))
    return fail(absl::StrCat("unknown flag ", first,
                             " before the command (see weft --help)"));
  if (command_spec == nullptr)
    return fail(absl::StrCat("unknown command '", first,
                             "': expected call, ping, schemas or listen "
                             "(see weft --help)"));
  result.command = command_spec->command;
  auto name = command_spec->name;
  // --help anywhere (before a "--") wins, so `weft call --help` always works.
  for (std::size_t i = 1; i < args.size() && args[i] != "--"; ++i)
    if (args[i] == "--help" || args[i] == "-h") {
      result.help = true;
      return result;
    }
  auto flags = command_spec->flags();
  std::vector<std::string> positional;
  bool only_positional = false;
  for (std::size_t i = 1; i < args.size(); ++i) {
    absl::string_view arg = args[i];
    if (only_positional || arg == "-" || !absl::StartsWith(arg, "-")) {
      positional.emplace_back(arg);
      continue;
    }
    if (arg == "--") {
      only_positional = true;
      continue;
    }
    if (!absl::ConsumePrefix(&arg, "--") || arg.empty())
      return fail(absl::StrCat("unknown flag ", args[i], " for weft ", name,
                               " (see weft ", name, " --help)"));
    auto flag_name = arg;
    std::optional<absl::string_view> value;
    if (auto eq = arg.find('='); eq != absl::string_view::npos) {
      flag_name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    }
    const flag_spec* spec = nullptr;
    for (const auto& f : flags)
      if (f.name == flag_name)
        spec = &f;
    if (spec == nullptr)
      return fail(absl::StrCat("unknown flag --", flag_name, " for weft ", name,
                               " (see weft ", name, " --help)"));
    if (!value) {
      if (i + 1 >= args.size())
        return fail(absl::StrCat("--", flag_name, " needs a value"));
      value = args[++i];
    }
    if (auto st = spec->set(result, *value); !st.ok())
      return st;
  }
  std::size_t wanted = command_spec->positional_count;
  if (positional.empty())
    return fail(absl::StrCat("missing HOST:PORT (usage: ",
                             command_spec->synopsis, ")"));
  if (auto st = parse_host_port(positional[0], result.host, result.port);
      !st.ok())
    return st;
  if (positional.size() < wanted)
    return fail(
      absl::StrCat("missing ROUTE (usage: ", command_spec->synopsis, ")"));
  if (positional.size() > wanted)
    return fail(absl::StrCat("unexpected argument '", positional[wanted],
                             "' (see weft ", name, " --help)"));
  if (result.command == verb::call) {
    result.route = positional[1];
    if (result.route.empty())
      return fail("ROUTE must not be empty");
    if (result.data && result.file)
      return fail("--data and --file are exclusive: give one body");
    if (result.json && (result.data || result.file))
      return fail(absl::StrCat("--json and --", result.data ? "data" : "file",
                               " are exclusive: give one body"));
    if (result.json && result.content_type)
      return fail("--json sends application/json: drop --content-type");
  }
  return result;
}

std::string usage_text(verb command) {
  switch (command) {
    case verb::call:
      return "usage: weft call HOST:PORT ROUTE [options]\n"
             "\n"
             "Sends one request to ROUTE on the weft node at HOST:PORT and\n"
             "prints the reply body to stdout as raw bytes. The body comes\n"
             "from --data, --file, --json, or stdin when stdin is not a\n"
             "terminal.\n"
             "\n"
             "options:\n"
             "  --data TEXT          the request body, verbatim\n"
             "  --file PATH          stream the request body from PATH\n"
             "  --json TEXT          a JSON request body, converted by the\n"
             "                       node through the route's schema; the\n"
             "                       reply is printed as JSON\n"
             "  --out PATH           write the reply body to PATH, not stdout\n"
             "  --priority N         0 urgent, 1 high, 2 normal (default),\n"
             "                       3 bulk\n"
             "  --timeout MS         deadline of the call (default: none)\n"
             "  --content-type T     the request's content type\n"
             "                       (default: application/octet-stream;\n"
             "                       not with --json)\n"
             "  --meta K=V           a metadata entry; repeatable\n"
             "  --help               print this text and exit\n"
             "\n"
             "exit codes: 0 ok, 1 error reply or deadline, 2 usage,\n"
             "3 cannot connect or connection lost, 130 interrupted\n";
    case verb::ping:
      return "usage: weft ping HOST:PORT [options]\n"
             "\n"
             "Sends protocol PINGs to the weft node at HOST:PORT and prints\n"
             "each round-trip time, then min/avg/max.\n"
             "\n"
             "options:\n"
             "  --count N            stop after N pings (default: until\n"
             "                       Ctrl-C)\n"
             "  --interval MS        pause between pings (default: 1000)\n"
             "  --timeout MS         wait for each answer (default: 5000)\n"
             "  --help               print this text and exit\n"
             "\n"
             "exit codes: 0 every ping answered, 1 a ping lost, 2 usage,\n"
             "3 cannot connect or connection lost\n";
    case verb::schemas:
      return "usage: weft schemas HOST:PORT [options]\n"
             "\n"
             "Lists the routes of the weft node at HOST:PORT with their\n"
             "request and reply types, one line per route:\n"
             "  ROUTE  REQUEST_TYPE -> REPLY_TYPE  (form[, N workers]"
             "[, dispatch])\n"
             "\n"
             "options:\n"
             "  --timeout MS         wait for the listing (default: 5000)\n"
             "  --help               print this text and exit\n"
             "\n"
             "exit codes: 0 ok, 1 error reply or deadline, 2 usage,\n"
             "3 cannot connect or connection lost, 130 interrupted\n";
    case verb::listen:
      return "usage: weft listen HOST:PORT [options]\n"
             "\n"
             "Connects to the weft node at HOST:PORT, follows the --topic\n"
             "topics and prints one line per push on stdout as it arrives:\n"
             "  text: ROUTE<TAB>BODY, with control characters, backslashes\n"
             "        and bytes that are not printable UTF-8 escaped\n"
             "        (\\n, \\t, \\r, \\\\, \\xHH)\n"
             "  json: {\"route\":...,\"content_type\":...,\"body\":...}\n"
             "Prints 'weft: listening ...' on stderr once subscribed.\n"
             "\n"
             "options:\n"
             "  --topic T            follow topic T; repeatable\n"
             "  --client-id ID       claim ID (default: the node assigns one)\n"
             "  --count N            exit after N pushes (default: until\n"
             "                       Ctrl-C)\n"
             "  --timeout MS         exit after listening MS milliseconds\n"
             "                       (default: until Ctrl-C)\n"
             "  --out-format F       text (default) or json\n"
             "  --help               print this text and exit\n"
             "\n"
             "exit codes: 0 --count reached, --timeout passed or\n"
             "interrupted, 1 client id or topic refused, 2 usage,\n"
             "3 cannot connect or connection lost\n";
    case verb::none:
      break;
  }
  return "usage: weft COMMAND [options]\n"
         "\n"
         "The command-line client of a weft node's binary protocol.\n"
         "\n"
         "commands:\n"
         "  call HOST:PORT ROUTE   send one request, print the reply body\n"
         "  ping HOST:PORT         measure round-trip times\n"
         "  schemas HOST:PORT      list routes with their request and reply\n"
         "                         types\n"
         "  listen HOST:PORT       print the pushes the node sends\n"
         "\n"
         "  weft COMMAND --help    options of a command\n"
         "  weft --version         print the version and exit\n"
         "\n"
         "exit codes: 0 ok, 1 error reply, 2 usage, 3 connection failure\n";
}

} // namespace weft::cli
