// The hand codec of MessageHeader against protobuf's own: the same bytes
// out, the same header (or the same failure) in, for random headers and
// for damaged and random bytes.

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include "runtime/protocol/header_codec.hpp"

namespace weft::protocol {
namespace {

using weft::wire::MessageHeader;

class header_maker {
public:
  explicit header_maker(std::uint32_t seed) : rng_(seed) {
  }

  MessageHeader make() {
    MessageHeader h;
    // Each field present about half the time, with edge values often.
    if (coin())
      h.set_id(u32());
    if (coin())
      h.set_kind(static_cast<weft::wire::Kind>(enum_value()));
    if (coin())
      h.set_route(text());
    if (coin())
      h.set_reply_to(u32());
    if (coin())
      h.set_content_type(text());
    if (coin())
      h.set_schema(text());
    if (coin())
      h.set_priority(static_cast<weft::wire::Priority>(enum_value()));
    if (coin())
      h.set_deadline_ms(u32());
    if (pick(4) == 0)
      (*h.mutable_metadata())[text()] = text();
    if (coin())
      h.set_total_size(u64());
    if (pick(8) == 0) {
      h.mutable_status()->set_code(u32());
      h.mutable_status()->set_message(text());
    }
    return h;
  }

  std::uint32_t pick(std::uint32_t n) {
    return std::uniform_int_distribution<std::uint32_t>{0, n - 1}(rng_);
  }

  std::mt19937& rng() {
    return rng_;
  }

private:
  bool coin() {
    return pick(2) == 0;
  }

  std::uint32_t u32() {
    switch (pick(4)) {
      case 0:
        return 0;
      case 1:
        return 0xffffffffu;
      case 2:
        return pick(200);
      default:
        return static_cast<std::uint32_t>(rng_());
    }
  }

  std::uint64_t u64() {
    return pick(2) == 0 ? pick(1000)
                        : (std::uint64_t{rng_()} << 32) | rng_();
  }

  int enum_value() {
    // Open proto3 enums: unknown and negative values survive a round trip.
    static constexpr int values[] = {0, 1, 2, 3, 4, 17, -1, -300};
    return values[pick(8)];
  }

  std::string text() {
    static const std::string samples[] = {
      "", "echo", "application/octet-stream", "weft.examples.hello.Greet",
      std::string(200, 'r'), "caf\xc3\xa9", std::string("nul\0in", 6)};
    return samples[pick(7)];
  }

