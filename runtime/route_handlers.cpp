#include "runtime/route_handlers.hpp"

#include <exception>

#include <absl/strings/str_cat.h>
#include <absl/strings/string_view.h>

#include "runtime/answer_batch.hpp"
#include "runtime/error_bridge.hpp"
#include "runtime/type_ids.hpp"

namespace weft {

namespace {

using table = absl::flat_hash_map<std::string, sync_handler>;

absl::StatusOr<response> answer(caf::event_based_actor* self,
                                const table& handlers, request& req) {
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
  try {
    return found->second(body, ctx);
  } catch (const std::exception& e) {
    return make_status(errc::handler_failed,
                       absl::StrCat("the handler of '", ctx.route(),
                                    "' threw: ", e.what()));
  } catch (...) {
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
      auto result = answer(self, *handlers, req);
      if (!result.ok())
        return to_error(result.status());
      return std::move(*result);
    },
    [self, handlers](request_atom, request_batch& batch) -> reply_batch {
      return answer_batch(batch, [&](request& req) {
        return answer(self, *handlers, req);
      });
    },
  };
}

} // namespace weft
