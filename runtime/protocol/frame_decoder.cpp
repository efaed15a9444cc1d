#include "runtime/protocol/frame_decoder.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include <absl/strings/str_cat.h>

#include "runtime/error_bridge.hpp"
#include "runtime/protocol/wire_format.hpp"

namespace weft::protocol {

absl::Status measure_unit(absl::Span<const std::uint8_t> buffered,
                          bool expect_preface, std::uint32_t max_frame_size,
                          unit_size& out) {
  out = unit_size{};
  if (expect_preface) {
    auto n = std::min(buffered.size(), magic.size());
    if (!std::equal(buffered.begin(), buffered.begin() + static_cast<long>(n),
                    magic.begin()))
      return make_status(errc::bad_preface,
                         "the connection did not start with weft's magic bytes");
    out.need = preface_size;
    if (buffered.size() >= preface_size)
      out.complete = preface_size;
    return absl::OkStatus();
  }
  if (buffered.size() < frame_header_size)
    return absl::OkStatus();
  auto length = load_u32(buffered.data());
  if (length > max_frame_size)
    return make_status(errc::frame_too_large,
                       absl::StrCat("frame length ", length,
                                    " exceeds the max frame size ",
                                    max_frame_size));
  if (load_u16(buffered.data() + 6) != 0)
    return make_status(errc::malformed_frame,
                       "reserved bits of a frame header are set");
  out.need = frame_header_size + length;
  if (buffered.size() >= out.need)
    out.complete = out.need;
  return absl::OkStatus();
}

frame_decoder::frame_decoder(std::uint32_t max_frame_size, bool expect_preface)
  : max_frame_size_(max_frame_size), expect_preface_(expect_preface) {
}

void frame_decoder::feed(shared_bytes bytes) {
  if (bytes.empty() || !error_.ok())
    return;
  buffered_ += bytes.size();
  segments_.push_back(std::move(bytes));
}

void frame_decoder::peek(std::uint8_t* out, std::size_t n) const {
  for (std::size_t i = 0; i < segments_.size(); ++i) {
    const auto& seg = segments_[i];
    if (n == 0)
      return;
    auto k = std::min(n, seg.size());
    std::memcpy(out, seg.data(), k);
    out += k;
    n -= k;
  }
}

shared_bytes frame_decoder::take(std::size_t n) {
  buffered_ -= n;
  if (n == 0)
    return shared_bytes{};
  auto& front = segments_.front();
  // Moving and narrowing views leaves the shared reference count alone: a
  // frame taken from a segment costs one increment (its own view).
  if (front.size() == n) {
    auto head = std::move(front);
    segments_.pop_front();
    return head;
  }
  if (front.size() > n) {
    auto head = front.slice(0, n);
    front.narrow(n, front.size() - n);
    return head;
  }
  // The unit spans several reads: gather it (its size was checked already).
  return shared_bytes::allocate(n, [this, n](absl::Span<std::uint8_t> out) {
    std::size_t done = 0;
    while (done < n) {
      auto& seg = segments_.front();
      auto k = std::min(n - done, seg.size());
      std::memcpy(out.data() + done, seg.data(), k);
      done += k;
      if (k == seg.size())
        segments_.pop_front();
      else
        seg = seg.slice(k, seg.size() - k);
    }
  });
}

void frame_decoder::skip(std::size_t n) {
  buffered_ -= n;
  while (n > 0) {
    auto& front = segments_.front();
    if (front.size() > n) {
      front.narrow(n, front.size() - n);
      return;
    }
    n -= front.size();
    segments_.pop_front();
  }
}

frame_decoder::result frame_decoder::fail(absl::Status st) {
  error_ = std::move(st);
  segments_ = {};
  buffered_ = 0;
  return result::error;
}

frame_decoder::result frame_decoder::next() {
  if (!error_.ok())
    return result::error;
  // The usual case: the whole frame lies in the first segment (a read
  // holds whole frames). Its header is read in place; anything unusual
  // (a preface, a frame across segments, a bad header) takes the general
  // path below, which reports the errors.
  if (!expect_preface_ && !segments_.empty()) {
    auto& front = segments_.front();
    const auto* p = front.data();
    if (front.size() >= frame_header_size) {
      auto length = load_u32(p);
      auto need = frame_header_size + std::size_t{length};
      if (length <= max_frame_size_ && load_u16(p + 6) == 0
          && front.size() >= need) {
        frame_.type = p[4];
        frame_.flags = p[5];
        frame_.id = load_u32(p + 8);
        buffered_ -= need;
        if (front.size() == need) {
          // The segment becomes the payload: no reference count touched.
          if (length == 0) {
            frame_.payload = shared_bytes{};
          } else {
            front.narrow(frame_header_size, length);
            frame_.payload = std::move(front);
          }
          segments_.pop_front();
        } else {
          frame_.payload = length == 0
                             ? shared_bytes{}
                             : front.slice(frame_header_size, length);
          front.narrow(need, front.size() - need);
        }
        return result::frame;
      }
    }
  }
  std::uint8_t head[frame_header_size];
  auto have = std::min(buffered_, sizeof(head));
  peek(head, have);
  unit_size size;
  if (auto st = measure_unit({head, have}, expect_preface_, max_frame_size_,
                             size);
      !st.ok())
    return fail(std::move(st));
  // measure_unit saw only the first bytes: whether the whole unit is here
  // depends on everything buffered.
  if (size.need == 0 || buffered_ < size.need)
    return result::need_more;
  if (expect_preface_) {
    skip(preface_size);
    preface_.major = head[8];
    preface_.minor = head[9];
    expect_preface_ = false;
    return result::preface;
  }
  skip(frame_header_size);
  frame_.type = head[4];
  frame_.flags = head[5];
  frame_.id = load_u32(head + 8);
  frame_.payload = take(size.need - frame_header_size);
  return result::frame;
}

} // namespace weft::protocol
