#pragma once

#include <functional>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/meta/type_name.hpp>

namespace weft {

/// Carries one task of a background pool (actors/background_pool.hpp) in
/// `(background_atom, background_task)`: from the submitting thread to the
/// pool actor, then to the worker actor that runs it. Process-local.
struct background_task {
  /// The task itself; never empty (submit refuses empty functions).
  std::function<void()> run;
};

/// Prints the type name only (the function is process-local).
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, background_task&) {
  return f(caf::meta::type_name("background_task"));
}

} // namespace weft

// A function never leaves the process; CAF skips it when serializing.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(weft::background_task)
