#include "actors/event_bus.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <string>
#include <utility>
#include <vector>

#include <absl/container/flat_hash_map.h>
#include <caf/actor_addr.hpp>
#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/make_message.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "runtime/error_bridge.hpp"

namespace weft {

struct event_bus_shared {
  /// Subscription ids are taken here by the facade, so `on` needs no round
  /// trip to the actor.
  std::atomic<subscription_id> next_id{1};
  /// Set when the bus actor is gone; calls then answer `unavailable`.
  std::atomic<bool> stopped{false};
  std::atomic<std::uint64_t> emitted{0};
  std::atomic<std::uint64_t> delivered{0};
  std::atomic<std::uint64_t> failed{0};
  std::atomic<std::uint64_t> dropped{0};
  std::atomic<std::uint64_t> dead_subscribers{0};
  std::atomic<std::uint64_t> subscriptions{0};
};

namespace {

constexpr auto relaxed = std::memory_order_relaxed;

/// Events handed to one function subscriber's runner and not yet run.
/// shared_ptr: the bus counts up, the runner counts down.
using pending_count = std::shared_ptr<std::atomic<std::uint32_t>>;

// -- runner: runs one function subscriber's events, in order ------------------

struct runner_state {
  static inline const char* name = "weft.event_runner";
  logger log;
  std::shared_ptr<event_bus_shared> shared;
  std::shared_ptr<const event_function> fn;
  pending_count pending;
  subscription_id id = 0;
  bool once = false;
};

caf::behavior event_runner(caf::stateful_actor<runner_state>* self, logger log,
                           std::shared_ptr<event_bus_shared> shared,
                           std::shared_ptr<const event_function> fn,
                           pending_count pending, subscription_id id,
                           bool once) {
  self->state.log = log;
  self->state.shared = std::move(shared);
  self->state.fn = std::move(fn);
  self->state.pending = std::move(pending);
  self->state.id = id;
  self->state.once = once;
  return {
    [self](event_atom, const event& ev) {
      auto& st = self->state;
      // A subscriber's exception stays here: it is logged and counted, the
      // subscription and every other subscriber carry on.
      try {
        (*st.fn)(ev);
      } catch (const std::exception& e) {
        st.shared->failed.fetch_add(1, relaxed);
        st.log.warn("event_bus.subscriber_failed",
                    {{"event", ev.name}, {"subscription", st.id},
                     {"error", e.what()}});
      } catch (...) {
        st.shared->failed.fetch_add(1, relaxed);
        st.log.warn("event_bus.subscriber_failed",
                    {{"event", ev.name}, {"subscription", st.id},
                     {"error", "unknown exception"}});
      }
      st.pending->fetch_sub(1, relaxed);
      if (st.once)
        self->quit();
    },
    [self](retire_atom) { self->quit(); },
  };
}

// -- the bus ------------------------------------------------------------------

struct subscription {
  std::string name;
  bool once = false;
  /// The actor subscriber, or the function subscriber's runner.
  caf::actor target;
  /// Set for function subscribers only.
  pending_count pending;
  /// True while deliveries are being dropped (logged once per episode).
  bool lagging = false;
};

struct event_bus_state {
  static inline const char* name = "weft.event_bus";

  logger log;
  event_bus_options opts;
  std::shared_ptr<event_bus_shared> shared;
  absl::flat_hash_map<subscription_id, subscription> subs;
  /// Event name -> its subscriptions, in subscription order.
  absl::flat_hash_map<std::string, std::vector<subscription_id>> by_name;
  /// Actor subscriber -> its subscriptions; monitored while not empty.
  absl::flat_hash_map<caf::actor_addr, std::vector<subscription_id>> by_actor;

  event_bus_state() = default;
  event_bus_state(const event_bus_state&) = delete;
  event_bus_state& operator=(const event_bus_state&) = delete;

