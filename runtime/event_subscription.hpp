#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/meta/type_name.hpp>

#include "runtime/event.hpp"

namespace weft {

/// A function subscriber of the event bus. It runs on one of CAF's
/// scheduler threads (never on the bus actor, never on the emitter's
/// thread), one event at a time, in emit order. It may throw: the bus logs
/// and counts the failure and keeps the subscription.
using event_function = std::function<void(const event&)>;

/// Identifies one subscription of an event bus (never 0).
using subscription_id = std::uint64_t;

/// Carries a new subscription to the event bus actor in
/// `(bus_on_atom, event_subscription)`. Exactly one of `actor` and
/// `function` is set. Process-local: a function cannot leave the process.
struct event_subscription {
  /// Taken by the facade from the bus's counter; `off` names it.
  subscription_id id = 0;
  /// The event name it listens to.
  std::string name;
  /// True for `once`: removed after its first delivery.
  bool once = false;
  /// An actor subscriber receives `(event_atom, event)`.
  caf::actor actor;
  /// shared_ptr: the bus and the subscriber's runner actor both call it;
  /// const, so sharing it is safe.
  std::shared_ptr<const event_function> function;
};

/// Prints id, name and once (the subscriber itself is process-local).
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, event_subscription& x) {
  return f(caf::meta::type_name("event_subscription"), x.id, x.name, x.once);
}

} // namespace weft

// The function never leaves the process; CAF skips it when serializing.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(weft::event_subscription)
