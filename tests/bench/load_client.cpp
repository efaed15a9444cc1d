#include "tests/bench/load_client.hpp"

#include <algorithm>
#include <array>

#include "runtime/errc.hpp"
#include "runtime/protocol/wire_format.hpp"
#include "tests/bench/bench_wire.hpp"

namespace weft::bench {

using protocol::frame_type;

load_client::load_client() : decoder_(local_.max_frame_size, true) {
  writer_.preface();
  writer_.settings(local_);
}

void load_client::consumed(std::size_t n) {
  unacked_ += n;
  if (unacked_ >= local_.initial_connection_window / 2) {
    writer_.window(0, static_cast<std::uint32_t>(unacked_));
    unacked_ = 0;
  }
}

absl::Status load_client::on_bytes(shared_bytes bytes,
                                   std::vector<load_reply>& replies) {
  decoder_.feed(std::move(bytes));
  for (;;) {
    switch (decoder_.next()) {
      case protocol::frame_decoder::result::need_more:
        return absl::OkStatus();
      case protocol::frame_decoder::result::error:
        return decoder_.error();
      case protocol::frame_decoder::result::preface:
        break;
      case protocol::frame_decoder::result::frame:
        if (auto st = on_frame(decoder_.take_frame(), replies); !st.ok())
          return st;
        break;
    }
  }
}

absl::Status load_client::on_frame(const protocol::frame& f,
                                   std::vector<load_reply>& replies) {
  const auto* p = f.payload.data();
  auto len = f.payload.size();
  switch (static_cast<frame_type>(f.type)) {
    case frame_type::settings: {
      auto s = protocol::decode_settings_payload(f.payload.span());
      if (!s.ok())
        return s.status();
      peer_ = *s;
      send_window_ = peer_.initial_connection_window;
      ready_ = true;
      return absl::OkStatus();
    }
    case frame_type::message: {
      consumed(len);
      constexpr auto fixed
        = protocol::header_length_size + protocol::checksum_size;
      if (len < fixed)
        return absl::InvalidArgumentError("short MESSAGE");
      auto header_len = protocol::load_u32(p);
      if (header_len > len - fixed)
        return absl::InvalidArgumentError("bad header length");
      absl::Span<const std::uint8_t> header{p + 4, header_len};
      absl::Span<const std::uint8_t> body{p + 4 + header_len,
                                          len - fixed - header_len};
      reply_fields fields;
      if (!parse_reply_header(header, fields))
        return absl::InvalidArgumentError("reply header does not parse");
      load_reply r;
      r.reply_to = fields.reply_to;
      r.code = fields.status_code;
      r.body_size = body.size();
      if (body.size() <= 256)
        r.small_body.assign(reinterpret_cast<const char*>(body.data()),
                            body.size());
      r.checksum_ok = protocol::checksum::of(header, body)
                      == protocol::load_u64(p + len - 8);
      replies.push_back(r);
      return absl::OkStatus();
    }
    case frame_type::begin: {
      reply_fields fields;
      if (!parse_reply_header(f.payload.span(), fields))
        return absl::InvalidArgumentError("reply header does not parse");
      in_id_ = f.id;
      in_reply_ = load_reply{};
      in_reply_.reply_to = fields.reply_to;
      in_reply_.code = fields.status_code;
      in_unacked_ = 0;
      return absl::OkStatus();
    }
    case frame_type::chunk: {
      consumed(len);
      if (f.id != in_id_)
        return absl::OkStatus();
      bool end = (f.flags & protocol::flag_end) != 0;
      in_reply_.body_size += end ? len - protocol::checksum_size : len;
      in_unacked_ += len;
      if (end) {
        replies.push_back(in_reply_);
        in_id_ = 0;
      } else if (in_unacked_ >= local_.initial_message_window / 2) {
        writer_.window(f.id, static_cast<std::uint32_t>(in_unacked_));
        in_unacked_ = 0;
      }
      return absl::OkStatus();
    }
    case frame_type::cancel: {
      load_reply r;
      r.reply_to = f.id;
      r.code = len >= 4 ? protocol::load_u32(p)
                        : static_cast<std::uint32_t>(errc::internal);
      replies.push_back(r);
      if (f.id == upload_id_)
        upload_id_ = 0;
      return absl::OkStatus();
    }
    case frame_type::window: {
      if (len != 4)
        return absl::InvalidArgumentError("bad WINDOW");
      auto inc = static_cast<std::int64_t>(protocol::load_u32(p));
      if (f.id == 0)
        send_window_ += inc;
      else if (f.id == upload_id_)
        upload_window_ += inc;
      return absl::OkStatus();
    }
    case frame_type::ping: {
      if ((f.flags & protocol::flag_ack) == 0 && len == 8) {
        std::array<std::uint8_t, 8> opaque;
        std::copy_n(p, 8, opaque.begin());
        writer_.ping(true, opaque);
      }
      return absl::OkStatus();
    }
    case frame_type::goaway:
      return absl::CancelledError("server sent GOAWAY");
    default:
      return absl::OkStatus();
  }
}

std::uint32_t load_client::request(absl::string_view route,
                                   std::uint32_t priority,
                                   const shared_bytes& body) {
  auto id = next_id_;
  next_id_ += 2;
  header_buf_.clear();
  encode_request_header(id, route, priority, body.size(), header_buf_);
  writer_.message(id, header_buf_, body,
                  protocol::checksum::of(header_buf_, body.span()));
  send_window_ -= static_cast<std::int64_t>(
    protocol::header_length_size + header_buf_.size() + body.size()
    + protocol::checksum_size);
  return id;
}

std::uint32_t load_client::begin_upload(absl::string_view route,
                                        std::uint32_t priority,
                                        std::uint64_t total) {
  auto id = next_id_;
  next_id_ += 2;
  header_buf_.clear();
  encode_request_header(id, route, priority, total, header_buf_);
  writer_.begin(id, header_buf_);
  upload_id_ = id;
  upload_total_ = total;
  upload_sent_ = 0;
  upload_window_ = peer_.initial_message_window;
  upload_sum_ = protocol::checksum{};
  upload_sum_.update(header_buf_);
  return id;
}

std::size_t load_client::upload_room() const noexcept {
  if (upload_id_ == 0)
    return 0;
  auto left = upload_total_ - upload_sent_;
  // The END chunk also carries the 8-byte checksum in the same frame.
  auto frame_room = static_cast<std::int64_t>(peer_.max_frame_size);
  auto room = std::min({send_window_, upload_window_, frame_room});
  if (static_cast<std::int64_t>(left) + 8 <= room)
    return static_cast<std::size_t>(left);
  if (static_cast<std::int64_t>(left) <= room)
    room = static_cast<std::int64_t>(left) - 1; // leave the END for later
  return room > 0 ? static_cast<std::size_t>(room) : 0;
}

void load_client::upload_chunk(const shared_bytes& piece) {
  upload_sum_.update(piece.span());
  upload_sent_ += piece.size();
  bool end = upload_sent_ == upload_total_;
  writer_.chunk(upload_id_, piece, end, end ? upload_sum_.digest() : 0);
  auto charged = static_cast<std::int64_t>(
    piece.size() + (end ? protocol::checksum_size : 0));
  send_window_ -= charged;
  upload_window_ -= charged;
  if (end)
    upload_id_ = 0;
}

} // namespace weft::bench
