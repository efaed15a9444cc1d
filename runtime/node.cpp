#include "runtime/node.hpp"

#include <sched.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/send.hpp>

#include <absl/strings/str_cat.h>

#include "actors/background_pool.hpp"
#include "actors/client_registry.hpp"
#include "actors/cluster/cluster_hub.hpp"
#include "actors/cluster/cluster_joiner.hpp"
#include "actors/cluster/worker_endpoint.hpp"
#include "actors/event_bus.hpp"
#include "actors/router.hpp"
#include "runtime/error_bridge.hpp"
#include "runtime/io/embedded_scheduler.hpp"
#include "runtime/node_services.hpp"
#include "runtime/protocol/spill_files.hpp"
#include "runtime/type_ids.hpp"
#include "runtime/version.hpp"
#include "weft/registry.pb.h"

namespace weft {

namespace {

/// CPUs up to which `--io-mode auto` runs the reactors on the workers.
/// Measured on 2 (docs/benchmarks.md, "Standing"): every echo cell, the
/// head-of-line p99 and HTTP on two cores were as good or better there than
/// with reactor threads of their own, which compete with the workers for
/// the cores; on one CPU nothing could overlap anyway. Unmeasured above.
constexpr std::size_t workers_up_to_cpus = 2;

/// --io-mode: "auto" runs the reactors on the workers on few CPUs, where
/// one thread that reads a connection, runs its actor and writes its
/// replies saves every hand-off (docs/configuration.md).
bool reactors_on_workers(const std::string& mode) {
  if (mode == "auto")
    return usable_cpus() <= workers_up_to_cpus;
  return mode == "workers";
}

} // namespace

/// The CAF config must outlive the system built from it; both live here.
struct node::system_holder {
  explicit system_holder(const node_config& cfg) {
    caf_config.set("scheduler.max-threads", cfg.effective_scheduler_threads());
    caf_config.set("scheduler.policy", caf::atom_from_string(cfg.scheduler_policy));
    caf_config.add_message_types<caf::id_block::weft>();
    if (reactors_on_workers(cfg.io_mode))
      io::embed_reactors(caf_config);
    if (cfg.clustered()) {
      // The middleman (BASP) only for nodes that listen for or join others:
      // it starts a multiplexer thread and the middleman's actors.
      // Heartbeats and the connection timeout are off in CAF 0.17 unless
      // set: then a frozen or partitioned peer is never declared down.
      caf_config.load<caf::io::middleman>();
      caf_config.set("middleman.heartbeat-interval",
                     caf::timespan{absl::ToChronoNanoseconds(
                       cfg.node_heartbeat_interval)});
      caf_config.set("middleman.connection-timeout",
                     caf::timespan{
                       absl::ToChronoNanoseconds(cfg.node_timeout)});
      // Validated by node::start before this runs.
      if (cfg.node_tls.enabled())
        apply_node_tls(caf_config, cfg.node_tls);
    }
    system = std::make_unique<caf::actor_system>(caf_config);
  }

  node_system_config caf_config;
  std::unique_ptr<caf::actor_system> system;
};

namespace {

blueprint builtin_routes(const caf::actor& registry);

/// The node's services as its handlers and gateways see them.
class services_impl final : public node_services {
public:
  services_impl(caf::actor registry, event_bus bus, background_pool pool)
    : registry_(std::move(registry)),
      bus_(std::move(bus)),
      pool_(std::move(pool)) {
  }

  void push(const std::string& client_id, push_message msg) override {
    caf::anon_send(registry_, push_atom_v, client_id, std::move(msg));
  }

  void publish(const std::string& topic, push_message msg) override {
    caf::anon_send(registry_, publish_atom_v, topic, std::move(msg));
  }

  void subscribe(const std::string& client_id,
                 const std::string& topic) override {
    caf::anon_send(registry_, join_topic_atom_v, client_id, topic);
  }

  void broadcast(push_message msg) override {
    caf::anon_send(registry_, broadcast_atom_v, std::move(msg));
  }

  void emit(event ev) override {
    (void)bus_.emit(std::move(ev)); // only fails once the bus stopped
  }

