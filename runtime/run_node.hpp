#pragma once

#include <functional>

#include <absl/status/status.h>
#include <absl/strings/string_view.h>

#include "runtime/node.hpp"

namespace weft {

/// What an application sets up on a started node: its blueprints and
/// node-level middleware. A non-OK status stops the program (exit 1).
using node_setup = std::function<absl::Status(node&)>;

/// The whole life of a weft program, as weftd lives it: reads the options
/// from `argv` and WEFT_* variables (docs/configuration.md), starts a node,
/// runs `setup`, starts the edges, serves until SIGINT or SIGTERM, then
/// drains and stops. Returns the exit code: 0 after a clean stop, 1 when
/// the node fails, 2 for bad options. Call it from main before any thread
/// starts (it blocks the shutdown signals for every thread). `defaults`
/// are the program's built-in option values (weftd's serve HTTP).
int run_node(int argc, char** argv, const node_setup& setup,
             absl::string_view program = "weftd", node_config defaults = {});

} // namespace weft
