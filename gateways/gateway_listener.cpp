#include "gateways/gateway_listener.hpp"

#include <algorithm>
#include <chrono>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "runtime/error_bridge.hpp"
#include "runtime/route_table_ref.hpp"
#include "runtime/type_ids.hpp"

namespace weft {

namespace {

struct listener_state {
  // Non-owning: the node owns the pool and stops it only after every
  // gateway actor is gone; only listen() is called through it.
  io::reactor_pool* pool = nullptr;
  std::shared_ptr<io::listener> socket;
  gateway_listener_spec spec;
  std::shared_ptr<const route_table> routes;
  caf::actor router;
  std::vector<caf::actor> connections;

  static inline const char* name = "weft.gateway.listener";
};

using listener_self = caf::stateful_actor<listener_state>*;

/// Binds the listening socket and answers `promise` with its port.
void bind(listener_self self,
          caf::typed_response_promise<std::uint16_t> promise) {
  auto& st = self->state;
  auto socket = st.pool->listen(st.spec.host, st.spec.port,
                                caf::actor_cast<caf::actor>(self),
                                st.spec.make_framer, st.spec.channel);
  if (!socket.ok()) {
    promise.deliver(to_error(socket.status()));
    return;
  }
  st.socket = *socket;
  promise.deliver(st.socket->port());
}

/// Asks every connection to finish what it read and close; ok once all
/// did (or failed to answer within `budget`).
caf::result<ok_atom> drain_connections(listener_self self,
                                       caf::timespan budget) {
  auto& st = self->state;
  if (st.connections.empty())
    return ok_atom_v;
  auto promise = self->make_response_promise<ok_atom>();
  // shared_ptr: one countdown shared by the callbacks of every
  // connection's drain request.
  auto left = std::make_shared<std::size_t>(st.connections.size());
  auto done = [promise, left]() mutable {
    if (--*left == 0)
      promise.deliver(ok_atom_v);
  };
  for (const auto& c : st.connections)
    self->request(c, budget, drain_atom_v, budget)
      .then([done](ok_atom) mutable { done(); },
            [done](caf::error&) mutable { done(); });
  return promise;
}

caf::behavior listener_actor(listener_self self, io::reactor_pool* pool,
                             caf::actor router, gateway_listener_spec spec) {
  self->state.pool = pool;
  self->state.router = std::move(router);
  self->state.spec = std::move(spec);
  self->set_down_handler([self](const caf::down_msg& msg) {
    auto& cs = self->state.connections;
    auto at = std::find_if(cs.begin(), cs.end(), [&](const caf::actor& c) {
      return c.address() == msg.source;
    });
    if (at != cs.end())
      cs.erase(at);
  });
  self->set_exit_handler([self](const caf::exit_msg& msg) {
    for (const auto& c : self->state.connections)
      self->send_exit(c, msg.reason);
    self->state.connections.clear();
    if (self->state.socket)
      self->state.socket->close();
    self->quit(msg.reason);
  });
  return {
    [self](listen_atom) -> caf::result<std::uint16_t> {
      // Routes first: no connection may open before the table is here.
      auto promise = self->make_response_promise<std::uint16_t>();
      self
        ->request(self->state.router, std::chrono::seconds(10),
                  subscribe_atom_v, caf::actor_cast<caf::actor>(self))
        .then(
          [self, promise](const route_table_ref& ref) mutable {
            self->state.routes = ref.ptr;
            bind(self, promise);
          },
          [promise](caf::error& err) mutable { promise.deliver(err); });
      return promise;
    },
    [self](routes_atom, const route_table_ref& ref) {
      auto& st = self->state;
      st.routes = ref.ptr;
      for (const auto& c : st.connections)
        self->send(c, routes_atom_v, ref);
    },
    [self](io_accepted_atom, io::channel_ref& ref) {
      auto& st = self->state;
      if (st.spec.draining->load() || !ref.ptr) {
        if (ref.ptr)
          ref.ptr->abort();
        return;
      }
      if (st.spec.accepted)
        st.spec.accepted->fetch_add(1, std::memory_order_relaxed);
      auto conn = st.spec.spawn_connection(self->system(), ref.ptr, st.routes);
      self->monitor(conn);
      st.connections.push_back(conn);
      ref.ptr->start(conn);
    },
    [self](drain_atom, caf::timespan budget) -> caf::result<ok_atom> {
      auto& st = self->state;
      st.spec.draining->store(true);
      if (st.socket)
        st.socket->close();
      return drain_connections(self, budget);
    },
  };
}

} // namespace

absl::StatusOr<caf::actor> start_gateway_listener(caf::actor_system& sys,
                                                  io::reactor_pool& pool,
                                                  const caf::actor& router,
                                                  gateway_listener_spec spec,
                                                  std::uint16_t& port) {
  if (!spec.draining)
    spec.draining = std::make_shared<std::atomic<bool>>(false);
  auto listener = sys.spawn(listener_actor, &pool, router, std::move(spec));
  caf::scoped_actor self{sys};
  caf::error failure;
  self->request(listener, std::chrono::seconds(10), listen_atom_v)
    .receive([&](std::uint16_t bound) { port = bound; },
             [&](caf::error& err) { failure = std::move(err); });
  if (failure) {
    caf::anon_send_exit(listener, caf::exit_reason::user_shutdown);
    return to_status(failure);
  }
  return listener;
}

} // namespace weft
