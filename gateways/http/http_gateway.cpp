#include "gateways/http/http_gateway.hpp"

#include <random>
#include <vector>

#include <absl/strings/str_cat.h>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "gateways/http/http_connection_actor.hpp"
#include "gateways/http/internal/pass_through_framer.hpp"
#include "runtime/error_bridge.hpp"
#include "runtime/type_ids.hpp"

namespace weft::http {

namespace {

struct listener_state {
  // Non-owning: the node owns the pool and stops it only after every
  // gateway actor is gone; only listen() is called through it.
  io::reactor_pool* pool = nullptr;
  std::shared_ptr<io::listener> socket;
  http_connection_context ctx;
  caf::actor router;
  std::vector<caf::actor> connections;

  static inline const char* name = "weft.http.listener";
};

using listener_self = caf::stateful_actor<listener_state>*;

void bind(listener_self self,
          caf::typed_response_promise<std::uint16_t> promise) {
  auto& st = self->state;
  const auto& opts = *st.ctx.options;
  auto socket = st.pool->listen(
    opts.host, opts.port, caf::actor_cast<caf::actor>(self),
    [] { return std::make_unique<internal::pass_through_framer>(); },
    opts.channel);
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
                             caf::actor router, http_connection_context ctx) {
  self->state.pool = pool;
  self->state.router = std::move(router);
  self->state.ctx = std::move(ctx);
  self->set_down_handler([self](const caf::down_msg& msg) {
    auto& cs = self->state.connections;
    cs.erase(std::remove_if(cs.begin(), cs.end(),
                            [&](const caf::actor& c) {
                              return c.address() == msg.source;
                            }),
             cs.end());
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
            self->state.ctx.routes = ref.ptr;
            bind(self, promise);
          },
          [promise](caf::error& err) mutable { promise.deliver(err); });
      return promise;
    },
    [self](routes_atom, const route_table_ref& ref) {
      auto& st = self->state;
      st.ctx.routes = ref.ptr;
      for (const auto& c : st.connections)
        self->send(c, routes_atom_v, ref);
    },
    [self](io_accepted_atom, io::channel_ref& ref) {
      auto& st = self->state;
      if (st.ctx.draining->load() || !ref.ptr) {
        if (ref.ptr)
          ref.ptr->abort();
        return;
      }
      st.ctx.stats->accepted.fetch_add(1, std::memory_order_relaxed);
      auto conn = spawn_http_connection(self->system(), ref.ptr, st.ctx);
      self->monitor(conn);
      st.connections.push_back(conn);
      ref.ptr->start(conn);
    },
    [self](drain_atom, caf::timespan budget) -> caf::result<ok_atom> {
      auto& st = self->state;
      st.ctx.draining->store(true);
      if (st.socket)
        st.socket->close();
      return drain_connections(self, budget);
    },
  };
}

} // namespace

absl::StatusOr<http_gateway>
start_http_gateway(caf::actor_system& sys, io::reactor_pool& pool,
                   const caf::actor& router, http_gateway_options opts,
                   logger log, caf::actor registry) {
  // A head must fit the reactor's hand-over, whatever the limits say.
  opts.channel.max_unit_bytes = std::max<std::size_t>(
    opts.channel.max_unit_bytes, opts.limits.max_header_bytes);
  // A zero timeout or rate turns that check off.
  auto off_if_zero = [](absl::Duration& d) {
    if (d <= absl::ZeroDuration())
      d = absl::InfiniteDuration();
  };
  off_if_zero(opts.limits.header_timeout);
  off_if_zero(opts.limits.idle_timeout);
  off_if_zero(opts.limits.stream_keepalive);
  off_if_zero(opts.handler_timeout);
  if (opts.limits.min_body_rate == 0)
    opts.limits.body_rate_grace = absl::InfiniteDuration();
  // A client may half-close after its last request and still read the
  // answers (RFC 9112 §9.6).
  opts.channel.half_close = true;
  // io_sent when the queue falls to a quarter of a file body's write-ahead.
  if (opts.channel.sent_low_watermark == 0)
    opts.channel.sent_low_watermark = 128 * 1024;
  http_gateway result;
  result.stats = std::make_shared<http_stats>();
  http_connection_context ctx;
  ctx.options = std::make_shared<const http_gateway_options>(std::move(opts));
  ctx.stats = result.stats;
  ctx.indexes = std::make_shared<route_index_cache>();
  ctx.draining = std::make_shared<std::atomic<bool>>(false);
  std::random_device entropy;
  ctx.id_prefix = absl::StrCat(absl::Hex(entropy(), absl::kZeroPad8));
  ctx.log = log;
  ctx.registry = std::move(registry);
  result.listener = sys.spawn(listener_actor, &pool, router, ctx);
  caf::scoped_actor self{sys};
  caf::error failure;
  self->request(result.listener, std::chrono::seconds(10), listen_atom_v)
    .receive([&](std::uint16_t port) { result.port = port; },
             [&](caf::error& err) { failure = std::move(err); });
  if (failure) {
    caf::anon_send_exit(result.listener, caf::exit_reason::user_shutdown);
    return to_status(failure);
  }
  return result;
}

} // namespace weft::http
