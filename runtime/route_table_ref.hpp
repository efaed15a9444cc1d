#pragma once

#include <cstdint>
#include <memory>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/meta/type_name.hpp>

namespace weft {

struct route_table;

/// Carries a route table (route_table.hpp) between actors of one process in
/// `(routes_atom, route_table_ref)`. Not serializable: prints its version.
struct route_table_ref {
  /// shared_ptr: one immutable table is read by every edge actor.
  std::shared_ptr<const route_table> ptr;
  std::uint64_t version = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, route_table_ref& x) {
  return f(caf::meta::type_name("route_table_ref"), x.version);
}

} // namespace weft

// The shared_ptr never leaves the process; CAF skips it when serializing.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(weft::route_table_ref)
