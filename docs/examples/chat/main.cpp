// weft_chat: a node serving the chat room example (chat_app.hpp). Takes
// weftd's options, e.g. `weft_chat --tcp-listen 127.0.0.1:7701`.

#include "docs/examples/chat/chat_app.hpp"
#include "runtime/weft.hpp"

int main(int argc, char** argv) {
  return weft::run_node(
    argc, argv,
    [](weft::node& node) { return node.serve(weft::examples::chat_app()); },
    "weft_chat");
}
