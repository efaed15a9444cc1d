#pragma once

#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>

#include <absl/status/status.h>
#include <absl/status/statusor.h>

#include "runtime/error_bridge.hpp"
#include "runtime/request.hpp"

namespace weft {

/// Answers every request of `batch` with `answer(request&) ->
/// absl::StatusOr<response>`, in order: the body of a handler actor's
/// (request_atom, request_batch) -> reply_batch. An `answer(request&,
/// response& out) -> absl::Status` writes its response in place instead,
/// which saves moving it twice (it matters for the smallest handlers).
template <class Answer>
reply_batch answer_batch(request_batch& batch, Answer&& answer) {
  reply_batch out;
  out.items.reserve(batch.items.size());
  for (auto& req : batch.items) {
    auto& r = out.items.emplace_back();
    r.message_id = req.message_id;
    if constexpr (std::is_invocable_v<Answer&, request&, response&>) {
      absl::Status st = answer(req, r.rsp);
      if (!st.ok()) {
        r.rsp = response{};
        r.code = static_cast<std::uint8_t>(code_of(st));
        r.message = std::string{st.message()};
      }
    } else {
      absl::StatusOr<response> result = answer(req);
      if (result.ok()) {
        r.rsp = std::move(*result);
      } else {
        r.code = static_cast<std::uint8_t>(code_of(result.status()));
        r.message = std::string{result.status().message()};
      }
    }
  }
  return out;
}

} // namespace weft
