#include "gateways/connection_events.hpp"

#include <caf/error.hpp>
#include <caf/sec.hpp>

#include "actors/event_bus.hpp"
#include "runtime/error_bridge.hpp"
#include "runtime/event.hpp"
#include "runtime/node_services.hpp"

namespace weft {

void emit_connection_event(caf::actor_system& sys, absl::string_view what,
                           const io::channel& channel,
                           absl::string_view protocol,
                           const std::string& client_id,
                           absl::string_view reason) {
  auto* services = services_of(sys);
  if (!services)
    return;
  event ev;
  ev.name = std::string{what};
  ev.attributes = {{"connection", std::to_string(channel.id())},
                   {"peer", channel.remote_address()},
                   {"protocol", std::string{protocol}},
                   {"client", client_id}};
  if (what == lifecycle::connection_closed)
    ev.attributes["reason"] = std::string{reason};
  services->emit(std::move(ev));
}

std::string close_reason(const caf::error& reason) {
  if (!reason || reason == caf::sec::none)
    return {};
  return std::string{to_string(code_of(reason))};
}

} // namespace weft
