#include "actors/router.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <absl/container/flat_hash_map.h>
#include <absl/strings/match.h>
#include <absl/strings/str_cat.h>
#include <absl/time/clock.h>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <google/protobuf/descriptor.h>

#include "actors/handler_worker.hpp"
#include "runtime/blueprint.hpp"
#include "runtime/body_codec.hpp"
#include "runtime/cluster_routes.hpp"
#include "runtime/error_bridge.hpp"
#include "runtime/http_path_pattern.hpp"
#include "runtime/node_services.hpp"
#include "runtime/route_table.hpp"
#include "runtime/type_ids.hpp"
#include "weft/routes.pb.h"

namespace weft {

namespace {

using google::protobuf::FieldDescriptor;

/// A pool of handler actors, serving one route or several.
struct served_pool {
  std::string name;
  /// How its actors are made and dispatched to.
  std::shared_ptr<const route_spec> spec;
  std::vector<caf::actor> workers;
  std::shared_ptr<pool_load> load;
  /// Why the pool is down ("" while it is up).
  std::string down_reason;
  std::deque<absl::Time> restarts;
};

/// A route the router serves.
struct served_route {
  std::string name;
  /// The route's spec, with the dispatch options of its pool.
  std::shared_ptr<const route_spec> spec;
  std::string pool;
  /// Blueprint middleware (outer first) and error handlers (inner first);
  /// the node's are added when a table is built.
  std::vector<std::shared_ptr<const middleware>> middlewares;
  std::vector<std::shared_ptr<const error_handler>> error_handlers;
  int key_field = 0;
};

/// A worker node that joined this (gateway) node: its proxy serves its
/// routes (docs/architecture.md, "Distribution").
struct remote_node {
  caf::actor proxy;
  /// Route name -> the gateway's spec of it (shared_ptr: shared with the
  /// bindings of every route table that has the route).
  absl::flat_hash_map<std::string, std::shared_ptr<const route_spec>> specs;
  absl::flat_hash_map<std::string, std::string> digests;
  /// The node's announced schemas, rebuilt when this program lacks some
  /// of its types (null otherwise). shared_ptr: the specs and the tables'
  /// schema registries point into it and keep it alive.
  std::shared_ptr<const announced_schemas> rebuilt;
};

struct router_state {
  logger log;
  /// Joined worker nodes by key (name@node id). Ordered: a route's remote
  /// workers are listed in key order, so keyed dispatch sends a key to
  /// the same node while the set of nodes stays the same.
  std::map<std::string, remote_node> nodes;
  /// Pool counters of routes served by node proxies, kept while their
  /// number of workers stays the same (shared_ptr: shared with the tables'
  /// bindings and the tickets of requests in flight).
  absl::flat_hash_map<std::string, std::shared_ptr<pool_load>> merged_loads;
  absl::flat_hash_map<std::string, served_route> routes;
  absl::flat_hash_map<std::string, served_pool> pools;
  std::vector<std::shared_ptr<const middleware>> node_middleware;
  std::vector<std::shared_ptr<const error_handler>> node_error_handlers;
  /// Handler actor -> the pool it belongs to.
  absl::flat_hash_map<caf::actor_addr, std::string> worker_pools;
  std::vector<caf::actor> subscribers;
  std::shared_ptr<const route_table> table;
  std::shared_ptr<const route_spec> listing_spec;
  std::shared_ptr<pool_load> listing_load;

  router_state() = default;
  router_state(const router_state&) = delete;
  router_state& operator=(const router_state&) = delete;

  /// The handler actors the router made go down with it; actors a user
  /// registered (route_actor) are the user's.
  ~router_state() {
    for (auto& entry : pools) {
      auto& pool = entry.second;
      if (!pool.spec->actor) {
        for (auto& w : pool.workers)
          caf::anon_send_exit(w, caf::exit_reason::user_shutdown);
      }
    }
  }

