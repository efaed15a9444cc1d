#include "actors/cluster/worker_endpoint.hpp"

#include <algorithm>
#include <chrono>
#include <utility>
#include <vector>

#include <absl/container/flat_hash_map.h>
#include <absl/strings/str_cat.h>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/cluster/internal/drain_waiters.hpp"
#include "actors/cluster/internal/expiry_queue.hpp"
#include "runtime/error_bridge.hpp"
#include "runtime/route_dispatcher.hpp"
#include "runtime/type_ids.hpp"

namespace weft::cluster {

namespace {

struct in_flight {
  dispatch_ticket ticket;
  caf::typed_response_promise<response> promise;
  absl::Time deadline;
};

struct worker_endpoint_state {
  worker_endpoint_options opts;
  route_dispatcher dispatcher;
  std::uint64_t next_id = 0;
  absl::flat_hash_map<std::uint64_t, in_flight> requests;
  /// Their deadlines; checked every expiry_queue::tick while not empty.
  internal::expiry_queue deadlines;
  bool tick_scheduled = false;
  /// Gateways' hubs this node joined.
  std::vector<caf::actor> hubs;
  internal::drain_waiters drains;
  bool draining = false;

  static inline const char* name = "weft.worker_endpoint";
};

using endpoint_self = caf::stateful_actor<worker_endpoint_state>*;

void answered(endpoint_self self, std::uint64_t id,
              absl::StatusOr<response> result) {
  auto& st = self->state;
  auto i = st.requests.find(id);
  if (i == st.requests.end())
    return; // timed out already: the late answer is dropped
  st.deadlines.remove(id, i->second.deadline);
  st.dispatcher.finish(i->second.ticket, result);
  if (result.ok())
    i->second.promise.deliver(std::move(*result));
  else
    i->second.promise.deliver(to_error(result.status()));
  st.requests.erase(i);
  if (st.requests.empty())
    st.drains.release();
}

void schedule_tick(endpoint_self self) {
  auto& st = self->state;
  if (st.tick_scheduled || st.deadlines.empty())
    return;
  st.tick_scheduled = true;
  self->delayed_send(self,
                     absl::ToChronoNanoseconds(internal::expiry_queue::tick),
                     tick_atom_v);
}

caf::behavior worker_endpoint(endpoint_self self,
                              worker_endpoint_options opts) {
  auto& st = self->state;
  st.opts = std::move(opts);
  self->request(st.opts.router, caf::infinite, subscribe_atom_v,
                caf::actor_cast<caf::actor>(self))
    .then([self](const route_table_ref& ref) {
      self->state.dispatcher.update(ref.ptr);
    });
  self->set_down_handler([self](const caf::down_msg& msg) {
    auto& hubs = self->state.hubs;
    hubs.erase(std::remove_if(hubs.begin(), hubs.end(),
                              [&](const caf::actor& h) {
                                return h.address() == msg.source;
                              }),
               hubs.end());
  });
  return {
    [self](routes_atom, const route_table_ref& ref) {
      self->state.dispatcher.update(ref.ptr);
    },
    [self](request_atom, request& req) -> caf::result<response> {
      auto& s = self->state;
      dispatch_ticket ticket;
      if (auto refused = s.dispatcher.prepare(req, ticket); !refused.ok()) {
        absl::StatusOr<response> result = refused;
        s.dispatcher.finish(ticket, result);
        if (result.ok())
          return std::move(*result);
        return to_error(result.status());
      }
      auto timeout = s.opts.handler_timeout;
      if (req.deadline_ns > 0)
        timeout = std::max(absl::FromUnixNanos(req.deadline_ns) - absl::Now(),
                           absl::Milliseconds(1));
      auto id = ++s.next_id;
      auto worker = ticket.worker();
      auto deadline = absl::Now() + timeout;
      auto promise = self->make_response_promise<response>();
      s.requests.emplace(id, in_flight{std::move(ticket), promise, deadline});
      s.deadlines.add(id, deadline);
      schedule_tick(self);
      // No CAF timeout (see expiry_queue): our tick answers a late one.
      self->request(worker, caf::infinite, request_atom_v, std::move(req))
        .then([self, id](response& rsp) { answered(self, id, std::move(rsp)); },
              [self, id](caf::error& err) {
                answered(self, id, to_status(err));
              });
      return promise;
    },
    [self](tick_atom) {
      auto& s = self->state;
      s.tick_scheduled = false;
      std::vector<std::uint64_t> expired;
      s.deadlines.expire(absl::Now(),
                         [&](std::uint64_t id) { expired.push_back(id); });
      for (auto id : expired) {
        // answered() removes it from `deadlines` again: a no-op now.
        answered(self, id,
                 make_status(errc::deadline_exceeded,
                             "the handler did not answer in time"));
      }
      schedule_tick(self);
    },
    [self](join_atom, const caf::actor& hub) {
      auto& s = self->state;
      self->monitor(hub);
      s.hubs.push_back(hub);
      if (s.draining) // joined while draining: leave at once
        self->send(hub, leave_atom_v,
                   absl::StrCat(s.opts.node_name, "@",
                                caf::to_string(self->node())));
    },
    [self](drain_atom, caf::timespan) -> caf::result<ok_atom> {
      auto& s = self->state;
      s.draining = true;
      auto key = absl::StrCat(s.opts.node_name, "@",
                              caf::to_string(self->node()));
      for (auto& hub : s.hubs)
        self->send(hub, leave_atom_v, key);
      s.opts.log.info("cluster.leaving", {{"gateways", s.hubs.size()},
                                          {"in_flight", s.requests.size()}});
      return s.drains.wait(self, s.requests.empty());
    },
  };
}

} // namespace

caf::actor spawn_worker_endpoint(caf::actor_system& sys,
                                 worker_endpoint_options opts) {
  return sys.spawn(worker_endpoint, std::move(opts));
}

} // namespace weft::cluster
