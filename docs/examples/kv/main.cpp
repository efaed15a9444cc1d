// weft_kv: a node serving the key-value store example (kv_app.hpp). Takes
// weftd's options, e.g. `weft_kv --tcp-listen 127.0.0.1:7702`.

#include "docs/examples/kv/kv_app.hpp"
#include "runtime/weft.hpp"

int main(int argc, char** argv) {
  return weft::run_node(
    argc, argv,
    [](weft::node& node) { return node.serve(weft::examples::kv_app()); },
    "weft_kv");
}
