#include "runtime/node.hpp"

#include <chrono>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <absl/strings/str_cat.h>

#include "runtime/error_bridge.hpp"
#include "runtime/type_ids.hpp"

namespace weft {

/// The CAF config must outlive the system built from it; both live here.
struct node::system_holder {
  explicit system_holder(const node_config& cfg) {
    caf_config.set("scheduler.max-threads", cfg.effective_scheduler_threads());
    caf_config.set("scheduler.policy", caf::atom_from_string(cfg.scheduler_policy));
    caf_config.add_message_types<caf::id_block::weft>();
    system = std::make_unique<caf::actor_system>(caf_config);
  }

  caf::actor_system_config caf_config;
  std::unique_ptr<caf::actor_system> system;
};

node::node(passkey, node_config cfg, logger log)
  : config_(std::move(cfg)), log_(log) {}

absl::StatusOr<std::unique_ptr<node>> node::start(node_config cfg, logger log) {
  auto result = std::make_unique<node>(passkey{}, std::move(cfg), log);
  result->system_ = std::make_unique<system_holder>(result->config_);
  result->root_ = spawn_node_actor(*result->system_->system, log);
  if (!result->root_)
    return make_status(errc::internal, "cannot spawn the node actor");
  io::reactor_options io_opts;
  io_opts.threads = result->config_.io_threads;
  io_opts.log = log;
  auto pool = io::reactor_pool::start(*result->system_->system, io_opts);
  if (!pool.ok())
    return pool.status();
  result->reactors_ = std::move(*pool);
  return result;
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
  // Closing the sockets ends every connection actor that is still around.
  if (reactors_) {
    reactors_->stop();
    reactors_.reset();
  }
  // Destroying the system waits for every actor to terminate.
  system_.reset();
}

} // namespace weft
