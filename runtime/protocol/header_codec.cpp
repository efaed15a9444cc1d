#include "runtime/protocol/header_codec.hpp"

#include <cassert>
#include <cstring>
#include <optional>

#include <absl/strings/string_view.h>

namespace weft::protocol {

namespace {

// Field numbers and wire types of MessageHeader (schemas/weft/wire.proto).
enum field : std::uint32_t {
  id = 1,
  kind = 2,
  route = 3,
  reply_to = 4,
  content_type = 5,
  schema = 6,
  priority = 7,
  deadline_ms = 8,
  total_size = 10,
};
constexpr std::uint32_t varint_type = 0;
constexpr std::uint32_t length_type = 2;

/// Reads a varint of at most 10 bytes; false if it does not end in time.
bool read_varint(const std::uint8_t*& p, const std::uint8_t* end,
                 std::uint64_t& value) {
  if (p < end && *p < 0x80) { // a tag, a small number: one byte
    value = *p++;
    return true;
  }
  std::uint64_t v = 0;
  for (int shift = 0; shift < 70 && p < end; shift += 7) {
    auto byte = *p++;
    v |= std::uint64_t{byte & 0x7fu} << shift;
    if (byte < 0x80) {
      value = v;
      return true;
    }
  }
  return false;
}

bool ascii(const std::uint8_t* p, std::size_t n) {
  std::uint64_t any = 0;
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t word;
    std::memcpy(&word, p + i, 8);
    any |= word;
  }
  for (; i < n; ++i)
    any |= p[i];
  return (any & 0x8080808080808080ull) == 0;
}

/// Encodes `x` as a varint into `buf`; returns the bytes used.
std::size_t put_varint(char* buf, std::uint64_t x) {
  std::size_t n = 0;
  while (x >= 0x80) {
    buf[n++] = static_cast<char>((x & 0x7f) | 0x80);
    x >>= 7;
  }
  buf[n++] = static_cast<char>(x);
  return n;
}

/// Collects a header's fields in a buffer on the stack and appends them to
/// `out` in one piece: a std::string append per field cost more than the
/// encoding itself.
class field_writer {
public:
  explicit field_writer(std::string& out) : out_(out) {
  }

  field_writer(const field_writer&) = delete;
  field_writer& operator=(const field_writer&) = delete;

  ~field_writer() {
    out_.append(buf_, n_);
  }

  void varint(std::uint32_t number, std::uint64_t value) {
    room(2 * max_varint);
    n_ += put_varint(buf_ + n_, std::uint64_t{number} << 3);
    n_ += put_varint(buf_ + n_, value);
  }

  void text(std::uint32_t number, absl::string_view value) {
    if (value.empty())
      return;
    room(2 * max_varint);
    n_ += put_varint(buf_ + n_, (std::uint64_t{number} << 3) | length_type);
    n_ += put_varint(buf_ + n_, value.size());
    if (value.size() > sizeof buf_ - n_) {
      out_.append(buf_, n_);
      n_ = 0;
      out_.append(value.data(), value.size());
      return;
    }
    std::memcpy(buf_ + n_, value.data(), value.size());
    n_ += value.size();
  }

private:
  static constexpr std::size_t max_varint = 10;

  void room(std::size_t bytes) {
    if (sizeof buf_ - n_ < bytes) {
      out_.append(buf_, n_);
      n_ = 0;
    }
  }

  std::string& out_;
  char buf_[256];
  std::size_t n_ = 0;
};

/// An enum is an int32: a negative one takes ten bytes, sign-extended.
std::uint64_t enum_bits(int value) {
  return static_cast<std::uint64_t>(static_cast<std::int64_t>(value));
}

/// The fields of a header that has no metadata and no status.
struct plain_fields {
  std::uint32_t id = 0;
  int kind = 0;
  absl::string_view route;
  std::uint32_t reply_to = 0;
  absl::string_view content_type;
  absl::string_view schema;
  int priority = 0;
  std::uint32_t deadline_ms = 0;
  std::uint64_t total_size = 0;
};

/// Appends `f` as protobuf encodes it: fields in number order, defaults
/// left out.
void write_plain(const plain_fields& f, std::string& out) {
  field_writer w{out};
  if (f.id != 0)
    w.varint(field::id, f.id);
  if (f.kind != 0)
    w.varint(field::kind, enum_bits(f.kind));
  w.text(field::route, f.route);
  if (f.reply_to != 0)
    w.varint(field::reply_to, f.reply_to);
  w.text(field::content_type, f.content_type);
  w.text(field::schema, f.schema);
  if (f.priority != 0)
    w.varint(field::priority, enum_bits(f.priority));
  if (f.deadline_ms != 0)
    w.varint(field::deadline_ms, f.deadline_ms);
  if (f.total_size != 0)
    w.varint(field::total_size, f.total_size);
}

/// Clears every field of `h` but its three strings, which are left as
/// they are unless the header has metadata or a status (then Clear()).
void reset_all_but_strings(weft::wire::MessageHeader& h) {
  assert(h.GetReflection()->GetUnknownFields(h).empty());
  if (h.has_status() || h.metadata_size() > 0) {
    h.Clear();
    return;
  }
  h.clear_id();
  h.clear_kind();
  h.clear_reply_to();
  h.clear_priority();
  h.clear_deadline_ms();
  h.clear_total_size();
}

using weft::wire::MessageHeader;

/// Sets string field `Get` of `h` to `text` unless it holds that already,
/// or clears it if `text` is absent (the bytes did not carry it). The
/// accessors are template arguments so that the calls inline.
template <const std::string& (MessageHeader::*Get)() const,
          std::string* (MessageHeader::*Mutable)(),
          void (MessageHeader::*Clear)()>
void put_text(MessageHeader& h, const std::optional<absl::string_view>& text) {
  const auto& current = (h.*Get)();
  if (!text) {
    if (!current.empty())
      (h.*Clear)();
  } else if (current != *text) {
    (h.*Mutable)()->assign(text->data(), text->size());
  }
}

} // namespace

