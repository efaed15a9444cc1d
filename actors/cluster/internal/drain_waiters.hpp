#pragma once

#include <vector>

#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>
#include <caf/result.hpp>

#include "runtime/type_ids.hpp"

namespace weft::cluster::internal {

/// The drain requests an actor answers once its work in flight is done:
/// `(drain_atom, timespan) -> ok_atom` answered at once when idle, else when
/// the owner calls release(). Owned by one actor; not thread-safe.
class drain_waiters {
public:
  /// The answer to one drain request: ok now if `idle`, else a promise
  /// kept until release().
  caf::result<ok_atom> wait(caf::event_based_actor* self, bool idle) {
    if (idle)
      return ok_atom_v;
    auto promise = self->make_response_promise<ok_atom>();
    waiting_.push_back(promise);
    return promise;
  }

  /// Answers every waiting drain request.
  void release() {
    for (auto& promise : waiting_)
      promise.deliver(ok_atom_v);
    waiting_.clear();
  }

private:
  std::vector<caf::typed_response_promise<ok_atom>> waiting_;
};

} // namespace weft::cluster::internal
