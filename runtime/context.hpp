#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <vector>
#include <string>
#include <utility>

#include <absl/strings/string_view.h>
#include <absl/time/clock.h>
#include <absl/time/time.h>
#include <caf/duration.hpp>
#include <caf/event_based_actor.hpp>

#include "runtime/event.hpp"
#include "runtime/push_message.hpp"
#include "runtime/request.hpp"
#include "runtime/type_ids.hpp"

namespace weft {

/// What a handler knows about the request it is answering: route, ids,
/// peer, client, metadata, deadline and the values middleware set. A plain
/// value: copy it into a callback of an asynchronous handler freely. Only
/// the handler's own actor may use self() and ask().
class context {
public:
  /// Made by a handler actor (`self`) for one request; takes every field of
  /// `req` except its body.
  context(caf::event_based_actor* self, request&& req);

  /// Copies share nothing with the original's deferral (see background()):
  /// a copy kept for later submits its background tasks at once.
  context(const context& other) : self_(other.self_), req_(other.req_) {
  }
  context& operator=(const context& other) {
    self_ = other.self_;
    req_ = other.req_;
    defer_to_ = nullptr;
    return *this;
  }

  const std::string& route() const noexcept {
    return req_.route;
  }

  /// The id the request arrived with on its connection (0 if none).
  std::uint32_t message_id() const noexcept {
    return req_.message_id;
  }

  /// The client's address as "ip:port" ("" if not from a socket).
  const std::string& peer() const noexcept {
    return req_.peer;
  }

  const std::string& client_id() const noexcept {
    return req_.client_id;
  }

  const std::string& content_type() const noexcept {
    return req_.content_type;
  }

  const std::map<std::string, std::string>& metadata() const noexcept {
    return req_.metadata;
  }

  /// A metadata entry, or nullptr.
  const std::string* metadata(absl::string_view key) const;

  /// A request-scoped value set by middleware (Flask's `g`), or nullptr.
  const std::string* value(absl::string_view key) const;

  /// When the client stops waiting; InfiniteFuture() if it set no deadline.
  absl::Time deadline() const noexcept;

  /// Time left before the deadline (InfiniteDuration() without one, zero
  /// once it passed).
  absl::Duration remaining() const;

  /// The handler actor.
  caf::event_based_actor* self() const noexcept {
    return self_;
  }

  /// The CAF timeout that ends when this request's deadline does.
  caf::duration ask_timeout() const;

  /// `self()->request(dest, ...)` bounded by this request's deadline: what
  /// the handler asks cannot outlive the client's patience.
  template <class Handle, class... Ts>
  auto ask(const Handle& dest, Ts&&... xs) const {
    return self_->request(dest, ask_timeout(), std::forward<Ts>(xs)...);
  }

  /// Asks another route's handler actor, passing this request's deadline
  /// on in `next` (unless it has an earlier one of its own).
  template <class Handle>
  auto ask_route(const Handle& dest, request next) const {
    if (req_.deadline_ns != 0
        && (next.deadline_ns == 0 || next.deadline_ns > req_.deadline_ns))
      next.deadline_ns = req_.deadline_ns;
    return ask(dest, request_atom_v, std::move(next));
  }

  /// Pushes `msg` to the client `client_id` (any edge), fire and forget:
  /// an unknown client is ignored. See node::push for a checked push.
  void push(const std::string& client_id, push_message msg) const;

  /// Pushes `msg` to every subscriber of `topic`, fire and forget.
  void publish(const std::string& topic, push_message msg) const;

  /// Subscribes the calling client to `topic`, fire and forget. Ordered
  /// before anything this actor publishes to the topic afterwards.
  void subscribe(const std::string& topic) const;

  /// Pushes `msg` to every connected client, fire and forget.
  void broadcast(push_message msg) const;

  /// Runs `task` on the node's bounded background pool, off the
  /// connection's path (Flask's background tasks). Called during a
  /// function handler, the task starts once the reply has been sent (a pool
  /// that is full then counts it as rejected); called later (an async
  /// handler's callback), it is submitted at once. Errors: unavailable (no
  /// node), overloaded (submitted at once into a full pool).
  absl::Status background(std::function<void()> task) const;

  /// Used by handler actors around a function handler's call: background
  /// tasks go to `tasks` (nullptr: submit at once). Not for handlers.
  void defer_background_to(std::vector<std::function<void()>>* tasks) {
    defer_to_ = tasks;
  }

  /// Emits an event on the node's bus (actors/event_bus.hpp).
  void emit(std::string name, event_attributes attributes = {},
            shared_bytes payload = {}) const;

  /// The request's fields other than its body.
  const request& info() const noexcept {
    return req_;
  }

private:
  caf::event_based_actor* self_; // the handler actor; outlives each call
  request req_;
  // Non-owning: the handler actor's list for the duration of one call
  // (copies never carry it).
  std::vector<std::function<void()>>* defer_to_ = nullptr;
};

/// Hands `tasks` (deferred by context::background during a function
/// handler) to the node's background pool; called by the handler actor
/// once the reply is sent. Empties `tasks`.
void submit_background(caf::actor_system& sys,
                       std::vector<std::function<void()>>& tasks);

} // namespace weft
