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
  /// Requests forwarded and not answered yet.
  absl::flat_hash_map<std::uint64_t, caf::typed_response_promise<response>>
    outstanding;
  /// Drains waiting for outstanding to empty.
  std::vector<caf::typed_response_promise<ok_atom>> drains;
  /// Go-away received: exit once nothing is outstanding.
  bool leaving = false;
  /// Requests forwarded to the node over this proxy's life (logged).
  std::uint64_t forwarded = 0;

  /// Answers everything still outstanding with `err` (on any exit).
  void fail_all(const caf::error& err) {
    for (auto& [id, promise] : outstanding)
      promise.deliver(err);
    outstanding.clear();
    for (auto& d : drains)
      d.deliver(ok_atom_v);
    drains.clear();
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

/// After an answer: finish a go-away or a drain once nothing is left.
void settle(proxy_self self) {
  auto& st = self->state;
  if (!st.outstanding.empty())
    return;
  for (auto& d : st.drains)
    d.deliver(ok_atom_v);
  st.drains.clear();
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
      auto promise = self->make_response_promise<response>();
      s.outstanding.emplace(id, promise);
      ++s.forwarded;
      self
        ->request(s.opts.endpoint, absl::ToChronoNanoseconds(timeout),
                  request_atom_v, std::move(req))
        .then(
          [self, id](response& rsp) {
            auto& s2 = self->state;
            if (auto i = s2.outstanding.find(id); i != s2.outstanding.end()) {
              i->second.deliver(std::move(rsp));
              s2.outstanding.erase(i);
            }
            settle(self);
          },
          [self, id](caf::error& err) {
            auto& s2 = self->state;
            if (auto i = s2.outstanding.find(id); i != s2.outstanding.end()) {
              i->second.deliver(std::move(err));
              s2.outstanding.erase(i);
            }
            settle(self);
          });
      return promise;
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
      if (s.outstanding.empty())
        return ok_atom_v;
      auto promise = self->make_response_promise<ok_atom>();
      s.drains.push_back(promise);
      return promise;
    },
  };
}

} // namespace

caf::actor spawn_node_proxy(caf::actor_system& sys, node_proxy_options opts) {
  return sys.spawn(node_proxy, std::move(opts));
}

} // namespace weft::cluster