  std::mt19937 rng_;
};

std::string encoded(const MessageHeader& h) {
  std::string out;
  encode_header(h, out);
  return out;
}

absl::Span<const std::uint8_t> span_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

/// A header with every field of its descriptor set to a non-default value
/// (a field added to the schema later is set too), plus an unknown field.
MessageHeader every_field_set() {
  MessageHeader h;
  const auto* desc = h.GetDescriptor();
  const auto* refl = h.GetReflection();
  for (int i = 0; i < desc->field_count(); ++i) {
    const auto* f = desc->field(i);
    using field_type = google::protobuf::FieldDescriptor;
    if (f->is_map()) {
      auto* entry = refl->AddMessage(&h, f);
      const auto* ed = entry->GetDescriptor();
      entry->GetReflection()->SetString(entry, ed->field(0), "k");
      entry->GetReflection()->SetString(entry, ed->field(1), "v");
      continue;
    }
    switch (f->cpp_type()) {
      case field_type::CPPTYPE_UINT32:
        refl->SetUInt32(&h, f, 7);
        break;
      case field_type::CPPTYPE_UINT64:
        refl->SetUInt64(&h, f, 7);
        break;
      case field_type::CPPTYPE_ENUM:
        refl->SetEnumValue(&h, f, 1);
        break;
      case field_type::CPPTYPE_STRING:
        refl->SetString(&h, f, "set");
        break;
      case field_type::CPPTYPE_MESSAGE:
        refl->MutableMessage(&h, f);
        break;
      default:
        ADD_FAILURE() << "a header field of a type this test does not set: "
                      << f->name();
    }
  }
  return h;
}

/// decode_header agrees with protobuf's parser on `bytes`.
void expect_same_parse(const std::string& bytes) {
  // Both parsers log invalid UTF-8 in string fields; the verdict is what
  // counts here.
  google::protobuf::LogSilencer quiet;
  MessageHeader theirs;
  bool their_ok = theirs.ParseFromString(bytes);
  theirs.DiscardUnknownFields(); // decode_header drops them
  // Left over from an earlier message, every field of it: a decode must not
  // keep any.
  auto ours = every_field_set();
  bool our_ok = decode_header(span_of(bytes), ours);
  ASSERT_EQ(our_ok, their_ok) << "bytes of size " << bytes.size();
  if (our_ok) {
    // Compared as messages: a map's serialized order is not fixed.
    ASSERT_TRUE(google::protobuf::util::MessageDifferencer::Equals(ours, theirs))
      << ours.ShortDebugString() << " vs " << theirs.ShortDebugString();
  }
}

TEST(HeaderCodecTest, ResetClearsEveryFieldLikeClear) {
  auto h = every_field_set();
  for (int i = 0; i < h.GetDescriptor()->field_count(); ++i) {
    const auto* f = h.GetDescriptor()->field(i);
    if (f->is_repeated())
      EXPECT_EQ(h.GetReflection()->FieldSize(h, f), 1) << f->name();
    else
      EXPECT_TRUE(h.GetReflection()->HasField(h, f)) << f->name();
  }
  reset_header(h);
  EXPECT_EQ(h.ByteSizeLong(), 0u) << h.ShortDebugString();
  // Each field alone, and the usual ones together (the cheap path).
  for (int i = 0; i < h.GetDescriptor()->field_count(); ++i) {
    auto full = every_field_set();
    std::vector<const google::protobuf::FieldDescriptor*> all;
    full.GetReflection()->ListFields(full, &all);
    for (const auto* f : all)
      if (f->index() != i)
        full.GetReflection()->ClearField(&full, f);
    reset_header(full);
    EXPECT_EQ(full.ByteSizeLong(), 0u) << full.ShortDebugString();
  }
  MessageHeader usual;
  usual.set_id(3);
  usual.set_kind(weft::wire::KIND_REPLY);
  usual.set_route("r");
  usual.set_reply_to(2);
  usual.set_content_type("c");
  usual.set_schema("s");
  usual.set_priority(weft::wire::PRIORITY_HIGH);
  usual.set_deadline_ms(5);
  usual.set_total_size(9);
  reset_header(usual);
  EXPECT_EQ(usual.ByteSizeLong(), 0u) << usual.ShortDebugString();
}

TEST(HeaderCodecTest, DecodeIntoTheSameHeaderAgainAndAgain) {
  // A connection decodes every message into one reused header, which keeps
  // a string the next message repeats: each decode must still give exactly
  // what protobuf parses, whatever the header held before (the same route,
  // another of the same length, none).
  header_maker maker{11};
  MessageHeader ours;
  const std::vector<std::string> routes{"echo", "echo", "ecko", "", "sink",
                                        "a-much-longer-route-name"};
  for (int i = 0; i < 3000; ++i) {
    auto h = maker.make();
    h.set_route(routes[static_cast<std::size_t>(i) % routes.size()]);
    if (i % 3 == 0)
      h.clear_content_type();
    if (i % 5 == 0)
      h.clear_schema();
    auto bytes = h.SerializeAsString();
    MessageHeader theirs;
    ASSERT_TRUE(theirs.ParseFromString(bytes));
    ASSERT_TRUE(decode_header(span_of(bytes), ours));
    ASSERT_TRUE(google::protobuf::util::MessageDifferencer::Equals(ours, theirs))
      << ours.ShortDebugString() << " vs " << theirs.ShortDebugString();
  }
}

TEST(HeaderCodecTest, DecodeDropsUnknownFields) {
  // Field 99 (a newer peer's), then a route.
  std::string bytes("\x98\x06\x01\x1a\x01r", 6);
  MessageHeader theirs;
  ASSERT_TRUE(theirs.ParseFromString(bytes));
  ASSERT_FALSE(theirs.GetReflection()->GetUnknownFields(theirs).empty());
  MessageHeader ours;
  ASSERT_TRUE(decode_header(span_of(bytes), ours));
  EXPECT_TRUE(ours.GetReflection()->GetUnknownFields(ours).empty());
  EXPECT_EQ(ours.route(), "r");
  EXPECT_EQ(ours.ByteSizeLong(), 3u);
}

TEST(HeaderCodecTest, EncodesByteForByteAsProtobuf) {
  header_maker maker{1};
  for (int i = 0; i < 5000; ++i) {
    auto h = maker.make();
    // One metadata entry at most: a larger map has no fixed order.
    ASSERT_EQ(encoded(h), h.SerializeAsString()) << h.ShortDebugString();
  }
}

TEST(HeaderCodecTest, WritesTheSessionsIdAndSizeInPlaceOfTheHeaders) {
  header_maker maker{5};
  for (int i = 0; i < 5000; ++i) {
    auto h = maker.make();
    auto id = static_cast<std::uint32_t>(maker.pick(1000));
    std::uint64_t size = maker.pick(3) == 0 ? 0 : maker.pick(1u << 30);
    std::string bytes = "kept";
    encode_header(h, id, size, bytes);
    ASSERT_EQ(bytes.substr(0, 4), "kept");
    MessageHeader back;
    ASSERT_TRUE(back.ParseFromString(bytes.substr(4)));
    auto expected = h;
    expected.set_id(id);
    expected.set_total_size(size);
    ASSERT_TRUE(google::protobuf::util::MessageDifferencer::Equals(back,
                                                                   expected))
      << h.ShortDebugString();
    if (h.metadata_size() == 0 && !h.has_status()) {
      // Without metadata or a status, byte for byte protobuf's encoding.
      ASSERT_EQ(bytes.substr(4), expected.SerializeAsString());
    }
  }
}

TEST(HeaderCodecTest, ReplyHeaderIsByteForByteTheHeaderItStandsFor) {
  header_maker maker{6};
  for (int i = 0; i < 5000; ++i) {
    auto random = maker.make();
    MessageHeader h;
    h.set_id(random.id());
    h.set_kind(weft::wire::KIND_REPLY);
    h.set_reply_to(random.reply_to());
    // Every other one without strings: the encoder's usual path.
    if (i % 2 == 0) {
      h.set_content_type(random.content_type());
      h.set_schema(random.schema());
    }
    h.set_total_size(random.total_size());
    std::string bytes = "kept";
    encode_reply_header(h.id(), h.reply_to(), h.content_type(), h.schema(),
                        h.total_size(), bytes);
    ASSERT_EQ(bytes, "kept" + h.SerializeAsString()) << h.ShortDebugString();
  }
  // Strings longer than the encoder's stack buffer.
  std::string bytes;
  encode_reply_header(3, 2, std::string(300, 'c'), std::string(5000, 's'), 9,
                      bytes);
  MessageHeader back;
  ASSERT_TRUE(back.ParseFromString(bytes));
  EXPECT_EQ(back.schema().size(), 5000u);
  EXPECT_EQ(back.content_type().size(), 300u);
  EXPECT_EQ(back.total_size(), 9u);
}

TEST(HeaderCodecTest, LongStringsGoPastTheStackBuffer) {
  MessageHeader h;
  h.set_kind(weft::wire::KIND_REQUEST);
  h.set_route(std::string(250, 'a'));
  h.set_content_type(std::string(300, 'b'));
  h.set_schema(std::string(5000, 'c'));
  h.set_deadline_ms(9);
  EXPECT_EQ(encoded(h), h.SerializeAsString());
}

TEST(HeaderCodecTest, DecodesWhatProtobufEncodes) {
  header_maker maker{2};
  for (int i = 0; i < 5000; ++i) {
    auto h = maker.make();
    auto bytes = h.SerializeAsString();
    MessageHeader back;
    ASSERT_TRUE(decode_header(span_of(bytes), back)) << h.ShortDebugString();
    ASSERT_TRUE(google::protobuf::util::MessageDifferencer::Equals(back, h))
      << h.ShortDebugString();
  }
}

TEST(HeaderCodecTest, AgreesWithProtobufOnDamagedBytes) {
  header_maker maker{3};
  for (int i = 0; i < 20000; ++i) {
    auto bytes = maker.make().SerializeAsString();
    switch (maker.pick(4)) {
      case 0: // cut short
        bytes.resize(maker.pick(static_cast<std::uint32_t>(bytes.size()) + 1));
        break;
      case 1: // a flipped bit
        if (!bytes.empty())
          bytes[maker.pick(static_cast<std::uint32_t>(bytes.size()))]
            ^= static_cast<char>(1u << maker.pick(8));
        break;
      case 2: // a random byte somewhere
        bytes.insert(bytes.begin() + maker.pick(
                       static_cast<std::uint32_t>(bytes.size()) + 1),
                     static_cast<char>(maker.pick(256)));
        break;
      default: // duplicated fields: the last value wins
        bytes += maker.make().SerializeAsString();
        break;
    }
    expect_same_parse(bytes);
  }
}

TEST(HeaderCodecTest, AgreesWithProtobufOnRandomBytes) {
  header_maker maker{4};
  for (int i = 0; i < 20000; ++i) {
    std::string bytes(maker.pick(24), '\0');
    for (auto& c : bytes)
      c = static_cast<char>(maker.pick(256));
    expect_same_parse(bytes);
  }
}

TEST(HeaderCodecTest, HandlesWireTypesAndVarintsProtobufWouldNotExpect) {
  const std::vector<std::string> cases = {
    std::string("\x18\x05", 2),              // route (3) sent as a varint
    std::string("\x0a\x01x", 3),             // id (1) sent as a string
    std::string("\x08\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01", 11), // 10-byte
    std::string("\x08\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01", 12), // 11
    std::string("\x00\x01", 2),              // field 0
    std::string("\x1a\x05" "ab", 4),         // a string longer than the rest
    std::string("\x1a\x02\xc3\x28", 4),      // invalid UTF-8 in route
    std::string("\x1a\x02\xc3\xa9", 4),      // valid UTF-8 in route
    std::string("\x0d\x01\x02\x03\x04", 5),  // id as fixed32
    std::string("\x98\x06\x01", 3),          // unknown field 99
    std::string("\x10\xff\xff\xff\xff\x0f", 6), // kind 0xffffffff
  };
  for (const auto& bytes : cases) {
    SCOPED_TRACE(testing::PrintToString(bytes));
    expect_same_parse(bytes);
  }
}

} // namespace
} // namespace weft::protocol
