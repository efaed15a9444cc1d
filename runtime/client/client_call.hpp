#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/meta/type_name.hpp>

#include "runtime/client/client.hpp"

namespace weft {

/// One call handed from a client object to its actor. Process-local: it
/// carries a callback, so it is never serialized (it prints as its token).
struct client_call {
  std::uint64_t token = 0;
  std::string route;
  payload body;
  call_options opts;
  std::function<void(call_result)> done;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, client_call& x) {
  return f(caf::meta::type_name("client_call"), x.token);
}

} // namespace weft

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(weft::client_call)
