#include "runtime/reply_to.hpp"

#include <caf/delegated.hpp>

#include "runtime/error_bridge.hpp"
#include "runtime/type_ids.hpp"

namespace weft {

struct responder::state {
  caf::response_promise promise;
  bool answered = false;

  explicit state(caf::response_promise p) : promise(std::move(p)) {
  }
  state(const state&) = delete;
  state& operator=(const state&) = delete;

  ~state() {
    if (!answered && promise.pending())
      promise.deliver(make_weft_error(
        errc::handler_failed, "the handler dropped the request unanswered"));
  }
};

responder::responder(caf::response_promise promise)
  : state_(std::make_shared<state>(std::move(promise))) {
}

void responder::deliver(response rsp) {
  if (state_->answered)
    return;
  state_->answered = true;
  state_->promise.deliver(std::move(rsp));
}

void responder::fail(const absl::Status& failure) {
  if (state_->answered)
    return;
  state_->answered = true;
  state_->promise.deliver(to_error(failure.ok() ? make_status(
                                     errc::internal,
                                     "the handler failed with an OK status")
                                                : failure));
}

caf::actor responder::requester() const {
  if (state_->answered)
    return {};
  return caf::actor_cast<caf::actor>(state_->promise.next());
}

void responder::delegate_stream(const caf::actor& dest) {
  if (state_->answered)
    return;
  state_->answered = true;
  state_->promise.delegate(dest, stream_open_atom_v);
}

bool responder::pending() const noexcept {
  return !state_->answered;
}

} // namespace weft