  static inline const char* name = "weft.router";
};

using router_self = caf::stateful_actor<router_state>*;

std::string join(const std::string& prefix, const std::string& name) {
  if (prefix.empty())
    return name;
  if (name.empty())
    return prefix;
  return absl::StrCat(prefix, ".", name);
}

/// The field number of a by_key route's key, 0 for a metadata key.
absl::StatusOr<int> key_field_of(const std::string& route,
                                 const route_spec& spec) {
  const auto& opts = spec.options;
  if (opts.dispatch != dispatch_policy::by_key)
    return 0;
  if (opts.key.empty())
    return make_status(errc::invalid_argument,
                       absl::StrCat("route '", route,
                                    "' dispatches by key but names none"));
  if (!spec.request_prototype)
    return 0; // a metadata key
  const auto* type = spec.request_prototype->GetDescriptor();
  const auto* field = type->FindFieldByName(opts.key);
  if (!field)
    return make_status(errc::invalid_argument,
                       absl::StrCat("route '", route, "': ", type->full_name(),
                                    " has no field '", opts.key, "'"));
  if (field->is_repeated()
      || field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE
      || field->cpp_type() == FieldDescriptor::CPPTYPE_FLOAT
      || field->cpp_type() == FieldDescriptor::CPPTYPE_DOUBLE)
    return make_status(errc::invalid_argument,
                       absl::StrCat("route '", route, "': key field '",
                                    opts.key,
                                    "' must be a single string, bytes, "
                                    "integer, bool or enum"));
  return field->number();
}

absl::Status check_options(const std::string& what, const route_options& o) {
  if (o.workers == 0 || o.workers > 4096)
    return make_status(errc::invalid_argument,
                       absl::StrCat(what, ": workers must be 1..4096"));
  if (o.max_queue == 0)
    return make_status(errc::invalid_argument,
                       absl::StrCat(what, ": max_queue must be positive"));
  if (o.dispatch == dispatch_policy::by_key && o.key.empty())
    return make_status(errc::invalid_argument,
                       absl::StrCat(what, " dispatches by key but names none"));
  return absl::OkStatus();
}

absl::Status check_handler(const std::string& name, const route_spec& spec) {
  bool has_handler = false;
  switch (spec.form) {
    case handler_form::function:
      has_handler = static_cast<bool>(spec.sync);
      break;
    case handler_form::async:
      has_handler = static_cast<bool>(spec.async);
      break;
    case handler_form::actor:
      has_handler = spec.actor || spec.factory;
      break;
  }
  if (!has_handler)
    return make_status(errc::invalid_argument,
                       absl::StrCat("route '", name, "' has no handler"));
  return absl::OkStatus();
}

/// Flattens `bp` (and what it mounts) into routes with full names and the
/// pools it declares.
void flatten(const blueprint& bp, const std::string& outer_prefix,
             std::vector<std::shared_ptr<const middleware>> mw,
             const std::vector<std::shared_ptr<const error_handler>>& outer_eh,
             std::vector<served_route>& routes,
             std::vector<std::shared_ptr<const route_spec>>& pools) {
  auto prefix = join(outer_prefix, bp.prefix());
  mw.insert(mw.end(), bp.middlewares().begin(), bp.middlewares().end());
  auto eh = bp.error_handlers();
  eh.insert(eh.end(), outer_eh.begin(), outer_eh.end());
  pools.insert(pools.end(), bp.pools().begin(), bp.pools().end());
  for (const auto& spec : bp.routes()) {
    served_route r;
    r.name = join(prefix, spec->name);
    r.spec = spec;
    r.middlewares = mw;
    r.error_handlers = eh;
    routes.push_back(std::move(r));
  }
  for (const auto& child : bp.children())
    flatten(child, prefix, mw, eh, routes, pools);
}

caf::actor spawn_worker(router_self self,
                        const std::shared_ptr<const route_spec>& spec) {
  if (spec->form == handler_form::actor)
    return spec->actor ? spec->actor : spec->factory(self->system());
  return spawn_handler_worker(self->system(), spec);
}

/// Starts the actors of a new pool.
served_pool start_pool(router_self self, std::string name,
                       std::shared_ptr<const route_spec> spec) {
  auto& st = self->state;
  served_pool pool;
  pool.name = std::move(name);
  pool.spec = std::move(spec);
  auto n = pool.spec->actor ? 1 : pool.spec->options.workers;
  pool.load = std::make_shared<pool_load>(n, pool.spec->options.max_queue);
  for (std::size_t i = 0; i < n; ++i) {
    auto w = spawn_worker(self, pool.spec);
    if (!w) {
      pool.down_reason = "its factory made no actor";
      pool.workers.clear();
      break;
    }
    self->monitor(w);
    st.worker_pools[w.address()] = pool.name;
    pool.workers.push_back(std::move(w));
  }
  return pool;
}

/// The node proxies serving route `name`, in node-key order.
std::vector<caf::actor> remote_workers(router_self self,
                                       const std::string& name,
                                       std::uint64_t* max_queue = nullptr) {
  std::vector<caf::actor> out;
  for (const auto& [key, node] : self->state.nodes)
    if (auto i = node.specs.find(name); i != node.specs.end()) {
      out.push_back(node.proxy);
      if (max_queue)
        *max_queue += i->second->options.max_queue;
    }
  return out;
}

/// The shared counters of a route served (also) by node proxies.
std::shared_ptr<pool_load> merged_load(router_self self,
                                       const std::string& name,
                                       std::size_t workers,
                                       std::uint64_t max_queue) {
  auto& slot = self->state.merged_loads[name];
  if (!slot || slot->workers() != workers)
    slot = std::make_shared<pool_load>(workers, max_queue);
  return slot;
}

void publish(router_self self) {
  auto& st = self->state;
  auto table = std::make_shared<route_table>();
  table->version = (st.table ? st.table->version : 0) + 1;
  auto schemas = std::make_shared<schema_registry>();
  for (const auto& [name, route] : st.routes) {
    const auto& pool = st.pools.at(route.pool);
    auto b = std::make_shared<route_binding>();
    b->name = name;
    b->spec = route.spec;
    b->workers = pool.workers;
    b->down_reason = pool.down_reason;
    b->load = pool.load;
    std::uint64_t max_queue = route.spec->options.max_queue;
    if (auto remote = remote_workers(self, name, &max_queue);
        !remote.empty()) {
      // Local handler actors first, then the nodes; no batches across
      // nodes (a node proxy takes requests one by one).
      b->workers.insert(b->workers.end(), remote.begin(), remote.end());
      b->load = merged_load(self, name, b->workers.size(), max_queue);
      b->down_reason.clear();
    }
    b->middlewares = st.node_middleware;
    b->middlewares.insert(b->middlewares.end(), route.middlewares.begin(),
                          route.middlewares.end());
    b->error_handlers = route.error_handlers;
    b->error_handlers.insert(b->error_handlers.end(),
                             st.node_error_handlers.begin(),
                             st.node_error_handlers.end());
    b->batches = b->workers.size() == pool.workers.size()
                 && (pool.spec->form == handler_form::function
                     || (pool.spec->form == handler_form::actor
                         && pool.spec->options.accepts_batches));
    b->key_field = route.key_field;
    table->routes.emplace(name, std::move(b));
  }
  // Routes only worker nodes serve.
  for (const auto& [key, node] : st.nodes) {
    for (const auto& [name, spec] : node.specs) {
      if (st.routes.contains(name) || table->routes.contains(name))
        continue;
      auto b = std::make_shared<route_binding>();
      b->name = name;
      b->spec = spec;
      std::uint64_t max_queue = 0;
      b->workers = remote_workers(self, name, &max_queue);
      b->load = merged_load(self, name, b->workers.size(), max_queue);
      b->middlewares = st.node_middleware;
      b->error_handlers = st.node_error_handlers;
      auto field = key_field_of(name, *spec);
      b->key_field = field.ok() ? *field : 0;
      for (const auto* proto : {spec->request_prototype, spec->reply_prototype})
        if (proto == nullptr)
          continue;
        else if (node.rebuilt
                 && proto->GetDescriptor()->file()->pool() == &node.rebuilt->pool)
          schemas->add_dynamic(proto->GetDescriptor(), &node.rebuilt->factory,
                               node.rebuilt);
        else
          schemas->add(proto->GetDescriptor());
      table->routes.emplace(name, std::move(b));
    }
  }
  for (const auto& [name, route] : st.routes) {
    for (const auto* proto :
         {route.spec->request_prototype, route.spec->reply_prototype})
      if (proto)
        schemas->add(proto->GetDescriptor());
  }
  schemas->add(weft::wire::RouteListing::descriptor());
  table->schemas = std::move(schemas);
  auto listing = std::make_shared<route_binding>();
  listing->name = routes_route;
  listing->spec = st.listing_spec;
  listing->workers = {caf::actor_cast<caf::actor>(self)};
  listing->load = st.listing_load;
  listing->middlewares = st.node_middleware;
  listing->error_handlers = st.node_error_handlers;
  table->routes.emplace(routes_route, std::move(listing));
  st.table = std::move(table);
  route_table_ref ref{st.table, st.table->version};
  for (const auto& sub : st.subscribers)
    self->send(sub, routes_atom_v, ref);
}

/// The name of the pool of its own that a route without a shared pool gets.
std::string own_pool(const std::string& route) {
  return absl::StrCat("route:", route);
}

absl::Status register_blueprint(router_self self, const blueprint& bp) {
  auto& st = self->state;
  std::vector<served_route> fresh;
  std::vector<std::shared_ptr<const route_spec>> fresh_pools;
  flatten(bp, "", {}, {}, fresh, fresh_pools);
  // Check everything before starting anything: a bad blueprint serves
  // nothing.
  absl::flat_hash_map<std::string, std::shared_ptr<const route_spec>> pools;
  for (const auto& p : fresh_pools) {
    auto what = absl::StrCat("pool '", p->pool, "'");
    if (p->pool.empty())
      return make_status(errc::invalid_argument, "a pool needs a name");
    if (st.pools.contains(p->pool) || !pools.emplace(p->pool, p).second)
      return make_status(errc::already_exists,
                         absl::StrCat(what, " is declared already"));
    if (!p->factory)
      return make_status(errc::invalid_argument,
                         absl::StrCat(what, " has no factory"));
    if (auto ok = check_options(what, p->options); !ok.ok())
      return ok;
  }
  absl::flat_hash_map<std::string, int> seen;
  for (auto& r : fresh) {
    auto what = absl::StrCat("route '", r.name, "'");
    if (r.name.empty())
      return make_status(errc::invalid_argument, "a route needs a name");
    if (r.name == routes_route || st.routes.contains(r.name)
        || !seen.emplace(r.name, 0).second)
      return make_status(errc::already_exists,
                         absl::StrCat(what, " is registered already"));
    if (!r.spec->http_path.empty()) {
      if (auto pattern = http_path_pattern::parse(r.spec->http_path);
          !pattern.ok())
        return pattern.status();
      // One route per method and path, whatever blueprints they are in.
      auto key = absl::StrCat(r.spec->http_method, " ", r.spec->http_path);
      bool taken = !seen.emplace(absl::StrCat("http:", key), 0).second;
      for (const auto& [name, served] : st.routes)
        taken = taken
                || (served.spec->http_method == r.spec->http_method
                    && served.spec->http_path == r.spec->http_path);
      if (taken)
        return make_status(errc::already_exists,
                           absl::StrCat("HTTP route ", key,
                                        " is registered already"));
    }
    if (r.spec->pool.empty()) {
      r.pool = own_pool(r.name);
      if (auto ok = check_handler(r.name, *r.spec); !ok.ok())
        return ok;
    } else {
      r.pool = r.spec->pool;
      std::shared_ptr<const route_spec> pool_spec;
      if (auto i = pools.find(r.pool); i != pools.end())
        pool_spec = i->second;
      else if (auto j = st.pools.find(r.pool); j != st.pools.end())
        pool_spec = j->second.spec;
      if (!pool_spec)
        return make_status(errc::invalid_argument,
                           absl::StrCat(what, " names no declared pool '",
                                        r.pool, "'"));
      // The route dispatches as its pool does.
      auto merged = std::make_shared<route_spec>(*r.spec);
      merged->options = pool_spec->options;
      r.spec = std::move(merged);
    }
    if (auto ok = check_options(what, r.spec->options); !ok.ok())
      return ok;
    auto key = key_field_of(r.name, *r.spec);
    if (!key.ok())
      return key.status();
    r.key_field = *key;
  }
  for (auto& [name, spec] : pools)
    st.pools.emplace(name, start_pool(self, name, spec));
  for (auto& r : fresh) {
    if (r.spec->pool.empty())
      st.pools.emplace(r.pool, start_pool(self, r.pool, r.spec));
    st.log.info("route.registered",
                {{"route", r.name},
                 {"form", to_string(r.spec->form)},
                 {"request", r.spec->request_type},
                 {"reply", r.spec->reply_type},
                 {"pool", r.pool},
                 {"workers", st.pools.at(r.pool).workers.size()}});
    if (auto* services = services_of(self->system())) {
      event ev;
      ev.name = "route.registered";
      ev.attributes = {{"route", r.name},
                       {"pool", r.pool},
                       {"workers",
                        std::to_string(st.pools.at(r.pool).workers.size())}};
      services->emit(std::move(ev));
    }
    auto name = r.name;
    st.routes.emplace(std::move(name), std::move(r));
  }
  publish(self);
  return absl::OkStatus();
}

/// A handler actor went down: restart it, or take its pool down.
void on_worker_down(router_self self, const std::string& name,
                    const caf::down_msg& msg) {
  auto& st = self->state;
  auto found = st.pools.find(name);
  if (found == st.pools.end())
    return;
  auto& pool = found->second;
  auto slot = std::find_if(pool.workers.begin(), pool.workers.end(),
                           [&](const caf::actor& w) {
                             return w.address() == msg.source;
                           });
  if (slot == pool.workers.end())
    return;
  auto reason = caf::to_string(msg.reason);
  auto now = absl::Now();
  const auto& policy = pool.spec->options.restart;
  while (!pool.restarts.empty() && now - pool.restarts.front() > policy.window)
    pool.restarts.pop_front();
  bool restartable = !pool.spec->actor;
  if (restartable
      && static_cast<int>(pool.restarts.size()) < policy.max_restarts) {
    pool.restarts.push_back(now);
    auto w = spawn_worker(self, pool.spec);
    if (w) {
      self->monitor(w);
      st.worker_pools[w.address()] = name;
      *slot = std::move(w);
      st.log.warn("route.worker_restarted",
                  {{"pool", name}, {"reason", reason},
                   {"restarts", pool.restarts.size()}});
      publish(self);
      return;
    }
  }
  pool.down_reason
    = restartable
        ? absl::StrCat("its handler failed ", pool.restarts.size() + 1,
                       " times within ", absl::FormatDuration(policy.window),
                       " (last: ", reason, ")")
        : absl::StrCat("its actor exited (", reason, ")");
  st.log.error("route.down", {{"pool", name}, {"reason", pool.down_reason}});
  for (auto& w : pool.workers) {
    st.worker_pools.erase(w.address());
    if (restartable && w.address() != msg.source)
      self->send_exit(w, caf::exit_reason::user_shutdown);
  }
  pool.workers.clear();
  publish(self);
}

response listing(router_self self) {
  auto& st = self->state;
  weft::wire::RouteListing out;
  auto add = [&](const std::string& name, const route_spec& spec,
                 std::size_t workers) {
    auto* r = out.add_routes();
    r->set_route(name);
    r->set_request_type(spec.request_type);
    r->set_reply_type(spec.reply_type);
    r->set_form(to_string(spec.form));
    r->set_workers(static_cast<std::uint32_t>(workers));
    if (spec.options.workers > 1
        || spec.options.dispatch == dispatch_policy::by_key)
      r->set_dispatch(to_string(spec.options.dispatch, spec.options.key));
  };
  std::vector<const served_route*> sorted;
  for (const auto& [name, route] : st.routes)
    sorted.push_back(&route);
  std::sort(sorted.begin(), sorted.end(),
            [](auto* a, auto* b) { return a->name < b->name; });
  for (const auto* r : sorted)
    add(r->name, *r->spec,
        st.pools.at(r->pool).workers.size()
          + remote_workers(self, r->name).size());
  // Routes only worker nodes serve: one worker per node.
  std::map<std::string, std::shared_ptr<const route_spec>> remote_only;
  for (const auto& [key, node] : st.nodes)
    for (const auto& [name, spec] : node.specs)
      if (!st.routes.contains(name))
        remote_only.emplace(name, spec);
  for (const auto& [name, spec] : remote_only)
    add(name, *spec, remote_workers(self, name).size());
  add(routes_route, *st.listing_spec, 1);
  return encode_message(out);
}

/// Why `r`, announced by a worker node, cannot be merged with a route of
/// the same name served here or by another node; "" when it can.
std::string conflict_of(router_self self, const std::string& key,
                        const remote_route& r) {
  auto& st = self->state;
  auto differs = [&](const std::string& req, const std::string& rep,
                     const std::string& digest, dispatch_policy dispatch,
                     const std::string& dkey) -> std::string {
    if (req != r.request_type || rep != r.reply_type)
      return absl::StrCat("types ", req, " -> ", rep, " against ",
                          r.request_type, " -> ", r.reply_type);
    if (digest != r.schema_digest)
      return absl::StrCat("a different schema of ", req, " or ", rep);
    if (static_cast<std::uint8_t>(dispatch) != r.dispatch || dkey != r.key)
      return "a different dispatch policy or key";
    return {};
  };
  auto http_differs = [&](const route_spec& spec) -> std::string {
    if (spec.http_method != r.http_method || spec.http_path != r.http_path)
      return absl::StrCat("HTTP '", spec.http_method, " ", spec.http_path,
                          "' against '", r.http_method, " ", r.http_path,
                          "'");
    return {};
  };
  if (absl::StartsWith(r.name, "weft.") || r.name == routes_route)
    return "built-in route names are reserved";
  // One route per HTTP method and path across the cluster, as on one node.
  if (!r.http_path.empty()) {
    auto same_http = [&](const route_spec& spec, const std::string& name) {
      return name != r.name && spec.http_method == r.http_method
             && spec.http_path == r.http_path;
    };
    for (const auto& [name, served] : st.routes)
      if (same_http(*served.spec, name))
        return absl::StrCat("HTTP ", r.http_method, " ", r.http_path,
                            " is served here by route '", name, "'");
    for (const auto& [other, node] : st.nodes)
      if (other != key)
        for (const auto& [name, spec] : node.specs)
          if (same_http(*spec, name))
            return absl::StrCat("HTTP ", r.http_method, " ", r.http_path,
                                " is served by node ", other, " as route '",
                                name, "'");
  }
  if (auto i = st.routes.find(r.name); i != st.routes.end()) {
    const auto& spec = *i->second.spec;
    if (auto why = differs(spec.request_type, spec.reply_type,
                           schema_digest(spec), spec.options.dispatch,
                           spec.options.key);
        !why.empty())
      return absl::StrCat("route '", r.name, "' is served here with ", why);
    if (auto why = http_differs(spec); !why.empty())
      return absl::StrCat("route '", r.name, "' is served here with ", why);
  }
  for (const auto& [other, node] : st.nodes) {
    if (other == key)
      continue;
    auto i = node.specs.find(r.name);
    if (i == node.specs.end())
      continue;
    const auto& spec = *i->second;
    if (auto why = differs(spec.request_type, spec.reply_type,
                           node.digests.at(r.name), spec.options.dispatch,
                           spec.options.key);
        !why.empty())
      return absl::StrCat("route '", r.name, "' is served by node ", other,
                          " with ", why);
    if (auto why = http_differs(spec); !why.empty())
      return absl::StrCat("route '", r.name, "' is served by node ", other,
                          " with ", why);
  }
  return {};
}

/// Merges the routes of worker node `key` (served by `proxy`).
absl::Status add_node(router_self self, const std::string& key,
                      const caf::actor& proxy,
                      const cluster_announcement& ann) {
  auto& st = self->state;
  for (const auto& r : ann.routes)
    if (auto why = conflict_of(self, key, r); !why.empty())
      return make_status(errc::already_exists,
                         absl::StrCat("node ", key, " conflicts: ", why));
  remote_node node;
  node.proxy = proxy;
  if (std::any_of(ann.routes.begin(), ann.routes.end(),
                  needs_announced_schemas)) {
    // This program lacks some of the node's types: convert JSON with the
    // schemas it sent. Without them its routes still work, as bytes.
    if (auto rebuilt = rebuild_schemas(ann.schemas); rebuilt.ok())
      node.rebuilt = std::move(*rebuilt);
    else
      st.log.warn("route.node_schemas",
                  {{"node", key}, {"error", rebuilt.status()}});
  }
  for (const auto& r : ann.routes) {
    node.specs.emplace(r.name, remote_route_spec(r, node.rebuilt));
    node.digests.emplace(r.name, r.schema_digest);
  }
  auto& slot = st.nodes[key];
  if (slot.proxy != proxy)
    self->monitor(proxy); // else: the node announced again (routes changed)
  slot = std::move(node);
  st.log.info("route.node_added",
              {{"node", key}, {"routes", ann.routes.size()}});
  publish(self);
  return absl::OkStatus();
}

caf::behavior router(router_self self, logger log) {
  auto& st = self->state;
  st.log = std::move(log);
  auto spec = std::make_shared<route_spec>();
  spec->name = routes_route;
  spec->form = handler_form::actor;
  spec->reply_type = weft::wire::RouteListing::descriptor()->full_name();
  spec->reply_prototype = &weft::wire::RouteListing::default_instance();
  st.listing_spec = std::move(spec);
  st.listing_load = std::make_shared<pool_load>(1, 1024);
  self->set_down_handler([self](const caf::down_msg& msg) {
    auto& s = self->state;
    if (auto w = s.worker_pools.find(msg.source); w != s.worker_pools.end()) {
      auto name = w->second;
      s.worker_pools.erase(w);
      on_worker_down(self, name, msg);
      return;
    }
    for (auto i = s.nodes.begin(); i != s.nodes.end(); ++i)
      if (i->second.proxy.address() == msg.source) {
        s.log.info("route.node_removed", {{"node", i->first}});
        s.nodes.erase(i);
        publish(self);
        return;
      }
    auto& subs = s.subscribers;
    subs.erase(std::remove_if(subs.begin(), subs.end(),
                              [&](const caf::actor& a) {
                                return a.address() == msg.source;
                              }),
               subs.end());
  });
  publish(self);
  return {
    [self](register_atom, const blueprint_ref& bp) -> caf::result<ok_atom> {
      if (!bp.ptr)
        return to_error(make_status(errc::invalid_argument, "no blueprint"));
      if (auto done = register_blueprint(self, *bp.ptr); !done.ok())
        return to_error(done);
      return ok_atom_v;
    },
    [self](use_atom, const blueprint_ref& bp) -> caf::result<ok_atom> {
      if (!bp.ptr)
        return to_error(make_status(errc::invalid_argument, "no blueprint"));
      auto& s = self->state;
      const auto& mw = bp.ptr->middlewares();
      s.node_middleware.insert(s.node_middleware.end(), mw.begin(), mw.end());
      const auto& eh = bp.ptr->error_handlers();
      s.node_error_handlers.insert(s.node_error_handlers.end(), eh.begin(),
                                   eh.end());
      publish(self);
      return ok_atom_v;
    },
    [self](subscribe_atom, const caf::actor& who) -> route_table_ref {
      auto& s = self->state;
      if (who) {
        self->monitor(who);
        s.subscribers.push_back(who);
      }
      return {s.table, s.table->version};
    },
    [self](routes_atom) -> route_table_ref {
      return {self->state.table, self->state.table->version};
    },
    [self](request_atom, const request&) -> response {
      return listing(self);
    },
    [self](node_routes_atom, const std::string& key, const caf::actor& proxy,
           const cluster_announcement& ann) -> caf::result<ok_atom> {
      if (auto done = add_node(self, key, proxy, ann); !done.ok())
        return to_error(done);
      return ok_atom_v;
    },
    [self](node_drop_atom, const std::string& key, const caf::actor& proxy) {
      auto& s = self->state;
      auto i = s.nodes.find(key);
      if (i == s.nodes.end() || i->second.proxy != proxy)
        return; // replaced by a newer join of the same node
      s.log.info("route.node_removed", {{"node", key}});
      s.nodes.erase(i);
      publish(self);
    },
  };
}

} // namespace

caf::actor spawn_router(caf::actor_system& sys, logger log) {
  return sys.spawn(router, std::move(log));
}

} // namespace weft