void reset_header(weft::wire::MessageHeader& h) {
  reset_all_but_strings(h);
  if (!h.route().empty())
    h.clear_route();
  if (!h.content_type().empty())
    h.clear_content_type();
  if (!h.schema().empty())
    h.clear_schema();
}

bool decode_header(absl::Span<const std::uint8_t> bytes,
                   weft::wire::MessageHeader& out) {
  auto slow = [&] {
    if (!out.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
      return false;
    // Unknown fields (a newer peer's, here or in the status) are nothing
    // weft reads or forwards: dropped, so that reset_header need not look
    // for them.
    out.DiscardUnknownFields();
    return true;
  };
  // The strings are kept and overwritten only when they differ (the next
  // message on a connection usually names the same route): assigning a
  // string cost more than the rest of the header.
  reset_all_but_strings(out);
  std::optional<absl::string_view> route;
  std::optional<absl::string_view> content_type;
  std::optional<absl::string_view> schema;
  const auto* p = bytes.data();
  const auto* end = p + bytes.size();
  while (p < end) {
    std::uint64_t tag = 0;
    if (!read_varint(p, end, tag) || tag > 0xffffffffu)
      return slow();
    auto number = static_cast<std::uint32_t>(tag >> 3);
    auto type = static_cast<std::uint32_t>(tag & 7);
    std::uint64_t value = 0;
    if (!read_varint(p, end, value))
      return slow();
    if (type == varint_type) {
      switch (number) {
        case field::id:
          out.set_id(static_cast<std::uint32_t>(value));
          break;
        case field::kind:
          out.set_kind(static_cast<weft::wire::Kind>(
            static_cast<std::int32_t>(value)));
          break;
        case field::reply_to:
          out.set_reply_to(static_cast<std::uint32_t>(value));
          break;
        case field::priority:
          out.set_priority(static_cast<weft::wire::Priority>(
            static_cast<std::int32_t>(value)));
          break;
        case field::deadline_ms:
          out.set_deadline_ms(static_cast<std::uint32_t>(value));
          break;
        case field::total_size:
          out.set_total_size(value);
          break;
        default:
          return slow();
      }
      continue;
    }
    // protobuf checks a string field's UTF-8; ASCII needs no check.
    if (type != length_type
        || value > static_cast<std::uint64_t>(end - p)
        || !ascii(p, static_cast<std::size_t>(value)))
      return slow();
    // A repeated field: the last one counts, as for protobuf.
    absl::string_view text{reinterpret_cast<const char*>(p),
                           static_cast<std::size_t>(value)};
    switch (number) {
      case field::route:
        route = text;
        break;
      case field::content_type:
        content_type = text;
        break;
      case field::schema:
        schema = text;
        break;
      default:
        return slow();
    }
    p += text.size();
  }
  // The views point into `bytes`, which outlive this call.
  put_text<&MessageHeader::route, &MessageHeader::mutable_route,
           &MessageHeader::clear_route>(out, route);
  put_text<&MessageHeader::content_type, &MessageHeader::mutable_content_type,
           &MessageHeader::clear_content_type>(out, content_type);
  put_text<&MessageHeader::schema, &MessageHeader::mutable_schema,
           &MessageHeader::clear_schema>(out, schema);
  return true;
}

void encode_header(const weft::wire::MessageHeader& header,
                   std::string& out) {
  encode_header(header, header.id(), header.total_size(), out);
}

void encode_header(const weft::wire::MessageHeader& header, std::uint32_t id,
                   std::uint64_t total_size, std::string& out) {
  if (header.metadata_size() > 0 || header.has_status()) {
    header.AppendPartialToString(&out);
    // A parser keeps a scalar field's last value: these override the
    // header's own.
    field_writer w{out};
    if (id != header.id())
      w.varint(field::id, id);
    if (total_size != header.total_size())
      w.varint(field::total_size, total_size);
    return;
  }
  write_plain({.id = id,
               .kind = header.kind(),
               .route = header.route(),
               .reply_to = header.reply_to(),
               .content_type = header.content_type(),
               .schema = header.schema(),
               .priority = header.priority(),
               .deadline_ms = header.deadline_ms(),
               .total_size = total_size},
              out);
}

void encode_reply_header(std::uint32_t id, std::uint32_t reply_to,
                         const std::string& content_type,
                         const std::string& schema, std::uint64_t total_size,
                         std::string& out) {
  if (content_type.empty() && schema.empty()) {
    // The usual reply: four varints, written straight into one buffer.
    // Every field number here is below 16, so each tag is one byte.
    char buf[4 * (1 + 10)];
    std::size_t n = 0;
    auto put = [&](std::uint32_t number, std::uint64_t value) {
      buf[n++] = static_cast<char>(number << 3);
      n += put_varint(buf + n, value);
    };
    if (id != 0)
      put(field::id, id);
    put(field::kind, weft::wire::KIND_REPLY);
    if (reply_to != 0)
      put(field::reply_to, reply_to);
    if (total_size != 0)
      put(field::total_size, total_size);
    out.append(buf, n);
    return;
  }
  write_plain({.id = id,
               .kind = weft::wire::KIND_REPLY,
               .route = {},
               .reply_to = reply_to,
               .content_type = content_type,
               .schema = schema,
               .priority = 0,
               .deadline_ms = 0,
               .total_size = total_size},
              out);
}

} // namespace weft::protocol
