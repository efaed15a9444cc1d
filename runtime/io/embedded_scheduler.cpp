#include "runtime/io/embedded_scheduler.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scheduler/coordinator.hpp>

#include "runtime/io/internal/embedded_policy.hpp"

namespace weft::io {

namespace {

using coordinator = caf::scheduler::coordinator<internal::embedded_policy>;

} // namespace

void embed_reactors(caf::actor_system_config& cfg) {
  // A worker polls its sockets and writes what its actors handed over only
  // between jobs: an actor with a long mailbox (a connection assembling a
  // bulk upload) must give the worker back often, or an urgent message on
  // any of its sockets waits for the whole mailbox (head-of-line p99 beside
  // a 1 GiB upload: 190 ms with CAF's unbounded default, 3.5 ms with 16,
  // the same as reactor threads; echo throughput unchanged).
  cfg.set("scheduler.max-throughput", max_throughput_on_workers);
  cfg.module_factories.push_back(
    [](caf::actor_system& sys) -> caf::actor_system::module* {
      return coordinator::make(sys, caf::detail::type_list<>{});
    });
}

namespace internal {

std::vector<std::shared_ptr<worker_core>> worker_cores(caf::actor_system& sys) {
  std::vector<std::shared_ptr<worker_core>> result;
  auto* ours = dynamic_cast<coordinator*>(&sys.scheduler());
  if (ours == nullptr)
    return result;
  for (std::size_t i = 0; i < ours->num_workers(); ++i)
    result.push_back(ours->worker_by_id(i)->data().core);
  return result;
}

} // namespace internal

} // namespace weft::io