  ~event_bus_state() {
    if (shared) {
      shared->stopped.store(true);
      shared->subscriptions.store(0, relaxed);
    }
  }
};

using bus_pointer = event_bus_actor::stateful_pointer<event_bus_state>;

void erase_id(std::vector<subscription_id>& ids, subscription_id id) {
  ids.erase(std::remove(ids.begin(), ids.end(), id), ids.end());
}

/// Removes subscription `id`; `retire` tells a function's runner to exit
/// once its queued events ran (not needed after a `once` delivery: the
/// runner exits by itself).
void remove_subscription(bus_pointer self, subscription_id id, bool retire) {
  auto& st = self->state;
  auto i = st.subs.find(id);
  if (i == st.subs.end())
    return;
  auto& sub = i->second;
  if (auto j = st.by_name.find(sub.name); j != st.by_name.end()) {
    erase_id(j->second, id);
    if (j->second.empty())
      st.by_name.erase(j);
  }
  if (sub.pending) {
    if (retire)
      caf::anon_send(sub.target, retire_atom_v);
  } else if (auto j = st.by_actor.find(sub.target.address());
             j != st.by_actor.end()) {
    erase_id(j->second, id);
    if (j->second.empty()) {
      self->demonitor(sub.target);
      st.by_actor.erase(j);
    }
  }
  st.subs.erase(i);
  st.shared->subscriptions.store(st.subs.size(), relaxed);
}

void add_subscription(bus_pointer self, event_subscription& req) {
  auto& st = self->state;
  if (req.id == 0 || req.name.empty() || st.subs.contains(req.id)
      || (!req.actor && !req.function))
    return; // the facade never sends these
  subscription sub;
  sub.name = req.name;
  sub.once = req.once;
  if (req.function) {
    sub.pending = std::make_shared<std::atomic<std::uint32_t>>(0);
    // Linked: runners stop with the bus; a runner's normal exit (after a
    // `once` event or `retire`) does not touch the bus.
    sub.target = self->spawn<caf::linked>(event_runner, st.log, st.shared,
                                          std::move(req.function), sub.pending,
                                          req.id, req.once);
  } else {
    sub.target = std::move(req.actor);
    auto& ids = st.by_actor[sub.target.address()];
    if (ids.empty())
      self->monitor(sub.target);
    ids.push_back(req.id);
  }
  st.by_name[sub.name].push_back(req.id);
  st.subs.emplace(req.id, std::move(sub));
  st.shared->subscriptions.store(st.subs.size(), relaxed);
}

/// Hands `ev` to every subscriber of its name, sharing one message.
void deliver(bus_pointer self, event& ev) {
  auto& st = self->state;
  st.shared->emitted.fetch_add(1, relaxed);
  auto i = st.by_name.find(ev.name);
  if (i == st.by_name.end())
    return;
  // Not changed while we walk it: finished `once` subscriptions are
  // removed after the loop.
  const auto& ids = i->second;
  // One message for all subscribers: CAF messages are copy-on-write and
  // subscribers read it as const, so the event is never copied.
  auto msg = caf::make_message(event_atom_v, std::move(ev));
  const auto& name = msg.get_as<event>(1).name;
  std::uint64_t handed = 0;
  std::vector<subscription_id> finished;
  for (auto id : ids) {
    auto& sub = st.subs.at(id);
    if (sub.pending) {
      if (sub.pending->load(relaxed) >= st.opts.max_pending_per_function) {
        st.shared->dropped.fetch_add(1, relaxed);
        if (!sub.lagging)
          st.log.warn("event_bus.subscriber_lagging",
                      {{"event", name}, {"subscription", id},
                       {"max_pending", st.opts.max_pending_per_function}});
        sub.lagging = true;
        continue;
      }
      sub.lagging = false;
      sub.pending->fetch_add(1, relaxed);
    }
    // Anonymous: a subscriber has nothing to answer, and a typed actor may
    // not send() to dynamically typed ones.
    caf::anon_send(sub.target, msg);
    ++handed;
    if (sub.once)
      finished.push_back(id);
  }
  st.shared->delivered.fetch_add(handed, relaxed);
  for (auto id : finished)
    remove_subscription(self, id, false);
}

event_bus_actor::behavior_type
event_bus_impl(bus_pointer self, logger log, event_bus_options opts,
               std::shared_ptr<event_bus_shared> shared) {
  self->state.log = log;
  self->state.opts = opts;
  self->state.shared = std::move(shared);
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    auto i = st.by_actor.find(msg.source);
    if (i == st.by_actor.end())
      return;
    auto ids = std::move(i->second);
    st.by_actor.erase(i);
    for (auto id : ids) {
      // Its by_actor entry is gone already, so nothing is demonitored.
      remove_subscription(self, id, false);
    }
    st.shared->dead_subscribers.fetch_add(ids.size(), relaxed);
    st.log.debug("event_bus.subscriber_down",
                 {{"actor", caf::to_string(msg.source)},
                  {"subscriptions", ids.size()}});
  });
  return {
    [self](bus_on_atom, event_subscription& req) {
      add_subscription(self, req);
    },
    [self](bus_off_atom, subscription_id id) {
      remove_subscription(self, id, true);
    },
    [self](bus_emit_atom, event& ev) { deliver(self, ev); },
  };
}

} // namespace

