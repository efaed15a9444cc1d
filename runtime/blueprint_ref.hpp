#pragma once

#include <memory>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/meta/type_name.hpp>

namespace weft {

class blueprint;

/// Carries a blueprint (blueprint.hpp) to the router in
/// `(register_atom, blueprint_ref)`. Process-local: not serializable.
struct blueprint_ref {
  /// shared_ptr: the router keeps the blueprint's routes and middleware,
  /// which edges then share through route tables.
  std::shared_ptr<const blueprint> ptr;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, blueprint_ref&) {
  return f(caf::meta::type_name("blueprint_ref"));
}

} // namespace weft

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(weft::blueprint_ref)
