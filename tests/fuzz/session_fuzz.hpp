#pragma once

// Shared by the session fuzz target and its corpus generator: the options
// of the session under test and the layout of a fuzz input.
//
//  byte 0: flags
//    bit 0  prepend a valid peer preface + SETTINGS to the rest
//    bit 1  the session under test is a client (else a server)
//    bits 2-7  seed of the byte-stream cuts and the virtual clock
//    bit 7  also: chunked requests' bodies are streamed (body_stream_filter)
//  bytes 1..: the byte stream the peer sends

#include <cstdint>
#include <string>

#include "runtime/protocol/session.hpp"

namespace weft::protocol::fuzz {

inline constexpr std::uint8_t flag_prefix = 0x01;
inline constexpr std::uint8_t flag_client = 0x02;
inline constexpr std::uint8_t flag_stream = 0x80;

/// Small limits, so that a short input reaches every limit.
inline session_options options(const std::string& spill_dir) {
  session_options opt;
  opt.local.max_frame_size = 16 * 1024;
  opt.local.max_header_size = 1024;
  opt.local.max_message_size = 4 * 1024 * 1024;
  opt.local.max_concurrent_messages = 8;
  opt.local.initial_message_window = 16 * 1024;
  opt.local.initial_connection_window = 64 * 1024;
  opt.local.heartbeat_interval_ms = 1000;
  opt.local.idle_timeout_ms = 5000;
  opt.spill_threshold = 32 * 1024;
  opt.memory_budget = 128 * 1024;
  opt.spill_dir = spill_dir;
  opt.max_queued_control = 32;
  opt.cancel_burst = 50;
  opt.cancel_rate = 10;
  opt.progress_min_size = 8 * 1024;
  return opt;
}

} // namespace weft::protocol::fuzz
