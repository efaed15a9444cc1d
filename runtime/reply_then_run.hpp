#pragma once

#include <functional>
#include <utility>
#include <vector>

#include <absl/status/statusor.h>
#include <caf/event_based_actor.hpp>
#include <caf/result.hpp>

#include "runtime/context.hpp"
#include "runtime/error_bridge.hpp"

namespace weft {

/// Background tasks a function handler asked for (context::background).
using background_tasks = std::vector<std::function<void()>>;

/// What a handler actor returns for `result`: the answer itself when there
/// are no background tasks, else the answer delivered first through a
/// promise and only then the tasks handed to the node's pool, so that they
/// run after the reply is sent.
template <class T>
caf::result<T> reply_then_run(caf::event_based_actor* self,
                              absl::StatusOr<T> result,
                              background_tasks& later) {
  if (later.empty()) {
    if (!result.ok())
      return to_error(result.status());
    return std::move(*result);
  }
  auto promise = self->make_response_promise<T>();
  if (result.ok())
    promise.deliver(std::move(*result));
  else
    promise.deliver(to_error(result.status()));
  submit_background(self->system(), later);
  return promise;
}

} // namespace weft
