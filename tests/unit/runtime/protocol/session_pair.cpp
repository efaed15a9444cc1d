#include "tests/unit/runtime/protocol/session_pair.hpp"

#include <chrono>
#include <thread>

#include <algorithm>

#include "runtime/protocol/checksum.hpp"
#include "runtime/protocol/frame_writer.hpp"
#include "runtime/protocol/wire_format.hpp"

namespace weft::protocol::testing {

namespace {

absl::Span<const std::uint8_t> span_of(absl::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

} // namespace

std::string concat(const std::vector<shared_bytes>& slices) {
  std::string out;
  for (const auto& s : slices)
    out.append(s.view().data(), s.size());
  return out;
}

std::vector<wire_frame> parse_frames(absl::string_view stream,
                                     bool has_preface) {
  std::vector<wire_frame> out;
  std::size_t pos = has_preface ? preface_size : 0;
  const auto* p = reinterpret_cast<const std::uint8_t*>(stream.data());
  while (pos + frame_header_size <= stream.size()) {
    auto length = load_u32(p + pos);
    if (pos + frame_header_size + length > stream.size())
      break;
    wire_frame f;
    f.type = p[pos + 4];
    f.flags = p[pos + 5];
    f.id = load_u32(p + pos + 8);
    f.payload_offset = pos + frame_header_size;
    f.payload = std::string{stream.substr(f.payload_offset, length)};
    out.push_back(std::move(f));
    pos += frame_header_size + length;
  }
  return out;
}

errc code_of_frame(const wire_frame& f) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(f.payload.data());
  if (f.is(frame_type::cancel) && f.payload.size() >= 4)
    return static_cast<errc>(load_u32(p));
  if (f.is(frame_type::goaway) && f.payload.size() >= 8)
    return static_cast<errc>(load_u32(p + 4));
  return errc::internal;
}

std::string raw_frame(std::uint8_t type, std::uint8_t flags, std::uint32_t id,
                      absl::string_view payload, std::uint16_t reserved) {
  std::string out(frame_header_size, '\0');
  auto* p = reinterpret_cast<std::uint8_t*>(out.data());
  store_u32(p, static_cast<std::uint32_t>(payload.size()));
  p[4] = type;
  p[5] = flags;
  store_u16(p + 6, reserved);
  store_u32(p + 8, id);
  out.append(payload.data(), payload.size());
  return out;
}

std::string raw_frame(frame_type type, std::uint8_t flags, std::uint32_t id,
                      absl::string_view payload) {
  return raw_frame(static_cast<std::uint8_t>(type), flags, id, payload);
}

std::string raw_preface_and_settings(const protocol_settings& s,
                                     std::uint8_t major) {
  std::string out(magic.begin(), magic.end());
  out.push_back(static_cast<char>(major));
  out.push_back(static_cast<char>(version_minor));
  out.append(2, '\0');
  auto payload = encode_settings_payload(s);
  out += raw_frame(frame_type::settings, 0, 0,
                   {reinterpret_cast<const char*>(payload.data()),
                    payload.size()});
  return out;
}

std::string be32(std::uint32_t x) {
  std::string out(4, '\0');
  store_u32(reinterpret_cast<std::uint8_t*>(out.data()), x);
  return out;
}

std::string be64(std::uint64_t x) {
  std::string out(8, '\0');
  store_u64(reinterpret_cast<std::uint8_t*>(out.data()), x);
  return out;
}

std::string encoded_header(weft::wire::MessageHeader header, std::uint32_t id,
                           std::uint64_t total_size) {
  header.set_id(id);
  header.set_total_size(total_size);
  return header.SerializeAsString();
}

std::string message_payload(weft::wire::MessageHeader header,
                            absl::string_view body) {
  auto hdr = header.SerializeAsString();
  return be32(static_cast<std::uint32_t>(hdr.size())) + hdr + std::string{body}
         + be64(checksum::of(span_of(hdr), span_of(body)));
}

weft::wire::MessageHeader request(absl::string_view route,
                                  weft::wire::Priority priority) {
  weft::wire::MessageHeader h;
  h.set_kind(weft::wire::KIND_REQUEST);
  h.set_route(std::string{route});
  h.set_priority(priority);
  return h;
}

weft::wire::MessageHeader one_way(weft::wire::Priority priority) {
  weft::wire::MessageHeader h;
  h.set_kind(weft::wire::KIND_ONE_WAY);
  h.set_route("sink");
  h.set_priority(priority);
  return h;
}

weft::wire::MessageHeader reply_to(std::uint32_t request_id) {
  weft::wire::MessageHeader h;
  h.set_kind(weft::wire::KIND_REPLY);
  h.set_reply_to(request_id);
  return h;
}

shared_bytes random_bytes(std::size_t n, std::uint64_t seed) {
  std::vector<std::uint8_t> out(n);
  std::uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  std::size_t i = 0;
  while (i < n) {
    // splitmix64
    x += 0x9E3779B97F4A7C15ull;
    auto z = x;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    for (int k = 0; k < 8 && i < n; ++k, ++i)
      out[i] = static_cast<std::uint8_t>(z >> (8 * k));
  }
  return shared_bytes{std::move(out)};
}

std::vector<session_event> of_kind(absl::Span<const session_event> events,
                                   session_event::kind what) {
  std::vector<session_event> out;
  for (const auto& ev : events)
    if (ev.what == what)
      out.push_back(ev);
  return out;
}

// -- session_pair --------------------------------------------------------------

session_pair::session_pair(session_options client_options,
                           session_options server_options, std::uint64_t seed)
  : rng(seed),
    now_(absl::FromUnixSeconds(1'700'000'000)),
    client_(role::client, std::move(client_options), now_),
    server_(role::server, std::move(server_options), now_) {
}

std::vector<session_event>& session_pair::client_events() {
  for (auto& ev : client_.s.take_events())
    client_.events.push_back(std::move(ev));
  return client_.events;
}

std::vector<session_event>& session_pair::server_events() {
  for (auto& ev : server_.s.take_events())
    server_.events.push_back(std::move(ev));
  return server_.events;
}

void session_pair::record(side& from, const shared_bytes& bytes) {
  if (!tap)
    return;
  from.tap_decoder.feed(bytes);
  for (;;) {
    auto r = from.tap_decoder.next();
    if (r == frame_decoder::result::frame) {
      auto f = from.tap_decoder.take_frame();
      wire_frame w;
      w.type = f.type;
      w.flags = f.flags;
      w.id = f.id;
      w.payload = f.payload.to_string();
      from.wrote.push_back(std::move(w));
    } else if (r != frame_decoder::result::preface) {
      return;
    }
  }
}

std::size_t session_pair::pump_from(side& from, std::size_t max_bytes) {
  std::size_t n = 0;
  for (auto& slice : from.s.take_output(max_bytes)) {
    n += slice.size();
    record(from, slice);
    from.in_flight.push_back(std::move(slice));
  }
  client_events();
  server_events();
  if (!from.hold)
    n += deliver(from, peer_of(from));
  return n;
}

void session_pair::release(side& from) {
  deliver(from, peer_of(from));
}

std::size_t session_pair::deliver(side& from, side& to) {
  std::size_t n = 0;
  while (!from.in_flight.empty()) {
    auto bytes = std::move(from.in_flight.front());
    from.in_flight.pop_front();
    n += bytes.size();
    switch (cut) {
      case cut_mode::as_written:
        to.s.on_bytes(std::move(bytes), now_, to.streams);
        break;
      case cut_mode::byte_by_byte:
        for (std::size_t i = 0; i < bytes.size(); ++i)
          to.s.on_bytes(bytes.slice(i, 1), now_, to.streams);
        break;
      case cut_mode::random: {
        std::size_t pos = 0;
        while (pos < bytes.size()) {
          // Log-uniform piece sizes from 1 byte to the whole slice.
          auto bits = rng() % 21;
          auto piece = std::min<std::size_t>(
            bytes.size() - pos, 1 + (rng() % (std::size_t{1} << bits)));
          to.s.on_bytes(bytes.slice(pos, piece), now_, to.streams);
          pos += piece;
        }
        break;
      }
    }
  }
  client_events();
  server_events();
  return n;
}

std::size_t session_pair::pump(std::size_t max_bytes) {
  std::size_t rounds = 0;
  for (; rounds < 1'000'000; ++rounds) {
    auto moved = pump_from(client_, max_bytes) + pump_from(server_, max_bytes);
    if (moved != 0)
      continue;
    // A spilled message is delivered, and its credit returned, once its
    // writer thread caught up: wait for it (in real time; bounded).
    if (!client_.s.spilling() && !server_.s.spilling())
      break;
    for (int wait = 0; wait < 100'000 && (client_.s.spilling()
                                          || server_.s.spilling());
         ++wait) {
      std::this_thread::sleep_for(std::chrono::microseconds(100));
      tick();
    }
  }
  return rounds;
}

void session_pair::tick() {
  client_.s.on_tick(now_);
  server_.s.on_tick(now_);
  client_events();
  server_events();
}

} // namespace weft::protocol::testing
