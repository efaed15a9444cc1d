#include "actors/cluster/node_proxy.hpp"

#include <chrono>
#include <utility>
#include <vector>

#include <absl/container/flat_hash_map.h>
#include <absl/strings/str_cat.h>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/response_promise.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/cluster/internal/drain_waiters.hpp"
#include "actors/cluster/internal/expiry_queue.hpp"
#include "runtime/error_bridge.hpp"
#include "runtime/event.hpp"
#include "runtime/node_services.hpp"
#include "runtime/request.hpp"
#include "runtime/type_ids.hpp"

namespace weft::cluster {

namespace {

struct node_proxy_state {
  node_proxy_options opts;
  std::uint64_t next_id = 0;
  struct pending {
    caf::typed_response_promise<response> promise;
    absl::Time deadline;
  };
  /// Requests forwarded and not answered yet.
  absl::flat_hash_map<std::uint64_t, pending> outstanding;
  /// Their deadlines; checked every expiry_queue::tick while not empty.
  internal::expiry_queue deadlines;
  bool tick_scheduled = false;
  /// Drains waiting for outstanding to empty.
  internal::drain_waiters drains;
  /// Go-away received: exit once nothing is outstanding.
  bool leaving = false;
  /// Requests forwarded to the node over this proxy's life (logged).
  std::uint64_t forwarded = 0;

  /// Answers everything still outstanding with `err` (on any exit).
  void fail_all(const caf::error& err) {
    for (auto& [id, p] : outstanding)
      p.promise.deliver(err);
    outstanding.clear();
    deadlines = internal::expiry_queue{};
    drains.release();
  }

  ~node_proxy_state() {
    fail_all(to_error(make_status(
      errc::unavailable, absl::StrCat("node ", opts.key, " is gone"))));
  }

  static inline const char* name = "weft.node_proxy";
};

using proxy_self = caf::stateful_actor<node_proxy_state>*;

void emit(proxy_self self, const char* name, event_attributes attrs) {
  if (auto* services = services_of(self->system())) {
    event ev;
    ev.name = name;
    ev.attributes = std::move(attrs);
    services->emit(std::move(ev));
  }
}

void schedule_tick(proxy_self self) {
  auto& st = self->state;
  if (st.tick_scheduled || st.deadlines.empty())
    return;
  st.tick_scheduled = true;
  self->delayed_send(self,
                     absl::ToChronoNanoseconds(internal::expiry_queue::tick),
                     tick_atom_v);
}

/// Answers request `id` (if still outstanding) with `result`.
template <class Result>
void answer(proxy_self self, std::uint64_t id, Result&& result) {
  auto& st = self->state;
  auto i = st.outstanding.find(id);
  if (i == st.outstanding.end())
    return; // timed out, or failed when the node went down
  st.deadlines.remove(id, i->second.deadline);
  i->second.promise.deliver(std::forward<Result>(result));
  st.outstanding.erase(i);
}

/// After an answer: finish a go-away or a drain once nothing is left.
void settle(proxy_self self) {
  auto& st = self->state;
  if (!st.outstanding.empty())
    return;
  st.drains.release();
  if (st.leaving)
    self->quit();
}

void drop_routes(proxy_self self) {
  self->send(self->state.opts.router, node_drop_atom_v, self->state.opts.key,
             caf::actor_cast<caf::actor>(self));
}

caf::behavior node_proxy(proxy_self self, node_proxy_options opts) {
  auto& st = self->state;
  st.opts = std::move(opts);
  self->monitor(st.opts.endpoint);
  self->set_down_handler([self](const caf::down_msg& msg) {
    auto& s = self->state;
    if (msg.source != s.opts.endpoint.address())
      return;
    auto reason = caf::to_string(msg.reason);
    auto in_flight = s.outstanding.size();
    s.fail_all(to_error(make_status(
      errc::unavailable,
      absl::StrCat("node ", s.opts.key, " is down (", reason, ")"))));
    s.opts.log.warn("cluster.node_down", {{"node", s.opts.key},
                                          {"reason", reason},
                                          {"failed_in_flight", in_flight},
                                          {"forwarded", s.forwarded}});
    emit(self, "cluster.node_down", {{"node", s.opts.key}, {"reason", reason}});
    drop_routes(self);
    self->quit();
  });
  return {
    [self](request_atom, request& req) -> caf::result<response> {
      auto& s = self->state;
      if (req.body.is_file()) {
        // A file body would cross as empty bytes (payload's inspect):
        // read it, within a bound, or refuse.
        auto bytes = req.body.read_all(s.opts.max_body_bytes);
        if (!bytes.ok())
          return to_error(make_status(
            code_of(bytes.status()),
            absl::StrCat("cannot send the body to node ", s.opts.key, ": ",
                         bytes.status().message())));
        req.body = payload{std::move(*bytes)};
      }
      auto timeout = s.opts.handler_timeout;
      if (req.deadline_ns > 0) {
        auto left = absl::FromUnixNanos(req.deadline_ns) - absl::Now();
        timeout = std::max(left, absl::Milliseconds(1));
      }
      auto id = ++s.next_id;
      auto deadline = absl::Now() + timeout;
      auto promise = self->make_response_promise<response>();
      s.outstanding.emplace(id, node_proxy_state::pending{promise, deadline});
      s.deadlines.add(id, deadline);
      schedule_tick(self);
      ++s.forwarded;
      // No CAF timeout (see expiry_queue); the endpoint answers every
      // request, and the down handler covers a node that cannot.
      self->request(s.opts.endpoint, caf::infinite, request_atom_v,
                    std::move(req))
        .then(
          [self, id](response& rsp) {
            answer(self, id, std::move(rsp));
            settle(self);
          },
          [self, id](caf::error& err) {
            answer(self, id, std::move(err));
            settle(self);
          });
      return promise;
    },
    [self](tick_atom) {
      auto& s = self->state;
      s.tick_scheduled = false;
      s.deadlines.expire(absl::Now(), [&](std::uint64_t id) {
        auto i = s.outstanding.find(id);
        if (i == s.outstanding.end())
          return;
        i->second.promise.deliver(to_error(make_status(
          errc::deadline_exceeded,
          absl::StrCat("node ", s.opts.key, " did not answer in time"))));
        s.outstanding.erase(i);
      });
      schedule_tick(self);
      settle(self);
    },
    [self](leave_atom) {
      auto& s = self->state;
      if (s.leaving)
        return;
      s.leaving = true;
      s.opts.log.info("cluster.node_leaving",
                      {{"node", s.opts.key},
                       {"in_flight", s.outstanding.size()}});
      drop_routes(self);
      settle(self);
    },
    [self](drain_atom, caf::timespan) -> caf::result<ok_atom> {
      auto& s = self->state;
      return s.drains.wait(self, s.outstanding.empty());
    },
  };
}

} // namespace

caf::actor spawn_node_proxy(caf::actor_system& sys, node_proxy_options opts) {
  return sys.spawn(node_proxy, std::move(opts));
}

} // namespace weft::cluster
