#include "runtime/schema_registry.hpp"

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <gtest/gtest.h>

#include "runtime/error_bridge.hpp"
#include "weft/routes.pb.h"
#include "weft/wire.pb.h"

namespace weft {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using wire::MessageHeader;
using wire::RouteInfo;
using wire::RouteListing;

constexpr absl::string_view listing_json
  = R"({"routes":[{"route":"chat.say","requestType":"chat.Say",)"
    R"("replyType":"chat.Said","form":"pool","workers":4,)"
    R"("dispatch":"by_key:room"},{"route":"echo","requestType":"bytes",)"
    R"("replyType":"bytes","form":"function"}]})";

schema_registry registry_of(const google::protobuf::Descriptor* d) {
  schema_registry registry;
  registry.add(d);
  return registry;
}

TEST(SchemaRegistryTest, JsonRoundTripsThroughBinary) {
  auto registry = registry_of(RouteListing::descriptor());
  auto binary = registry.json_to_binary("weft.wire.RouteListing", listing_json);
  ASSERT_TRUE(binary.ok()) << binary.status();
  RouteListing listing;
  ASSERT_TRUE(listing.ParseFromString(*binary));
  ASSERT_EQ(listing.routes_size(), 2);
  EXPECT_EQ(listing.routes(0).route(), "chat.say");
  EXPECT_EQ(listing.routes(0).workers(), 4u);
  EXPECT_EQ(listing.routes(0).dispatch(), "by_key:room");
  EXPECT_EQ(listing.routes(1).request_type(), "bytes");
  auto json = registry.binary_to_json("weft.wire.RouteListing", *binary);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(*json, listing_json);
}

TEST(SchemaRegistryTest, EnumsMapsAndNestedMessagesRoundTrip) {
  auto registry = registry_of(MessageHeader::descriptor());
  constexpr absl::string_view json
    = R"({"kind":"KIND_REPLY","replyTo":7,"metadata":{"trace":"t1"},)"
      R"("totalSize":"12","status":{"code":2,"message":"no route"}})";
  auto binary = registry.json_to_binary("weft.wire.MessageHeader", json);
  ASSERT_TRUE(binary.ok()) << binary.status();
  MessageHeader header;
  ASSERT_TRUE(header.ParseFromString(*binary));
  EXPECT_EQ(header.kind(), wire::KIND_REPLY);
  EXPECT_EQ(header.reply_to(), 7u);
  EXPECT_EQ(header.metadata().at("trace"), "t1");
  EXPECT_EQ(header.total_size(), 12u);
  EXPECT_EQ(header.status().message(), "no route");
  auto back = registry.binary_to_json("weft.wire.MessageHeader", *binary);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, json);
}

TEST(SchemaRegistryTest, ProtoFieldNamesAreAcceptedButCamelCaseIsPrinted) {
  auto registry = registry_of(RouteInfo::descriptor());
  auto binary = registry.json_to_binary("weft.wire.RouteInfo",
                                        R"({"request_type":"json"})");
  ASSERT_TRUE(binary.ok()) << binary.status();
  auto json = registry.binary_to_json("weft.wire.RouteInfo", *binary);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(*json, R"({"requestType":"json"})");
}

TEST(SchemaRegistryTest, DefaultValuesAreLeftOut) {
  auto registry = registry_of(RouteInfo::descriptor());
  auto json = registry.binary_to_json("weft.wire.RouteInfo", "");
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(*json, "{}");
}

TEST(SchemaRegistryTest, ReferencedTypesAreRegisteredRecursively) {
  schema_registry registry;
  registry.add(RouteListing::descriptor());
  EXPECT_THAT(registry.type_names(),
              ElementsAre("weft.wire.RouteInfo", "weft.wire.RouteListing"));
  registry.add(MessageHeader::descriptor());
  // The map's synthetic entry type is not a type of its own.
  EXPECT_THAT(registry.type_names(),
              ElementsAre("weft.wire.MessageHeader", "weft.wire.RouteInfo",
                          "weft.wire.RouteListing", "weft.wire.Status"));
  EXPECT_EQ(registry.find("weft.wire.Status"), wire::Status::descriptor());
  EXPECT_EQ(registry.find("weft.wire.MessageHeader.MetadataEntry"), nullptr);
  EXPECT_TRUE(
    registry.json_to_binary("weft.wire.Status", R"({"code":1})").ok());
}

TEST(SchemaRegistryTest, AddingATypeTwiceChangesNothing) {
  schema_registry registry;
  registry.add(RouteListing::descriptor());
  registry.add(RouteInfo::descriptor());
  registry.add(RouteListing::descriptor());
  registry.add(nullptr);
  EXPECT_EQ(registry.type_names().size(), 2u);
}

TEST(SchemaRegistryTest, TypesOfAnotherPoolAreIgnored) {
  google::protobuf::FileDescriptorProto file;
  file.set_name("dynamic.proto");
  file.set_package("dyn");
  file.set_syntax("proto3");
  file.add_message_type()->set_name("Thing");
  google::protobuf::DescriptorPool pool;
  const auto* built = pool.BuildFile(file);
  ASSERT_NE(built, nullptr);
  schema_registry registry;
  registry.add(built->message_type(0));
  EXPECT_EQ(registry.find("dyn.Thing"), nullptr);
  EXPECT_TRUE(registry.type_names().empty());
}