event_bus::event_bus(event_bus_actor actor,
                     std::shared_ptr<event_bus_shared> shared)
  : actor_(std::move(actor)), shared_(std::move(shared)) {
}

absl::StatusOr<subscription_id>
event_bus::subscribe(absl::string_view name, bool once, caf::actor subscriber,
                     event_function fn) const {
  if (name.empty())
    return make_status(errc::invalid_argument, "event name is empty");
  if (!subscriber && !fn)
    return make_status(errc::invalid_argument, "subscriber is empty");
  if (!actor_ || shared_->stopped.load())
    return make_status(errc::unavailable, "event bus is stopped");
  event_subscription req;
  req.id = shared_->next_id.fetch_add(1, relaxed);
  req.name = std::string{name};
  req.once = once;
  req.actor = std::move(subscriber);
  if (fn)
    req.function = std::make_shared<const event_function>(std::move(fn));
  auto id = req.id;
  caf::anon_send(actor_, bus_on_atom_v, std::move(req));
  return id;
}

absl::StatusOr<subscription_id> event_bus::on(absl::string_view name,
                                              event_function fn) const {
  return subscribe(name, false, nullptr, std::move(fn));
}

absl::StatusOr<subscription_id> event_bus::on(absl::string_view name,
                                              caf::actor subscriber) const {
  return subscribe(name, false, std::move(subscriber), nullptr);
}

absl::StatusOr<subscription_id> event_bus::once(absl::string_view name,
                                                event_function fn) const {
  return subscribe(name, true, nullptr, std::move(fn));
}

absl::StatusOr<subscription_id> event_bus::once(absl::string_view name,
                                                caf::actor subscriber) const {
  return subscribe(name, true, std::move(subscriber), nullptr);
}

absl::Status event_bus::off(subscription_id id) const {
  if (!actor_ || shared_->stopped.load())
    return make_status(errc::unavailable, "event bus is stopped");
  caf::anon_send(actor_, bus_off_atom_v, id);
  return absl::OkStatus();
}

absl::Status event_bus::emit(event ev) const {
  if (ev.name.empty())
    return make_status(errc::invalid_argument, "event name is empty");
  if (!actor_ || shared_->stopped.load())
    return make_status(errc::unavailable, "event bus is stopped");
  caf::anon_send(actor_, bus_emit_atom_v, std::move(ev));
  return absl::OkStatus();
}

absl::Status event_bus::emit(absl::string_view name, shared_bytes payload,
                             event_attributes attributes) const {
  return emit(event{std::string{name}, std::move(payload),
                    std::move(attributes)});
}

event_bus_stats event_bus::stats() const {
  event_bus_stats out;
  if (!shared_)
    return out;
  out.emitted = shared_->emitted.load(relaxed);
  out.delivered = shared_->delivered.load(relaxed);
  out.failed = shared_->failed.load(relaxed);
  out.dropped = shared_->dropped.load(relaxed);
  out.dead_subscribers = shared_->dead_subscribers.load(relaxed);
  out.subscriptions = shared_->subscriptions.load(relaxed);
  return out;
}

event_bus spawn_event_bus(caf::actor_system& sys, logger log,
                          event_bus_options opts) {
  auto shared = std::make_shared<event_bus_shared>();
  auto actor = sys.spawn(event_bus_impl, log, opts, shared);
  return event_bus{std::move(actor), std::move(shared)};
}

} // namespace weft
