#include "actors/cluster/cluster_hub.hpp"

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include <absl/strings/str_cat.h>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/response_promise.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/cluster/node_proxy.hpp"
#include "runtime/error_bridge.hpp"
#include "runtime/event.hpp"
#include "runtime/node_services.hpp"
#include "runtime/type_ids.hpp"

namespace weft::cluster {

namespace {

struct cluster_hub_state {
  cluster_hub_options opts;
  /// Node key -> its proxy.
  std::map<std::string, caf::actor> proxies;
  /// Node key -> the worker endpoint its proxy serves.
  std::map<std::string, caf::actor> endpoints;

  ~cluster_hub_state() {
    for (auto& [key, proxy] : proxies)
      caf::anon_send_exit(proxy, caf::exit_reason::user_shutdown);
  }

  static inline const char* name = "weft.cluster_hub";
};

using hub_self = caf::stateful_actor<cluster_hub_state>*;

void emit(hub_self self, const char* name, event_attributes attrs) {
  if (auto* services = services_of(self->system())) {
    event ev;
    ev.name = name;
    ev.attributes = std::move(attrs);
    services->emit(std::move(ev));
  }
}

caf::behavior cluster_hub(hub_self self, cluster_hub_options opts) {
  self->state.opts = std::move(opts);
  self->set_down_handler([self](const caf::down_msg& msg) {
    auto& ps = self->state.proxies;
    for (auto i = ps.begin(); i != ps.end(); ++i)
      if (i->second.address() == msg.source) {
        self->state.endpoints.erase(i->first);
        ps.erase(i);
        self->state.opts.log.info("cluster.nodes", {{"up", ps.size()}});
        return;
      }
  });
  return {
    [self](join_atom, const cluster_announcement& ann,
           const caf::actor& endpoint) -> caf::result<ok_atom> {
      auto& st = self->state;
      if (!endpoint)
        return to_error(make_status(errc::invalid_argument, "no endpoint"));
      auto key = absl::StrCat(ann.node, "@", caf::to_string(endpoint.node()));
      if (auto old = st.proxies.find(key);
          old != st.proxies.end() && st.endpoints[key] == endpoint) {
        // The same endpoint announces again (its routes changed, or its
        // joiner retried): update the routes, keep the proxy and what it
        // has in flight.
        auto promise = self->make_response_promise<ok_atom>();
        auto proxy = old->second;
        self
          ->request(st.opts.router, std::chrono::seconds(10),
                    node_routes_atom_v, key, proxy, ann)
          .then(
            [self, promise, key, routes = ann.routes.size()](ok_atom) mutable {
              self->state.opts.log.info("cluster.node_routes",
                                        {{"node", key}, {"routes", routes}});
              emit(self, "cluster.node_routes",
                   {{"node", key}, {"routes", std::to_string(routes)}});
              promise.deliver(ok_atom_v);
            },
            [self, promise, key](caf::error& err) mutable {
              self->state.opts.log.error(
                "cluster.join_rejected",
                {{"node", key}, {"error", to_status(err)}});
              promise.deliver(std::move(err));
            });
        return promise;
      }
      if (auto old = st.proxies.find(key); old != st.proxies.end()) {
        // The same node joined again (it saw its link die first): its old
        // proxy answers what it still holds with unavailable.
        self->demonitor(old->second);
        self->send_exit(old->second, caf::exit_reason::user_shutdown);
        st.proxies.erase(old);
        st.endpoints.erase(key);
      }
      node_proxy_options popts;
      popts.key = key;
      popts.endpoint = endpoint;
      popts.router = st.opts.router;
      popts.handler_timeout = st.opts.handler_timeout;
      popts.max_body_bytes = st.opts.max_body_bytes;
      popts.log = st.opts.log;
      auto proxy = spawn_node_proxy(self->system(), std::move(popts));
      auto promise = self->make_response_promise<ok_atom>();
      self
        ->request(st.opts.router, std::chrono::seconds(10), node_routes_atom_v,
                  key, proxy, ann)
        .then(
          [self, promise, key, proxy, endpoint,
           routes = ann.routes.size()](ok_atom) mutable {
            auto& s = self->state;
            self->monitor(proxy);
            s.proxies[key] = proxy;
            s.endpoints[key] = endpoint;
            s.opts.log.info("cluster.node_up", {{"node", key},
                                                {"routes", routes},
                                                {"up", s.proxies.size()}});
            emit(self, "cluster.node_up", {{"node", key}});
            promise.deliver(ok_atom_v);
          },
          [self, promise, key, proxy](caf::error& err) mutable {
            self->send_exit(proxy, caf::exit_reason::user_shutdown);
            self->state.opts.log.error(
              "cluster.join_rejected",
              {{"node", key}, {"error", to_status(err)}});
            promise.deliver(std::move(err));
          });
      return promise;
    },
    [self](leave_atom, const std::string& key) {
      auto& st = self->state;
      if (auto i = st.proxies.find(key); i != st.proxies.end())
        self->send(i->second, leave_atom_v);
    },
    [self](drain_atom, caf::timespan budget) -> caf::result<ok_atom> {
      auto& st = self->state;
      if (st.proxies.empty())
        return ok_atom_v;
      auto promise = self->make_response_promise<ok_atom>();
      // shared_ptr: one countdown shared by the answer handler of each proxy.
      auto left = std::make_shared<std::size_t>(st.proxies.size());
      for (auto& [key, proxy] : st.proxies)
        self->request(proxy, budget, drain_atom_v, budget)
          .then([promise, left](ok_atom) mutable {
                  if (--*left == 0)
                    promise.deliver(ok_atom_v);
                },
                [promise, left](caf::error&) mutable {
                  if (--*left == 0)
                    promise.deliver(ok_atom_v);
                });
      return promise;
    },
  };
}

} // namespace

caf::actor spawn_cluster_hub(caf::actor_system& sys,
                             cluster_hub_options opts) {
  return sys.spawn(cluster_hub, std::move(opts));
}

} // namespace weft::cluster