  absl::Status background(std::function<void()> task) override {
    return pool_.submit(std::move(task));
  }

private:
  caf::actor registry_;
  event_bus bus_;
  background_pool pool_;
};

} // namespace

node::node(passkey, node_config cfg, logger log)
  : config_(std::move(cfg)), log_(log) {}

namespace {

/// --io-relay: "auto" is on when this process may run on one CPU only,
/// where every hand-off from a reactor would wake a CAF worker that
/// preempts it (docs/configuration.md).
bool relay_wanted(const std::string& mode) {
  if (mode != "auto")
    return mode == "on";
  return usable_cpus() == 1;
}

} // namespace

absl::StatusOr<std::unique_ptr<node>> node::start(node_config cfg, logger log) {
  auto result = std::make_unique<node>(passkey{}, std::move(cfg), log);
  if (result->config_.thread_policy == "batch") {
    // On Linux the policy is per thread, and threads inherit their
    // creator's: set here, it reaches CAF's workers and the reactors.
    sched_param param{};
    if (::sched_setscheduler(0, SCHED_BATCH, &param) != 0)
      return make_status(errc::internal,
                         absl::StrCat("cannot set SCHED_BATCH: ",
                                      std::strerror(errno)));
  }
  // libcaf_openssl loads these files again for every connection, on its
  // I/O thread, and ends the process if that fails: check them now.
  if (auto st = validate_node_tls(result->config_.node_tls); !st.ok())
    return st;
  if (result->config_.node_tls.enabled() && !result->config_.clustered())
    log.warn("node.tls_unused",
             {{"reason", "node TLS is set but neither --node-listen nor "
                         "--join"}});
  result->system_ = std::make_unique<system_holder>(result->config_);
  result->root_ = spawn_node_actor(*result->system_->system, log);
  if (!result->root_)
    return make_status(errc::internal, "cannot spawn the node actor");
  io::reactor_options io_opts;
  io_opts.on_workers = reactors_on_workers(result->config_.io_mode);
  io_opts.threads = result->config_.io_threads;
  io_opts.relay = relay_wanted(result->config_.io_relay);
  io_opts.yield_after_writes = result->config_.yield_after_writes == "on";
  io_opts.log = log;
  auto pool = io::reactor_pool::start(*result->system_->system, io_opts);
  if (!pool.ok())
    return pool.status();
  result->reactors_ = std::move(*pool);
  auto& sys = *result->system_->system;
  result->router_ = spawn_router(sys, log);
  result->own(result->router_);
  result->registry_ = spawn_client_registry(sys, log);
  result->own(result->registry_);
  result->bus_ = spawn_event_bus(sys, log);
  result->own(caf::actor_cast<caf::actor>(result->bus_.actor()));
  result->scheduler_ = spawn_task_scheduler(sys, {}, log);
  result->own(caf::actor_cast<caf::actor>(result->scheduler_));
  auto shared_cache = cache::start(sys, {}, log);
  if (!shared_cache.ok())
    return shared_cache.status();
  result->cache_.emplace(std::move(*shared_cache));
  result->background_ = spawn_background_pool(sys, log);
  // Drained: background work started by handlers finishes before exit.
  result->add_drain_participant(
    caf::actor_cast<caf::actor>(result->background_.actor()));
  // Set before any route is served, so before any handler can read it.
  result->system_->caf_config.services = std::make_shared<services_impl>(
    result->registry_, result->bus_, result->background_);
  if (auto st = result->serve(builtin_routes(result->registry_)); !st.ok())
    return st;
  return result;
}

namespace {

/// Sends `xs` to `dest` and waits for its answer of type T (or an error).
template <class T, class... Ts>
absl::StatusOr<T> ask(caf::actor_system& sys, const caf::actor& dest,
                      Ts&&... xs) {
  caf::scoped_actor self{sys};
  absl::StatusOr<T> result = make_status(errc::internal, "no answer");
  self->request(dest, std::chrono::seconds(30), std::forward<Ts>(xs)...)
    .receive([&](T& x) { result = std::move(x); },
             [&](caf::error& err) { result = to_status(err); });
  return result;
}

template <class... Ts>
absl::Status ask_router(caf::actor_system& sys, const caf::actor& router,
                        Ts&&... xs) {
  return ask<ok_atom>(sys, router, std::forward<Ts>(xs)...).status();
}

/// The routes every node serves: the registry's.
blueprint builtin_routes(const caf::actor& registry) {
  blueprint bp;
  bp.route_actor<weft::wire::ClientHello, weft::wire::ClientWelcome>(
    hello_route, registry);
  bp.route_actor<weft::wire::TopicRequest, weft::wire::TopicReply>(
    subscribe_route, registry);
  bp.route_actor<weft::wire::TopicRequest, weft::wire::TopicReply>(
    unsubscribe_route, registry);
  return bp;
}

/// Removes the spill files that a crashed or killed process of this host
/// left in `dir`, before this node makes its own there.
void sweep_spill_dir(const std::string& dir, const logger& log) {
  auto removed = protocol::sweep_stale_spill_files(dir);
  if (!removed.ok())
    log.warn("binary.spill_dir_unreadable", {{"error", removed.status()}});
  else if (*removed > 0)
    log.info("binary.spill_swept", {{"dir", dir}, {"removed", *removed}});
}

/// The binary gateway's settings from the node's configuration.
binary::binary_gateway_options binary_options(const node_config& cfg,
                                              const endpoint& at) {
  binary::binary_gateway_options opts;
  opts.host = at.host;
  opts.port = at.port;
  opts.session.local = cfg.limits;
  opts.session.spill_threshold = cfg.spill_threshold;
  opts.session.spill_dir = cfg.spill_dir;
  opts.session.cancel_burst = cfg.cancel_burst;
  opts.session.cancel_rate = cfg.cancel_rate;
  opts.session.max_queued_control = cfg.max_queued_control;
  opts.handler_timeout = cfg.handler_timeout;
  opts.max_inflight_requests = cfg.max_inflight_requests;
  opts.max_push_backlog = cfg.max_push_backlog;
  return opts;
}

/// The HTTP gateway's settings from the node's configuration.
http::http_gateway_options http_options(const node_config& cfg,
                                        const endpoint& at) {
  http::http_gateway_options opts;
  opts.host = at.host;
  opts.port = at.port;
  opts.limits.max_target_bytes = cfg.http_max_target;
  opts.limits.max_header_bytes = cfg.http_max_header_bytes;
  opts.limits.max_header_count = cfg.http_max_headers;
  opts.limits.max_body_bytes = cfg.http_max_body;
  opts.limits.header_timeout = cfg.http_header_timeout;
  opts.limits.idle_timeout = cfg.http_idle_timeout;
  opts.limits.min_body_rate = cfg.http_min_body_rate;
  opts.limits.body_rate_grace = cfg.http_body_rate_grace;
  opts.limits.max_pipelined = cfg.http_max_pipelined;
  opts.handler_timeout = cfg.handler_timeout;
  return opts;
}

/// Starts one edge (a gateway with `listener` and `port`) on `address`
/// into `slot` unless the address is empty or it runs already; the
/// listener joins `owner`'s drains.
template <class Gateway, class Start>
absl::Status start_edge(node& owner, const logger& log,
                        const std::string& address,
                        std::optional<Gateway>& slot, const char* event,
                        Start start) {
  if (address.empty() || slot)
    return absl::OkStatus();
  auto at = parse_endpoint(address);
  if (!at.ok())
    return at.status();
  auto gateway = start(*at);
  if (!gateway.ok())
    return make_status(code_of(gateway.status()),
                       absl::StrCat("cannot listen on ", address, ": ",
                                    gateway.status().message()));
  slot = std::move(*gateway);
  owner.add_drain_participant(slot->listener);
  log.info(event, {{"address", absl::StrCat(at->host, ":", slot->port)}});
  return absl::OkStatus();
}

} // namespace

absl::Status node::push(const std::string& client_id, push_message msg) {
  return ask<ok_atom>(system(), registry_, push_atom_v, client_id,
                      std::move(msg))
    .status();
}

absl::StatusOr<std::uint64_t> node::broadcast(push_message msg) {
  return ask<std::uint64_t>(system(), registry_, broadcast_atom_v,
                            std::move(msg));
}

absl::StatusOr<std::uint64_t> node::publish(const std::string& topic,
                                            push_message msg) {
  return ask<std::uint64_t>(system(), registry_, publish_atom_v, topic,
                            std::move(msg));
}

absl::StatusOr<std::uint32_t> node::subscribe(const std::string& client_id,
                                              const std::string& topic) {
  return ask<std::uint32_t>(system(), registry_, join_topic_atom_v,
                            client_id, topic);
}

absl::StatusOr<std::uint32_t> node::unsubscribe(const std::string& client_id,
                                                const std::string& topic) {
  return ask<std::uint32_t>(system(), registry_, leave_topic_atom_v,
                            client_id, topic);
}

absl::StatusOr<std::uint64_t> node::schedule(scheduled_task task) {
  return ask<std::uint64_t>(system(), caf::actor_cast<caf::actor>(scheduler_),
                            schedule_atom_v, std::move(task));
}

absl::StatusOr<bool> node::cancel_task(std::uint64_t id) {
  return ask<bool>(system(), caf::actor_cast<caf::actor>(scheduler_),
                   cancel_atom_v, id);
}

absl::Status node::serve(blueprint app) {
  blueprint_ref ref{std::make_shared<const blueprint>(std::move(app))};
  return ask_router(system(), router_, register_atom_v, std::move(ref));
}

absl::Status node::use(middleware mw) {
  blueprint holder;
  holder.use(std::move(mw));
  blueprint_ref ref{std::make_shared<const blueprint>(std::move(holder))};
  return ask_router(system(), router_, use_atom_v, std::move(ref));
}

absl::Status node::on_error(error_handler handler) {
  blueprint holder;
  holder.on_error(std::move(handler));
  blueprint_ref ref{std::make_shared<const blueprint>(std::move(holder))};
  return ask_router(system(), router_, use_atom_v, std::move(ref));
}

absl::Status node::listen() {
  if (config_.has_edges()) {
    if (auto st = listen_binary(); !st.ok())
      return st;
    if (auto st = listen_http(); !st.ok())
      return st;
  }
  if (auto st = listen_cluster(); !st.ok())
    return st;
  if (!listened_ && config_.role == "worker" && config_.join.empty())
    log_.warn("node.unreachable",
              {{"message", "role worker without --join: no edge and no "
                           "gateway will reach this node's routes"}});
  if (!listened_ && config_.role == "gateway" && config_.node_listen.empty())
    log_.warn("node.no_workers",
              {{"message", "role gateway without --node-listen: no worker "
                           "can join, so only built-in routes are served"}});
  if (listened_)
    return absl::OkStatus();
  listened_ = true;
  (void)bus_.emit(lifecycle::node_started, {},
                  {{"node", config_.name}, {"version", version_string}});
  return absl::OkStatus();
}

absl::Status node::listen_cluster() {
  if (!config_.node_listen.empty() && !hub_) {
    auto at = parse_endpoint(config_.node_listen);
    if (!at.ok())
      return at.status();
    cluster::cluster_hub_options opts;
    opts.router = router_;
    opts.handler_timeout = config_.handler_timeout;
    opts.log = log_;
    auto hub = cluster::spawn_cluster_hub(system(), std::move(opts));
    add_drain_participant(hub);
    // The address is passed on: publish binds every interface without one.
    auto port = publish_node_port(system(), hub, at->port, at->host,
                                  config_.node_tls.enabled());
    if (!port)
      return make_status(errc::io_error,
                         absl::StrCat("cannot listen for nodes on ",
                                      config_.node_listen, ": ",
                                      caf::to_string(port.error())));
    hub_ = std::move(hub);
    cluster_port_ = *port;
    log_.info("node.cluster_listening",
              {{"address", absl::StrCat(at->host, ":", *port)},
               {"port", *port},
               {"role", config_.role}});
  }
  if (!config_.join.empty() && !endpoint_) {
    cluster::worker_endpoint_options eopts;
    eopts.node_name = config_.name;
    eopts.router = router_;
    eopts.handler_timeout = config_.handler_timeout;
    eopts.log = log_;
    endpoint_ = cluster::spawn_worker_endpoint(system(), std::move(eopts));
    add_drain_participant(endpoint_);
    for (const auto& target : config_.join) {
      auto at = parse_endpoint(target);
      if (!at.ok())
        return at.status();
      cluster::cluster_joiner_options jopts;
      jopts.host = at->host;
      jopts.port = at->port;
      jopts.node_name = config_.name;
      jopts.endpoint = endpoint_;
      jopts.router = router_;
      jopts.backoff_max = config_.join_backoff_max;
      jopts.tls = config_.node_tls.enabled();
      jopts.log = log_;
      own(cluster::spawn_cluster_joiner(system(), std::move(jopts)));
    }
  }
  return absl::OkStatus();
}

absl::Status node::listen_http() {
  return start_edge(*this, log_, config_.http_listen, http_, "http.listening",
                    [this](const endpoint& at) {
                      return http::start_http_gateway(
                        system(), *reactors_, router_,
                        http_options(config_, at), log_, registry_);
                    });
}

absl::Status node::listen_binary() {
  return start_edge(*this, log_, config_.tcp_listen, binary_,
                    "binary.listening", [this](const endpoint& at) {
                      sweep_spill_dir(config_.spill_dir, log_);
                      return binary::start_binary_gateway(
                        system(), *reactors_, router_,
                        binary_options(config_, at), log_, registry_);
                    });
}

node::~node() {
  stop();
}

caf::actor_system& node::system() noexcept {
  return *system_->system;
}

void node::add_drain_participant(const caf::actor& participant) {
  caf::anon_send(root_, join_drain_atom_v, participant);
}

void node::own(const caf::actor& actor) {
  caf::anon_send(root_, own_atom_v, actor);
}

absl::Status node::drain() {
  if (drained_ || !root_)
    return absl::OkStatus();
  drained_ = true;
  (void)bus_.emit(lifecycle::node_stopping, {},
                  {{"node", config_.name}, {"reason", "drain"}});
  auto budget = absl::ToChronoNanoseconds(config_.drain_timeout);
  auto started = std::chrono::steady_clock::now();
  drain_report report;
  caf::error failure;
  {
    caf::scoped_actor self{system()};
    // The node actor answers within the budget; the margin covers its reply.
    self->request(root_, budget + std::chrono::seconds(1), drain_atom_v, budget)
      .receive([&](const drain_report& r) { report = r; },
               [&](caf::error& err) { failure = std::move(err); });
  }
  auto took = absl::FromChrono(std::chrono::steady_clock::now() - started);
  if (failure) {
    log_.error("node.drain_failed",
               {{"error", caf::to_string(failure)}, {"took", took}});
    return to_status(failure);
  }
  log_.info("node.drained", {{"participants", report.participants},
                             {"drained", report.drained},
                             {"unfinished", report.unfinished},
                             {"took", took}});
  if (report.unfinished > 0)
    return make_status(
      errc::deadline_exceeded,
      absl::StrCat(report.unfinished, " of ", report.participants,
                   " participants did not drain in ",
                   absl::FormatDuration(config_.drain_timeout)));
  return absl::OkStatus();
}

void node::stop() {
  if (!system_)
    return;
  if (root_) {
    caf::anon_send_exit(root_, caf::exit_reason::user_shutdown);
    root_ = nullptr;
  }
  if (cache_) {
    cache_->stop();
    cache_.reset(); // its shards live in the system destroyed below
  }
  router_ = nullptr;
  registry_ = nullptr;
  hub_ = nullptr;
  endpoint_ = nullptr;
  scheduler_ = nullptr;
  binary_.reset();
  http_.reset();
  // Closing the sockets ends every connection actor that is still around.
  if (reactors_) {
    reactors_->stop();
    reactors_.reset();
  }
  // Destroying the system waits for every actor to terminate.
  system_.reset();
}

} // namespace weft
