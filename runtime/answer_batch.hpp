#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include <absl/status/statusor.h>

#include "runtime/error_bridge.hpp"
#include "runtime/request.hpp"

namespace weft {

/// Answers every request of `batch` with `answer(request&) ->
/// absl::StatusOr<response>`, in order: the body of a handler actor's
/// (request_atom, request_batch) -> reply_batch.
template <class Answer>
reply_batch answer_batch(request_batch& batch, Answer&& answer) {
  reply_batch out;
  out.items.reserve(batch.items.size());
  for (auto& req : batch.items) {
    auto& r = out.items.emplace_back();
    r.message_id = req.message_id;
    absl::StatusOr<response> result = answer(req);
    if (result.ok()) {
      r.rsp = std::move(*result);
    } else {
      r.code = static_cast<std::uint8_t>(code_of(result.status()));
      r.message = std::string{result.status().message()};
    }
  }
  return out;
}

} // namespace weft
