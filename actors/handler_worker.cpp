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
#include "runtime/context.hpp"
#include "runtime/error_bridge.hpp"
#include "runtime/reply_to.hpp"
#include "runtime/type_ids.hpp"

namespace weft {

namespace {

using worker_self = caf::event_based_actor*;

absl::Status thrown(const std::string& route) {
  try {
    throw;
  } catch (const std::exception& e) {
    return make_status(errc::handler_failed,
                       absl::StrCat("the handler of '", route, "' threw: ",
                                    e.what()));
  } catch (...) {
    return make_status(errc::handler_failed,
                       absl::StrCat("the handler of '", route, "' threw"));
  }
}

/// The request's deadline passed while it waited in the mailbox.
bool expired(const request& req) {
  return req.deadline_ns != 0 && absl::ToUnixNanos(absl::Now()) > req.deadline_ns;
}

absl::Status expired_status(const request& req) {
  return make_status(errc::deadline_exceeded,
                     absl::StrCat("the deadline of '", req.route,
                                  "' passed before its handler ran"));
}

/// Runs the handler; background tasks it asks for go to `later`, to start
/// once the reply is sent.
absl::StatusOr<response> run_sync(worker_self self, const route_spec& spec,
                                  request& req, background_tasks& later) {
  if (expired(req))
    return expired_status(req);
  auto body = std::move(req.body);
  context ctx{self, std::move(req)};
  ctx.defer_background_to(&later);
  try {
    auto result = spec.sync(body, ctx);
    ctx.defer_background_to(nullptr);
    return result;
  } catch (...) {
    ctx.defer_background_to(nullptr);
    return thrown(ctx.route());
  }
}

caf::behavior sync_worker(worker_self self,
                          std::shared_ptr<const route_spec> spec) {
  return {
    [self, spec](request_atom, request& req) -> caf::result<response> {
      background_tasks later;
      auto result = run_sync(self, *spec, req, later);
      return reply_then_run(self, std::move(result), later);
    },
    [self, spec](request_atom, request_batch& batch) -> caf::result<reply_batch> {
      background_tasks later;
      auto replies = answer_batch(batch, [&](request& req) {
        return run_sync(self, *spec, req, later);
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
      if (expired(req))
        return to_error(expired_status(req));
      auto promise = self->make_response_promise();
      responder out{promise};
      auto body = std::move(req.body);
      context ctx{self, std::move(req)};
      try {
        spec->async(body, ctx, out);
      } catch (...) {
        out.fail(thrown(ctx.route()));
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
