#include "actors/handler_worker.hpp"

#include <exception>
#include <utility>

#include <absl/strings/str_cat.h>
#include <absl/time/clock.h>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>

#include "runtime/answer_batch.hpp"
#include "runtime/reply_then_run.hpp"
#include "runtime/run_function_handler.hpp"
#include "runtime/context.hpp"
#include "runtime/error_bridge.hpp"
#include "runtime/reply_to.hpp"
#include "runtime/type_ids.hpp"

namespace weft {

namespace {

using worker_self = caf::event_based_actor*;

caf::behavior sync_worker(worker_self self,
                          std::shared_ptr<const route_spec> spec) {
  return {
    [self, spec](request_atom, request& req) -> caf::result<response> {
      background_tasks later;
      auto result = run_function_handler(self, *spec, req, later);
      return reply_then_run(self, std::move(result), later);
    },
    [self, spec](request_atom, request_batch& batch) -> caf::result<reply_batch> {
      background_tasks later;
      auto replies = answer_batch(batch, [&](request& req) {
        return run_function_handler(self, *spec, req, later);
      });
      return reply_then_run(self, absl::StatusOr<reply_batch>{std::move(replies)},
                            later);
    },
  };
}

caf::behavior async_worker(worker_self self,
                           std::shared_ptr<const route_spec> spec) {
  return {
    [self, spec](request_atom, request& req) -> caf::result<response> {
      if (auto st = check_not_expired(req); !st.ok())
        return to_error(st);
      auto promise = self->make_response_promise();
      responder out{promise};
      auto body = std::move(req.body);
      context ctx{self, std::move(req)};
      try {
        spec->async(body, ctx, out);
      } catch (...) {
        out.fail(status_of_thrown(ctx.route()));
      }
      return promise;
    },
  };
}

} // namespace

caf::actor spawn_handler_worker(caf::actor_system& sys,
                                std::shared_ptr<const route_spec> spec) {
  if (spec->form == handler_form::async)
    return sys.spawn(async_worker, std::move(spec));
  return sys.spawn(sync_worker, std::move(spec));
}

} // namespace weft
