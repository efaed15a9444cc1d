#include "runtime/protocol/frame_writer.hpp"

#include <algorithm>
#include <cstring>
#include <iterator>

#include "runtime/protocol/checksum.hpp"
#include "runtime/protocol/wire_format.hpp"

namespace weft::protocol {

namespace {

absl::Span<const std::uint8_t> bytes_of(absl::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()),
          std::min(text.size(), max_reason_size)};
}

} // namespace

namespace {

/// Bounds of a small-bytes block (see frame_writer::block_).
constexpr std::size_t min_block = 256;
constexpr std::size_t max_block = 64 * 1024;

} // namespace

void frame_writer::reserve_small(std::size_t n) {
  if (used_ + n <= block_size_)
    return;
  flush_small(out_);
  if (block_) {
    // A burst larger than the block: double for the rest of it.
    next_block_ = block_size_ * 2;
    grew_ = true;
  }
  auto size = std::max(n, std::clamp<std::size_t>(next_block_, min_block,
                                                  max_block));
  block_ = std::make_shared_for_overwrite<std::uint8_t[]>(size);
  block_size_ = static_cast<std::uint32_t>(size);
  flushed_ = 0;
  used_ = 0;
}

void frame_writer::append(absl::Span<const std::uint8_t> bytes) {
  if (bytes.empty())
    return;
  reserve_small(bytes.size());
  std::memcpy(block_.get() + used_, bytes.data(), bytes.size());
  used_ += static_cast<std::uint32_t>(bytes.size());
  size_ += bytes.size();
}

void frame_writer::append_u32(std::uint32_t x) {
  std::uint8_t buf[4];
  store_u32(buf, x);
  append(buf);
}

void frame_writer::append_u64(std::uint64_t x) {
  std::uint8_t buf[8];
  store_u64(buf, x);
  append(buf);
}

void frame_writer::flush_small(std::vector<shared_bytes>& out) {
  if (used_ == flushed_)
    return;
  shared_bytes whole{block_, used_};
  out.push_back(flushed_ == 0 ? std::move(whole)
                              : whole.slice(flushed_, used_ - flushed_));
  flushed_ = used_;
}

void frame_writer::append_slice(const shared_bytes& bytes) {
  if (bytes.size() < copy_below) {
    append(bytes.span());
    return;
  }
  flush_small(out_);
  out_.push_back(bytes);
  size_ += bytes.size();
}

void frame_writer::header(std::uint32_t length, std::uint8_t type,
                          std::uint8_t flags, std::uint32_t id) {
  ++frames_;
  std::uint8_t buf[frame_header_size] = {};
  store_u32(buf, length);
  buf[4] = type;
  buf[5] = flags;
  store_u32(buf + 8, id);
  append(buf);
}

void frame_writer::preface() {
  append(magic);
  std::uint8_t rest[4] = {version_major, version_minor, 0, 0};
  append(rest);
}

void frame_writer::settings(const protocol_settings& s) {
  auto payload = encode_settings_payload(s);
  header(static_cast<std::uint32_t>(payload.size()),
         static_cast<std::uint8_t>(frame_type::settings), 0, 0);
  append(payload);
}

void frame_writer::message(std::uint32_t id,
                           absl::Span<const std::uint8_t> hdr,
                           const shared_bytes& body, std::uint64_t checksum) {
  auto length = header_length_size + hdr.size() + body.size() + checksum_size;
  header(static_cast<std::uint32_t>(length),
         static_cast<std::uint8_t>(frame_type::message), 0, id);
  append_u32(static_cast<std::uint32_t>(hdr.size()));
  append(hdr);
  append_slice(body);
  append_u64(checksum);
}

void frame_writer::small_message(std::uint32_t id,
                                 absl::Span<const std::uint8_t> hdr,
                                 absl::Span<const std::uint8_t> body) {
  auto length = header_length_size + hdr.size() + body.size() + checksum_size;
  // Room for the whole frame first: the appends below stay in one block,
  // so header and body lie side by side there for the checksum.
  reserve_small(frame_header_size + length);
  header(static_cast<std::uint32_t>(length),
         static_cast<std::uint8_t>(frame_type::message), 0, id);
  append_u32(static_cast<std::uint32_t>(hdr.size()));
  auto summed_from = used_;
  append(hdr);
  append(body);
  checksum sum;
  sum.update({block_.get() + summed_from, hdr.size() + body.size()});
  append_u64(sum.digest());
}

void frame_writer::begin(std::uint32_t id, absl::Span<const std::uint8_t> hdr) {
  header(static_cast<std::uint32_t>(hdr.size()),
         static_cast<std::uint8_t>(frame_type::begin), 0, id);
  append(hdr);
}

void frame_writer::chunk(std::uint32_t id, const shared_bytes& body, bool end,
                         std::uint64_t checksum) {
  auto length = body.size() + (end ? checksum_size : 0);
  header(static_cast<std::uint32_t>(length),
         static_cast<std::uint8_t>(frame_type::chunk), end ? flag_end : 0, id);
  append_slice(body);
  if (end)
    append_u64(checksum);
}

void frame_writer::cancel(std::uint32_t id, errc code,
                          absl::string_view reason) {
  auto text = bytes_of(reason);
  header(static_cast<std::uint32_t>(4 + text.size()),
         static_cast<std::uint8_t>(frame_type::cancel), 0, id);
  append_u32(static_cast<std::uint32_t>(code));
  append(text);
}

void frame_writer::window(std::uint32_t id, std::uint32_t increment) {
  header(4, static_cast<std::uint8_t>(frame_type::window), 0, id);
  append_u32(increment);
}

void frame_writer::ping(bool ack, const std::array<std::uint8_t, 8>& opaque) {
  header(8, static_cast<std::uint8_t>(frame_type::ping), ack ? flag_ack : 0,
         0);
  append(opaque);
}

void frame_writer::goaway(std::uint32_t last_id, errc code,
                          absl::string_view text) {
  auto bytes = bytes_of(text);
  header(static_cast<std::uint32_t>(8 + bytes.size()),
         static_cast<std::uint8_t>(frame_type::goaway), 0, 0);
  append_u32(last_id);
  append_u32(static_cast<std::uint32_t>(code));
  append(bytes);
}

std::vector<shared_bytes> frame_writer::take() {
  std::vector<shared_bytes> result;
  take_into(result);
  return result;
}

void frame_writer::take_into(std::vector<shared_bytes>& out) {
  if (out_.empty()) {
    flush_small(out);
  } else {
    flush_small(out_);
    if (out.empty()) {
      out = std::move(out_);
    } else {
      out.insert(out.end(), std::make_move_iterator(out_.begin()),
                 std::make_move_iterator(out_.end()));
    }
    out_ = {};
  }
  // The next burst is likely about as large as this one.
  if (block_ && !grew_)
    next_block_ = used_;
  grew_ = false;
  block_.reset();
  block_size_ = 0;
  flushed_ = 0;
  used_ = 0;
  size_ = 0;
  frames_ = 0;
}

} // namespace weft::protocol
