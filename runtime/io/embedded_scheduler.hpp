#pragma once

#include <cstddef>

#include <caf/fwd.hpp>

namespace weft::io {

/// Messages an actor handles per run on weft's scheduler before its worker
/// turns back to its sockets (CAF's `scheduler.max-throughput`, which
/// embed_reactors sets).
inline constexpr std::size_t max_throughput_on_workers = 16;

/// Makes the actor system built from `cfg` run weft's scheduler: each of
/// its worker threads also runs one reactor of a reactor_pool started on
/// that system, polling its sockets between jobs and sleeping in epoll_wait,
/// so that reading a connection, running its actor and writing its replies
/// happen on one thread without a hand-off (docs/architecture.md, "Reactors
/// on the workers"). Also bounds scheduler.max-throughput. Call before the
/// system is constructed.
void embed_reactors(caf::actor_system_config& cfg);

} // namespace weft::io
