// weft: the command-line client of a weft node (docs/cli.md).
//   weft call HOST:PORT ROUTE [options]   one request, reply body on stdout
//   weft ping HOST:PORT [options]         round-trip times, like ping(8)
//   weft schemas HOST:PORT [options]      routes with their request and
//                                         reply types
//   weft listen HOST:PORT [options]       one line per push the node sends
// Exit codes: 0 ok, 1 error reply / deadline, 2 usage, 3 connection failure.

#include <cstdio>
#include <string>
#include <vector>

#include "runtime/cli/call_command.hpp"
#include "runtime/cli/cli_args.hpp"
#include "runtime/cli/exit_code.hpp"
#include "runtime/cli/listen_command.hpp"
#include "runtime/cli/ping_command.hpp"
#include "runtime/cli/schemas_command.hpp"
#include "runtime/cli/signals.hpp"
#include "runtime/version.hpp"

int main(int argc, char** argv) {
  namespace cli = weft::cli;
  // Before any thread exists, so CAF's and the reactor's threads inherit
  // the mask and a Ctrl-C is taken only by the main thread's sigtimedwait.
  auto interrupts = cli::block_interrupts();
  std::vector<std::string> args(argv + 1, argv + argc);
  auto parsed = cli::cli_args::parse(args);
  if (!parsed.ok()) {
    std::fprintf(stderr, "weft: %s\n",
                 std::string{parsed.status().message()}.c_str());
    return cli::to_int(cli::exit_code::usage);
  }
  if (parsed->version) {
    std::printf("weft %s\n", weft::version_string);
    return cli::to_int(cli::exit_code::ok);
  }
  if (parsed->help) {
    std::fputs(cli::usage_text(parsed->command).c_str(), stdout);
    return cli::to_int(cli::exit_code::ok);
  }
  auto code = cli::exit_code::usage;
  switch (parsed->command) {
    case cli::verb::call:
      code = cli::run_call(*parsed, interrupts);
      break;
    case cli::verb::ping:
      code = cli::run_ping(*parsed, interrupts);
      break;
    case cli::verb::schemas:
      code = cli::run_schemas(*parsed, interrupts);
      break;
    case cli::verb::listen:
      code = cli::run_listen(*parsed, interrupts);
      break;
    case cli::verb::none:
      break; // parse() names a command or fails
  }
  std::fflush(stdout);
  return cli::to_int(code);
}
