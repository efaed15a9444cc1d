#include "runtime/route_handlers.hpp"

#include <exception>

#include <absl/strings/str_cat.h>
#include <absl/strings/string_view.h>

#include "runtime/answer_batch.hpp"
#include "runtime/error_bridge.hpp"
#include "runtime/reply_then_run.hpp"
#include "runtime/type_ids.hpp"

namespace weft {

namespace {

using table = absl::flat_hash_map<std::string, sync_handler>;

absl::StatusOr<response> answer(caf::event_based_actor* self,
                                const table& handlers, request& req,
                                background_tasks& later) {
  auto found = handlers.find(req.route);
  if (found == handlers.end()) {
    absl::string_view name = req.route;
    if (auto dot = name.rfind('.'); dot != absl::string_view::npos)
      found = handlers.find(name.substr(dot + 1));
  }
  if (found == handlers.end())
    return make_status(errc::not_found,
                       absl::StrCat("this actor does not answer '", req.route,
                                    "'"));
  auto body = std::move(req.body);
  context ctx{self, std::move(req)};
  ctx.defer_background_to(&later);
  try {
    auto result = found->second(body, ctx);
    ctx.defer_background_to(nullptr);
    return result;
  } catch (const std::exception& e) {
    ctx.defer_background_to(nullptr);
    return make_status(errc::handler_failed,
                       absl::StrCat("the handler of '", ctx.route(),
                                    "' threw: ", e.what()));
  } catch (...) {
    ctx.defer_background_to(nullptr);
    return make_status(errc::handler_failed,
                       absl::StrCat("the handler of '", ctx.route(), "' threw"));
  }
}

} // namespace

caf::behavior route_handlers::behavior() && {
  auto self = self_;
  auto handlers = std::move(handlers_);
  return {
    [self, handlers](request_atom, request& req) -> caf::result<response> {
      background_tasks later;
      auto result = answer(self, *handlers, req, later);
      return reply_then_run(self, std::move(result), later);
    },
    [self, handlers](request_atom,
                     request_batch& batch) -> caf::result<reply_batch> {
      background_tasks later;
      auto replies = answer_batch(batch, [&](request& req) {
        return answer(self, *handlers, req, later);
      });
      return reply_then_run(self, absl::StatusOr<reply_batch>{std::move(replies)},
                            later);
    },
  };
}

} // namespace weft