TEST(SchemaRegistryTest, UnknownTypeIsNotFound) {
  auto registry = registry_of(RouteInfo::descriptor());
  // Compiled in, but never registered.
  EXPECT_EQ(registry.find("weft.wire.MessageHeader"), nullptr);
  auto to_binary = registry.json_to_binary("weft.wire.MessageHeader", "{}");
  EXPECT_EQ(code_of(to_binary.status()), errc::not_found);
  EXPECT_THAT(to_binary.status().message(),
              HasSubstr("weft.wire.MessageHeader"));
  auto to_json = registry.binary_to_json("no.such.Type", "");
  EXPECT_EQ(code_of(to_json.status()), errc::not_found);
  EXPECT_TRUE(absl::IsNotFound(to_json.status()));
}

TEST(SchemaRegistryTest, MalformedJsonIsInvalidArgument) {
  auto registry = registry_of(RouteInfo::descriptor());
  for (absl::string_view bad : {R"({"route":)", "", "[]", "not json",
                                R"({"route":"a"} trailing)"}) {
    auto result = registry.json_to_binary("weft.wire.RouteInfo", bad);
    EXPECT_EQ(code_of(result.status()), errc::invalid_argument) << bad;
    EXPECT_TRUE(absl::IsInvalidArgument(result.status())) << bad;
  }
}

TEST(SchemaRegistryTest, UnknownFieldIsRejectedWithProtobufsMessage) {
  auto registry = registry_of(RouteInfo::descriptor());
  auto result = registry.json_to_binary("weft.wire.RouteInfo",
                                        R"({"route":"a","colour":"red"})");
  EXPECT_EQ(code_of(result.status()), errc::invalid_argument);
  EXPECT_THAT(result.status().message(), HasSubstr("colour"));
}

TEST(SchemaRegistryTest, ValueOfTheWrongTypeIsRejected) {
  auto registry = registry_of(RouteInfo::descriptor());
  for (absl::string_view bad : {R"({"workers":"many"})", R"({"workers":-1})",
                                R"({"route":{"a":1}})"}) {
    auto result = registry.json_to_binary("weft.wire.RouteInfo", bad);
    EXPECT_EQ(code_of(result.status()), errc::invalid_argument) << bad;
  }
}

TEST(SchemaRegistryTest, OversizedJsonIsRejectedBeforeParsing) {
  schema_registry registry{32};
  registry.add(RouteInfo::descriptor());
  EXPECT_EQ(registry.max_bytes(), 32u);
  auto at_limit = R"({"route":")" + std::string(20, 'a') + R"("})";
  ASSERT_EQ(at_limit.size(), 32u);
  EXPECT_TRUE(registry.json_to_binary("weft.wire.RouteInfo", at_limit).ok());
  // One byte more is refused, even though it would not parse either.
  auto over = registry.json_to_binary("weft.wire.RouteInfo", at_limit + "x");
  EXPECT_EQ(code_of(over.status()), errc::limit_exceeded);
  EXPECT_THAT(over.status().message(), HasSubstr("33 bytes"));
  auto binary_over
    = registry.binary_to_json("weft.wire.RouteInfo", std::string(33, '\0'));
  EXPECT_EQ(code_of(binary_over.status()), errc::limit_exceeded);
}

TEST(SchemaRegistryTest, DefaultLimitIsSixteenMebibytes) {
  schema_registry registry;
  registry.add(RouteInfo::descriptor());
  EXPECT_EQ(registry.max_bytes(), 16u * 1024 * 1024);
  std::string big(registry.max_bytes() + 1, ' ');
  auto result = registry.json_to_binary("weft.wire.RouteInfo", big);
  EXPECT_EQ(code_of(result.status()), errc::limit_exceeded);
}

TEST(SchemaRegistryTest, BytesThatAreNotAMessageAreInvalidArgument) {
  auto registry = registry_of(RouteListing::descriptor());
  // Field 1 announces 5 bytes but 2 follow; a varint that never ends; a
  // field number of 0.
  for (const std::string& bad : {std::string{"\x0a\x05" "ab"},
                                 std::string(11, '\xff'),
                                 std::string{"\x00\x01", 2}}) {
    auto result = registry.binary_to_json("weft.wire.RouteListing", bad);
    EXPECT_EQ(code_of(result.status()), errc::invalid_argument);
    EXPECT_THAT(result.status().message(), HasSubstr("weft.wire.RouteListing"));
  }
}

TEST(SchemaRegistryTest, ConcurrentConversionsAgree) {
  auto registry = registry_of(RouteListing::descriptor());
  auto convert = [&registry](int rounds, std::vector<bool>& ok) {
    for (int i = 0; i < rounds; ++i) {
      auto binary
        = registry.json_to_binary("weft.wire.RouteListing", listing_json);
      auto json = binary.ok() ? registry.binary_to_json(
                                  "weft.wire.RouteListing", *binary)
                              : binary;
      ok.push_back(json.ok() && *json == listing_json);
    }
  };
  std::vector<bool> first;
  std::vector<bool> second;
  std::thread other{[&] { convert(200, second); }};
  convert(200, first);
  other.join();
  EXPECT_EQ(std::count(first.begin(), first.end(), true), 200);
  EXPECT_EQ(std::count(second.begin(), second.end(), true), 200);
}

} // namespace
} // namespace weft
