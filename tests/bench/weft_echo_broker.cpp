// weft_echo_broker: the reactor-vs-broker reference. The same echo over
// weft's framing (tests/bench/echo_responder.hpp) as weft_echo_ref, but on
// CAF 0.17.6's io brokers: an acceptor broker forks one broker per
// connection, each reading with receive_policy::at_most(4096).
//
//   weft_echo_broker [--mode echo|handler] [--port N] [--max-seconds S]
//
// echo: the connection broker answers by itself. handler: it sends each
// request body to one handler actor and writes the reply when the answer
// comes back (the path a real route takes). Listens on 127.0.0.1, prints
// "listening PORT", runs until SIGINT / SIGTERM or --max-seconds.

#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/broker.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/receive_policy.hpp>
#include <caf/io/system_messages.hpp>
#include <caf/send.hpp>

#include "tests/bench/echo_responder.hpp"

namespace {

using weft::bench::echo_request;
using weft::bench::echo_responder;

struct connection_state {
  echo_responder responder;
  std::vector<echo_request> requests;
  static inline const char* name = "weft.bench.broker_connection";
};

using connection_broker = caf::io::stateful_broker<connection_state>;

/// Hands everything the responder wrote to the broker's write buffer.
void write_out(connection_broker* self, caf::io::connection_handle hdl) {
  auto& st = self->state;
  if (!st.responder.wants_write())
    return;
  for (const auto& slice : st.responder.take_output())
    self->write(hdl, slice.size(), slice.data());
  self->flush(hdl);
}

caf::behavior connection(connection_broker* self,
                         caf::io::connection_handle hdl, caf::actor handler) {
  self->configure_read(hdl, caf::io::receive_policy::at_most(4096));
  write_out(self, hdl);
  return {
    [self, handler](const caf::io::new_data_msg& msg) {
      auto& st = self->state;
      st.requests.clear();
      auto bytes = weft::shared_bytes{
        std::vector<std::uint8_t>(msg.buf.begin(), msg.buf.end())};
      if (!st.responder.on_bytes(std::move(bytes), st.requests).ok()) {
        self->close(msg.handle);
        self->quit();
        return;
      }
      for (auto& req : st.requests) {
        if (!handler) {
          st.responder.reply(req, req.body);
          continue;
        }
        self->request(handler, caf::infinite, req.body.to_string())
          .then([self, out = msg.handle, req](std::string& body) {
            self->state.responder.reply(req,
                                        weft::shared_bytes::copy_of(body));
            write_out(self, out);
          });
      }
      write_out(self, msg.handle);
    },
    [self](const caf::io::connection_closed_msg&) { self->quit(); },
  };
}

caf::behavior acceptor(caf::io::broker* self, std::uint16_t port,
                       caf::actor handler) {
  auto bound = self->add_tcp_doorman(port, "127.0.0.1", true);
  if (!bound) {
    std::fprintf(stderr, "weft_echo_broker: cannot listen: %s\n",
                 caf::to_string(bound.error()).c_str());
    self->quit();
    return {};
  }
  std::printf("listening %u\n", bound->second);
  std::fflush(stdout);
  return {
    [self, handler](const caf::io::new_connection_msg& msg) {
      // Linked: connections die with the acceptor, so the process can exit.
      self->link_to(self->fork(connection, msg.handle, handler));
    },
  };
}

caf::behavior echo_handler(caf::event_based_actor*) {
  return {
    [](std::string& body) { return std::move(body); },
  };
}

} // namespace

int main(int argc, char** argv) {
  std::string mode = "echo";
  std::uint16_t port = 0;
  long max_seconds = 3600;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--mode")
      mode = argv[i + 1];
    else if (flag == "--port")
      port = static_cast<std::uint16_t>(std::atoi(argv[i + 1]));
    else if (flag == "--max-seconds")
      max_seconds = std::atol(argv[i + 1]);
    else
      mode = "";
  }
  if (mode != "echo" && mode != "handler") {
    std::fputs("usage: weft_echo_broker [--mode echo|handler] [--port N] "
               "[--max-seconds S]\n",
               stderr);
    return 2;
  }
  // Signals are taken only by sigtimedwait below, never in a CAF thread.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  caf::actor_system_config cfg;
  cfg.load<caf::io::middleman>();
  caf::actor_system sys{cfg};
  caf::actor handler;
  if (mode == "handler")
    handler = sys.spawn(echo_handler);
  auto server = sys.middleman().spawn_broker(acceptor, port, handler);
  timespec limit{max_seconds, 0};
  sigtimedwait(&signals, nullptr, &limit);
  caf::anon_send_exit(server, caf::exit_reason::user_shutdown);
  if (handler)
    caf::anon_send_exit(handler, caf::exit_reason::user_shutdown);
  return 0;
}
