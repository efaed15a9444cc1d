#include "tests/bench/echo_responder.hpp"

#include "runtime/errc.hpp"
#include "runtime/protocol/checksum.hpp"
#include "runtime/protocol/wire_format.hpp"
#include "weft/wire.pb.h"

namespace weft::bench {

using protocol::frame_type;

echo_responder::echo_responder()
  : decoder_(local_.max_frame_size, /*expect_preface=*/true) {
  writer_.preface();
  writer_.settings(local_);
}

absl::Status echo_responder::on_bytes(shared_bytes bytes,
                                      std::vector<echo_request>& requests) {
  decoder_.feed(std::move(bytes));
  for (;;) {
    switch (decoder_.next()) {
      case protocol::frame_decoder::result::need_more:
        return absl::OkStatus();
      case protocol::frame_decoder::result::error:
        return decoder_.error();
      case protocol::frame_decoder::result::preface:
        if (decoder_.preface().major != protocol::version_major)
          return absl::FailedPreconditionError("unsupported version");
        break;
      case protocol::frame_decoder::result::frame:
        if (auto st = on_frame(decoder_.take_frame(), requests); !st.ok())
          return st;
        break;
    }
  }
}

absl::Status echo_responder::on_frame(const protocol::frame& f,
                                      std::vector<echo_request>& requests) {
  if (!got_settings_) {
    if (!f.is(frame_type::settings))
      return absl::FailedPreconditionError("first frame is not SETTINGS");
    got_settings_ = true;
    return protocol::decode_settings_payload(f.payload.span()).status();
  }
  if (f.is(frame_type::ping)) {
    if ((f.flags & protocol::flag_ack) == 0 && f.payload.size() == 8) {
      std::array<std::uint8_t, 8> opaque;
      std::copy_n(f.payload.data(), 8, opaque.begin());
      writer_.ping(true, opaque);
    }
    return absl::OkStatus();
  }
  if (f.is(frame_type::goaway))
    return absl::CancelledError("peer sent GOAWAY");
  if (f.is(frame_type::begin) || f.is(frame_type::chunk))
    return absl::UnimplementedError("the reference echoes MESSAGE frames only");
  if (!f.is(frame_type::message))
    return absl::OkStatus(); // WINDOW, CANCEL, unknown: nothing to do
  // Connection credit, returned once half the window is used (as weft does).
  auto len = f.payload.size();
  unacked_ += len;
  if (unacked_ >= local_.initial_connection_window / 2) {
    writer_.window(0, static_cast<std::uint32_t>(unacked_));
    unacked_ = 0;
  }
  constexpr auto fixed = protocol::header_length_size + protocol::checksum_size;
  if (len < fixed)
    return absl::InvalidArgumentError("short MESSAGE");
  const auto* p = f.payload.data();
  auto header_len = protocol::load_u32(p);
  if (header_len > len - fixed)
    return absl::InvalidArgumentError("bad header length");
  weft::wire::MessageHeader header;
  if (!header.ParseFromArray(p + protocol::header_length_size,
                             static_cast<int>(header_len)))
    return absl::InvalidArgumentError("header does not parse");
  auto body_len = len - fixed - header_len;
  auto body = f.payload.slice(protocol::header_length_size + header_len,
                              body_len);
  auto header_bytes = f.payload.span().subspan(protocol::header_length_size,
                                               header_len);
  if (protocol::checksum::of(header_bytes, body.span())
      != protocol::load_u64(p + len - protocol::checksum_size)) {
    writer_.cancel(f.id, errc::checksum_mismatch, "CRC-64 checksum mismatch");
    return absl::OkStatus();
  }
  requests.push_back(
    echo_request{f.id, std::move(*header.mutable_content_type()), body});
  return absl::OkStatus();
}

void echo_responder::reply(const echo_request& req, const shared_bytes& body) {
  weft::wire::MessageHeader header;
  auto id = next_id_;
  next_id_ += 2;
  header.set_id(id);
  header.set_kind(weft::wire::KIND_REPLY);
  header.set_reply_to(req.id);
  header.set_content_type(req.content_type);
  header.set_total_size(body.size());
  header_buf_.resize(header.ByteSizeLong());
  header.SerializeWithCachedSizesToArray(header_buf_.data());
  writer_.message(id, header_buf_,
                  body, protocol::checksum::of(header_buf_, body.span()));
}

} // namespace weft::bench
