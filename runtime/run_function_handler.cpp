#include "runtime/run_function_handler.hpp"

#include <exception>
#include <string>
#include <utility>

#include <absl/strings/str_cat.h>
#include <absl/time/clock.h>
#include <caf/event_based_actor.hpp>

#include "runtime/context.hpp"
#include "runtime/error_bridge.hpp"

namespace weft {

absl::Status check_not_expired(const request& req) {
  if (req.deadline_ns != 0
      && absl::ToUnixNanos(absl::Now()) > req.deadline_ns)
    return make_status(errc::deadline_exceeded,
                       absl::StrCat("the deadline of '", req.route,
                                    "' passed before its handler ran"));
  return absl::OkStatus();
}

absl::Status status_of_thrown(const std::string& route) {
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

absl::StatusOr<response> run_function_handler(caf::event_based_actor* self,
                                              const route_spec& spec,
                                              request& req,
                                              background_tasks& later) {
  if (auto st = check_not_expired(req); !st.ok())
    return st;
  auto body = std::move(req.body);
  context ctx{self, std::move(req)};
  ctx.defer_background_to(&later);
  try {
    auto result = spec.sync(body, ctx);
    ctx.defer_background_to(nullptr);
    return result;
  } catch (...) {
    ctx.defer_background_to(nullptr);
    return status_of_thrown(ctx.route());
  }
}

} // namespace weft
