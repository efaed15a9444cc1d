#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include <absl/status/status.h>
#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/timespan.hpp>
#include <caf/typed_actor.hpp>

#include "runtime/background_task.hpp"
#include "runtime/logger.hpp"
#include "runtime/type_ids.hpp"

namespace weft {

/// The background pool actor's typed handle. Use the `background_pool`
/// facade to submit; the node may drain the actor:
///   (background_atom, background_task): queue a task (sent by submit,
///     which has already taken its place in the bound);
///   (drain_atom, timespan) -> ok_atom: answered once no task is queued or
///     running (the caller bounds the wait with its request timeout).
using background_pool_actor = caf::typed_actor<
  caf::reacts_to<background_atom, background_task>,
  caf::replies_to<drain_atom, caf::timespan>::with<ok_atom>>;

/// Limits of a background pool.
struct background_pool_options {
  /// At most this many tasks run at once; 0 means one per CAF scheduler
  /// thread.
  std::size_t max_running = 0;
  /// Tasks that may wait for a free runner; past it `submit` answers
  /// `overloaded` at once.
  std::size_t max_queued = 4096;
};

/// A snapshot of a background pool's counters. Gauges are read from
/// separate atomics, so one snapshot taken while tasks move may be off by
/// a task or two.
struct background_pool_stats {
  /// Tasks accepted by submit.
  std::uint64_t submitted = 0;
  /// Tasks that returned normally.
  std::uint64_t completed = 0;
  /// Tasks that threw (logged).
  std::uint64_t failed = 0;
  /// Tasks refused with `overloaded` because the queue was full.
  std::uint64_t rejected = 0;
  /// Accepted tasks waiting for a runner (now).
  std::uint64_t queued = 0;
  /// Tasks running (now); never more than max_running.
  std::uint64_t running = 0;
};

/// Shared by a pool's facades, its actor and its workers: the admission
/// bound and the counters. Defined in background_pool.cpp.
struct background_pool_shared;

/// The facade of a background pool: a small handle, cheap to copy, usable
/// from any thread and from inside any actor. Tasks run on CAF's scheduler
/// threads, in worker actors the pool owns, never on the caller's thread
/// and never inside the pool actor itself; roughly in submission order,
/// at most `max_running()` at once.
class background_pool {
public:
  /// An invalid pool (false in a boolean context); submit fails.
  background_pool() = default;

  /// Makes a facade for `actor` (see spawn_background_pool).
  background_pool(background_pool_actor actor,
                  std::shared_ptr<background_pool_shared> shared);

  /// Queues `task` to run once. Never blocks: takes a place in the bound
  /// with an atomic operation and sends the task to the pool. A task that
  /// throws is logged and counted as failed. Errors: overloaded (running
  /// and queued tasks are at their bounds; counted as rejected),
  /// invalid_argument (an empty function), unavailable (the pool stopped).
  absl::Status submit(std::function<void()> task) const;

  /// Reads the counters (atomics: no message to the pool).
  background_pool_stats stats() const;

  /// The bound on tasks running at once.
  std::size_t max_running() const noexcept;

  /// The pool actor, e.g. for the node to own it or drain it.
  const background_pool_actor& actor() const noexcept {
    return actor_;
  }

  /// True for a facade made by spawn_background_pool.
  explicit operator bool() const noexcept {
    return static_cast<bool>(actor_);
  }

private:
  background_pool_actor actor_;
  /// shared_ptr: shared by every copy of the facade, the pool actor and its
  /// workers, which may outlive each other.
  std::shared_ptr<background_pool_shared> shared_;
};

/// Spawns a background pool: one pool actor that queues tasks and
/// `max_running` worker actors linked to it, each running one task at a
/// time. Stop it by sending its actor an exit message (or let the node own
/// it): queued tasks are then dropped, a running one finishes, and submit
/// answers `unavailable`.
background_pool spawn_background_pool(caf::actor_system& sys, logger log,
                                      background_pool_options opts = {});

} // namespace weft
