// weft_hello: the smallest complete weft service (docs/guide.md).
#include "examples/hello.pb.h"
#include "runtime/weft.hpp"

using weft::examples::hello::Greet;
using weft::examples::hello::Greeting;

absl::StatusOr<Greeting> greet(const Greet& req, weft::context&) {
  if (req.name().empty())
    return weft::make_status(weft::errc::invalid_argument, "name is empty");
  Greeting out;
  out.set_text("Hello, " + req.name() + "!");
  return out;
}

int main(int argc, char** argv) {
  return weft::run_node(argc, argv, [](weft::node& node) {
    weft::blueprint app{"hello"};
    app.route<Greet, Greeting>("greet", greet);
    return node.serve(std::move(app));
  }, "weft_hello");
}
