#pragma once

#include <map>
#include <string>

#include <absl/strings/string_view.h>
#include <caf/meta/type_name.hpp>

#include "runtime/shared_bytes.hpp"

namespace weft {

/// Small string attributes of an event ("peer" -> "127.0.0.1:5000"),
/// ordered so that an event prints and serializes the same way every time.
using event_attributes = std::map<std::string, std::string>;

/// One event of the event bus (actors/event_bus.hpp): a name such as
/// "connection.opened", opaque bytes and a few string attributes. A plain
/// value: copies share the payload bytes; safe to pass between threads and,
/// through inspect, between nodes.
struct event {
  /// The event's name; subscribers are chosen by exact match.
  std::string name;
  /// Opaque bytes, empty for most lifecycle events.
  shared_bytes payload;
  /// Named string values (see the lifecycle events in actors/event_bus.hpp).
  event_attributes attributes;

  /// Returns the attribute `key`, or "" when the event has none by that name.
  absl::string_view attribute(absl::string_view key) const {
    auto i = attributes.find(std::string{key});
    return i == attributes.end() ? absl::string_view{}
                                 : absl::string_view{i->second};
  }
};

/// Serializes the name, the payload bytes and the attributes.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, event& x) {
  return f(caf::meta::type_name("event"), x.name, x.payload, x.attributes);
}

/// Equal names, payload bytes and attributes.
inline bool operator==(const event& a, const event& b) {
  return a.name == b.name && a.payload == b.payload
         && a.attributes == b.attributes;
}

} // namespace weft
