#include "runtime/protocol/protocol_settings.hpp"

#include <absl/strings/str_cat.h>

#include "runtime/error_bridge.hpp"
#include "runtime/protocol/wire_format.hpp"

namespace weft::protocol {

namespace {

struct range {
  setting_id id;
  const char* name;
  std::uint32_t protocol_settings::*field;
  std::uint32_t min;
  std::uint32_t max;
};

constexpr range ranges[] = {
  {setting_id::max_frame_size, "MAX_FRAME_SIZE",
   &protocol_settings::max_frame_size, 1024, 16'777'215},
  {setting_id::max_message_size, "MAX_MESSAGE_SIZE",
   &protocol_settings::max_message_size, 1, 0xffffffff},
  {setting_id::max_header_size, "MAX_HEADER_SIZE",
   &protocol_settings::max_header_size, 256, 1024 * 1024},
  {setting_id::max_concurrent_messages, "MAX_CONCURRENT_MESSAGES",
   &protocol_settings::max_concurrent_messages, 1, max_window},
  {setting_id::initial_message_window, "INITIAL_MESSAGE_WINDOW",
   &protocol_settings::initial_message_window, 1024, max_window},
  {setting_id::initial_connection_window, "INITIAL_CONNECTION_WINDOW",
   &protocol_settings::initial_connection_window, 65536, max_window},
  {setting_id::heartbeat_interval_ms, "HEARTBEAT_INTERVAL_MS",
   &protocol_settings::heartbeat_interval_ms, 0, max_window},
  {setting_id::idle_timeout_ms, "IDLE_TIMEOUT_MS",
   &protocol_settings::idle_timeout_ms, 0, max_window},
};

} // namespace

absl::Status validate(const protocol_settings& s) {
  for (const auto& r : ranges) {
    auto value = s.*(r.field);
    if (value < r.min || value > r.max)
      return make_status(errc::malformed_frame,
                         absl::StrCat("setting ", r.name, "=", value,
                                      " outside [", r.min, ", ", r.max, "]"));
  }
  return absl::OkStatus();
}

std::vector<std::uint8_t> encode_settings_payload(const protocol_settings& s) {
  std::vector<std::uint8_t> out(std::size(ranges) * setting_entry_size);
  auto* p = out.data();
  for (const auto& r : ranges) {
    store_u16(p, static_cast<std::uint16_t>(r.id));
    store_u32(p + 2, s.*(r.field));
    p += setting_entry_size;
  }
  return out;
}

absl::StatusOr<protocol_settings>
decode_settings_payload(absl::Span<const std::uint8_t> payload) {
  if (payload.size() % setting_entry_size != 0)
    return make_status(errc::malformed_frame,
                       absl::StrCat("SETTINGS length ", payload.size(),
                                    " is not a multiple of 6"));
  protocol_settings result;
  for (std::size_t i = 0; i < payload.size(); i += setting_entry_size) {
    auto id = load_u16(payload.data() + i);
    auto value = load_u32(payload.data() + i + 2);
    for (const auto& r : ranges)
      if (static_cast<std::uint16_t>(r.id) == id)
        result.*(r.field) = value;
  }
  if (auto st = validate(result); !st.ok())
    return st;
  return result;
}

} // namespace weft::protocol
