#include "actors/cluster/cluster_joiner.hpp"

#include <algorithm>
#include <chrono>
#include <random>
#include <set>
#include <string>
#include <utility>

#include <absl/strings/str_cat.h>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/spawn_options.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/middleman_actor.hpp>
#include <caf/node_id.hpp>
#include <caf/stateful_actor.hpp>

#include "runtime/cluster_routes.hpp"
#include "runtime/error_bridge.hpp"
#include "runtime/node_tls.hpp"
#include "runtime/event.hpp"
#include "runtime/node_services.hpp"
#include "runtime/route_table.hpp"
#include "runtime/type_ids.hpp"

namespace weft::cluster {

namespace {

constexpr auto connect_timeout = std::chrono::seconds(10);

struct cluster_joiner_state {
  cluster_joiner_options opts;
  /// The gateway's hub while joined.
  caf::actor hub;
  /// An attempt is under way (a tick then does nothing).
  bool attempting = false;
  /// Failed attempts in a row.
  int failures = 0;
  /// What the gateway was last told (fingerprint of the announced routes):
  /// a route table that announces differently is sent again.
  std::string announced;
  std::minstd_rand rng;

  static inline const char* name = "weft.cluster_joiner";
};

using joiner_self = caf::stateful_actor<cluster_joiner_state>*;

std::string target(joiner_self self) {
  return absl::StrCat(self->state.opts.host, ":", self->state.opts.port);
}

void emit(joiner_self self, const char* name, event_attributes attrs) {
  if (auto* services = services_of(self->system())) {
    event ev;
    ev.name = name;
    ev.attributes = std::move(attrs);
    services->emit(std::move(ev));
  }
}

/// The pause before the next attempt: 100 ms doubling per failure up to
/// backoff_max, jittered to [half, all] so that workers that lost one
/// gateway together do not come back in lockstep.
absl::Duration next_delay(joiner_self self) {
  auto& st = self->state;
  auto base = absl::Milliseconds(100);
  for (int i = 0; i < st.failures && base < st.opts.backoff_max; ++i)
    base *= 2;
  base = std::min(base, st.opts.backoff_max);
  std::uniform_real_distribution<double> jitter{0.5, 1.0};
  return base * jitter(st.rng);
}

void retry_later(joiner_self self) {
  auto delay = next_delay(self);
  self->delayed_send(self, absl::ToChronoNanoseconds(delay), tick_atom_v);
}

void failed(joiner_self self, const absl::Status& why) {
  auto& st = self->state;
  st.attempting = false;
  st.hub = nullptr;
  auto delay = next_delay(self);
  ++st.failures;
  st.opts.log.warn("cluster.join_failed", {{"gateway", target(self)},
                                           {"error", why},
                                           {"retry_in", delay},
                                           {"attempt", st.failures}});
  emit(self, "cluster.join_failed",
       {{"gateway", target(self)},
        {"error", std::string{why.message()}},
        {"retry_in", absl::FormatDuration(delay)}});
  self->delayed_send(self, absl::ToChronoNanoseconds(delay), tick_atom_v);
}

/// The routes of an announcement as one comparable string.
std::string fingerprint(const cluster_announcement& ann) {
  std::string out;
  for (const auto& r : ann.routes)
    absl::StrAppend(&out, r.name, "\n", r.request_type, "\n", r.reply_type,
                    "\n", r.dispatch, "\n", r.key, "\n", r.max_queue, "\n",
                    r.max_body_bytes, "\n", r.schema_digest, "\n",
                    r.http_method, " ", r.http_path, "\n\n");
  return out;
}

/// The node's routes changed while joined: tell the gateway again (the
/// hub keeps the node's proxy and what it has in flight).
void reannounce(joiner_self self, const route_table& table) {
  auto& st = self->state;
  auto ann = announce_routes(table, st.opts.node_name);
  auto fp = fingerprint(ann);
  if (fp == st.announced)
    return;
  st.announced = fp; // the latest wins, whatever the answer
  auto routes = ann.routes.size();
  self
    ->request(st.hub, std::chrono::seconds(10), join_atom_v, std::move(ann),
              st.opts.endpoint)
    .then(
      [self, routes](ok_atom) {
        self->state.opts.log.info("cluster.reannounced",
                                  {{"gateway", target(self)},
                                   {"routes", routes}});
      },
      [self](caf::error& err) {
        self->state.opts.log.warn("cluster.join_failed",
                                  {{"gateway", target(self)},
                                   {"error", to_status(err)},
                                   {"reannounce", true}});
      });
}

void join(joiner_self self, caf::actor hub) {
  auto& st = self->state;
  self->request(st.opts.router, std::chrono::seconds(5), routes_atom_v)
    .then(
      [self, hub](const route_table_ref& ref) {
        auto& s = self->state;
        auto ann = announce_routes(*ref.ptr, s.opts.node_name);
        auto routes = ann.routes.size();
        auto fp = fingerprint(ann);
        self
          ->request(hub, std::chrono::seconds(10), join_atom_v,
                    std::move(ann), s.opts.endpoint)
          .then(
            [self, hub, routes, fp](ok_atom) {
              auto& s2 = self->state;
              s2.announced = fp;
              s2.attempting = false;
              s2.failures = 0;
              s2.hub = hub;
              self->monitor(hub);
              self->send(s2.opts.endpoint, join_atom_v, hub);
              s2.opts.log.info("cluster.joined", {{"gateway", target(self)},
                                                  {"routes", routes}});
              emit(self, "cluster.joined", {{"gateway", target(self)}});
            },
            [self](caf::error& err) { failed(self, to_status(err)); });
      },
      [self](caf::error& err) { failed(self, to_status(err)); });
}

/// A join over TLS: connect_node first completes a TLS handshake on a
/// connection of its own, with a timeout, and lets CAF's OpenSSL module
/// connect only then (a TLS connection CAF 0.17 starts and the peer never
/// finishes cannot be abandoned: it spins CAF's I/O thread until the peer
/// closes; runtime/node_tls.hpp). connect_node blocks, so it runs on a
/// detached actor (a thread of its own), never on the scheduler.
void attempt_tls(joiner_self self) {
  auto host = self->state.opts.host;
  auto port = self->state.opts.port;
  auto probe = self->spawn<caf::detached>(
    [host, port](caf::event_based_actor* me) -> caf::behavior {
      return {
        [me, host, port](caf::connect_atom) -> caf::result<caf::actor> {
          auto hub = connect_node(me->system(), host, port, true,
                                  connect_timeout);
          me->quit();
          if (!hub)
            return std::move(hub.error());
          return std::move(*hub);
        },
      };
    });
  self
    ->request(probe, connect_timeout + std::chrono::seconds(5),
              caf::connect_atom_v)
    .then([self](caf::actor& hub) { join(self, std::move(hub)); },
          [self](caf::error& err) {
            failed(self, make_status(errc::unavailable,
                                     absl::StrCat("cannot connect over TLS: ",
                                                  to_status(err).message())));
          });
}

void attempt(joiner_self self) {
  auto& st = self->state;
  if (st.attempting || st.hub)
    return;
  st.attempting = true;
  if (st.opts.tls) {
    attempt_tls(self);
    return;
  }
  auto mm = self->system().middleman().actor_handle();
  self
    ->request(mm, connect_timeout, caf::connect_atom_v, st.opts.host,
              st.opts.port)
    .then(
      [self](caf::node_id&, caf::strong_actor_ptr& ptr,
             std::set<std::string>&) {
        auto hub = caf::actor_cast<caf::actor>(std::move(ptr));
        if (!hub) {
          failed(self, make_status(errc::unavailable,
                                   "no cluster hub on that port"));
          return;
        }
        join(self, std::move(hub));
      },
      [self](caf::error& err) {
        failed(self,
               make_status(errc::unavailable,
                           absl::StrCat("cannot connect: ",
                                        caf::to_string(err))));
      });
}

caf::behavior cluster_joiner(joiner_self self, cluster_joiner_options opts) {
  auto& st = self->state;
  st.opts = std::move(opts);
  // Seeded per joiner so that workers started together do not retry in
  // lockstep.
  std::random_device seed;
  st.rng.seed(seed());
  self->set_down_handler([self](const caf::down_msg& msg) {
    auto& s = self->state;
    if (!s.hub || msg.source != s.hub.address())
      return;
    s.hub = nullptr;
    auto reason = caf::to_string(msg.reason);
    s.opts.log.warn("cluster.gateway_lost",
                    {{"gateway", target(self)}, {"reason", reason}});
    emit(self, "cluster.gateway_lost",
         {{"gateway", target(self)}, {"reason", reason}});
    retry_later(self);
  });
  // Route tables: a change while joined is announced again.
  self->request(st.opts.router, caf::infinite, subscribe_atom_v,
                caf::actor_cast<caf::actor>(self))
    .then([](const route_table_ref&) {});
  self->send(self, tick_atom_v);
  return {
    [self](tick_atom) { attempt(self); },
    [self](routes_atom, const route_table_ref& ref) {
      auto& s = self->state;
      if (s.hub && !s.attempting && ref.ptr)
        reannounce(self, *ref.ptr);
    },
  };
}

} // namespace

caf::actor spawn_cluster_joiner(caf::actor_system& sys,
                                cluster_joiner_options opts) {
  return sys.spawn(cluster_joiner, std::move(opts));
}

} // namespace weft::cluster
