#include "runtime/context.hpp"

#include <chrono>

#include "runtime/error_bridge.hpp"
#include "runtime/node_services.hpp"

namespace weft {

context::context(caf::event_based_actor* self, request&& req)
  : self_(self), req_(std::move(req)) {
  req_.body = payload{}; // the handler got the body on its own
}

const std::string* context::metadata(absl::string_view key) const {
  auto i = req_.metadata.find(std::string{key});
  return i == req_.metadata.end() ? nullptr : &i->second;
}

const std::string* context::value(absl::string_view key) const {
  auto i = req_.values.find(std::string{key});
  return i == req_.values.end() ? nullptr : &i->second;
}

absl::Time context::deadline() const noexcept {
  return req_.deadline_ns == 0 ? absl::InfiniteFuture()
                               : absl::FromUnixNanos(req_.deadline_ns);
}

absl::Duration context::remaining() const {
  if (req_.deadline_ns == 0)
    return absl::InfiniteDuration();
  return std::max(absl::ZeroDuration(), deadline() - absl::Now());
}

caf::duration context::ask_timeout() const {
  auto left = remaining();
  if (left == absl::InfiniteDuration())
    return caf::duration{caf::infinite};
  // CAF treats a zero timeout as "none": an expired deadline asks with the
  // shortest real one instead, so the ask fails at once.
  auto ns = std::max<std::int64_t>(1, absl::ToInt64Nanoseconds(left));
  return caf::duration{std::chrono::nanoseconds{ns}};
}

void context::push(const std::string& client_id, push_message msg) const {
  if (auto* services = services_of(self_->system()))
    services->push(client_id, std::move(msg));
}

void context::publish(const std::string& topic, push_message msg) const {
  if (auto* services = services_of(self_->system()))
    services->publish(topic, std::move(msg));
}

void context::subscribe(const std::string& topic) const {
  if (auto* services = services_of(self_->system()))
    services->subscribe(req_.client_id, topic);
}

void context::broadcast(push_message msg) const {
  if (auto* services = services_of(self_->system()))
    services->broadcast(std::move(msg));
}

absl::Status context::background(std::function<void()> task) const {
  auto* services = services_of(self_->system());
  if (!services)
    return make_status(errc::unavailable, "no node runs this handler");
  if (!task)
    return make_status(errc::invalid_argument, "no task");
  if (defer_to_) {
    defer_to_->push_back(std::move(task));
    return absl::OkStatus();
  }
  return services->background(std::move(task));
}

void submit_background(caf::actor_system& sys,
                       std::vector<std::function<void()>>& tasks) {
  auto* services = services_of(sys);
  for (auto& task : tasks)
    if (services)
      (void)services->background(std::move(task)); // rejections are counted
  tasks.clear();
}

void context::emit(std::string name, event_attributes attributes,
                   shared_bytes payload) const {
  if (auto* services = services_of(self_->system())) {
    event ev;
    ev.name = std::move(name);
    ev.attributes = std::move(attributes);
    ev.payload = std::move(payload);
    services->emit(std::move(ev));
  }
}

} // namespace weft
