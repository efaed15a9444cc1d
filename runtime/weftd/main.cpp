// weftd: a weft node serving the embedded demo app (actors/demo_routes.hpp)
// until SIGINT or SIGTERM, then draining gracefully. Exit codes: 0 after a
// clean stop, 1 when the node fails at start or cannot stop, 2 for bad
// options. Everything but the choice of app is weft::run_node.

#include "actors/demo_routes.hpp"
#include "runtime/run_node.hpp"

int main(int argc, char** argv) {
  // weftd serves HTTP by default; nodes made in code and other programs
  // built on run_node only when asked (--http-listen).
  weft::node_config defaults;
  defaults.http_listen = "127.0.0.1:8080";
  return weft::run_node(
    argc, argv,
    [](weft::node& node) {
      // A pure gateway has no application routes of its own: it serves
      // the routes of the workers that join it.
      if (!node.config().hosts_routes())
        return absl::OkStatus();
      return node.serve(weft::demo_app(node.scheduler(), node.config().name));
    },
    "weftd", std::move(defaults));
}
