#include "runtime/cluster_routes.hpp"

#include <memory>
#include <string>

#include <google/protobuf/descriptor.pb.h>
#include <gtest/gtest.h>

#include "examples/hello.pb.h"
#include "runtime/schema_registry.hpp"

namespace weft {
namespace {

namespace pb = google::protobuf;

/// A schema this program was not built with, as a worker would announce
/// it: weft.test.dyn.Order {string id = 1; int64 qty = 2} -> Ack {bool ok}.
std::string foreign_schemas() {
  pb::FileDescriptorSet set;
  auto* file = set.add_file();
  file->set_name("weft_test/dyn.proto");
  file->set_package("weft.test.dyn");
  file->set_syntax("proto3");
  auto* order = file->add_message_type();
  order->set_name("Order");
  auto* id = order->add_field();
  id->set_name("id");
  id->set_number(1);
  id->set_type(pb::FieldDescriptorProto::TYPE_STRING);
  id->set_label(pb::FieldDescriptorProto::LABEL_OPTIONAL);
  auto* qty = order->add_field();
  qty->set_name("qty");
  qty->set_number(2);
  qty->set_type(pb::FieldDescriptorProto::TYPE_INT64);
  qty->set_label(pb::FieldDescriptorProto::LABEL_OPTIONAL);
  auto* ack = file->add_message_type();
  ack->set_name("Ack");
  auto* ok = ack->add_field();
  ok->set_name("ok");
  ok->set_number(1);
  ok->set_type(pb::FieldDescriptorProto::TYPE_BOOL);
  ok->set_label(pb::FieldDescriptorProto::LABEL_OPTIONAL);
  return set.SerializeAsString();
}

remote_route foreign_route() {
  remote_route r;
  r.name = "orders.place";
  r.request_type = "weft.test.dyn.Order";
  r.reply_type = "weft.test.dyn.Ack";
  r.dispatch = static_cast<std::uint8_t>(dispatch_policy::by_key);
  r.key = "id";
  r.max_queue = 100;
  return r;
}

TEST(ClusterRoutesTest, AnnouncesApplicationRoutesWithTheirSchemas) {
  route_table table;
  auto add = [&](std::string name, std::shared_ptr<route_spec> spec) {
    auto b = std::make_shared<route_binding>();
    b->name = name;
    b->spec = std::move(spec);
    table.routes.emplace(std::move(name), std::move(b));
  };
  auto greet = std::make_shared<route_spec>();
  greet->request_type = "weft.examples.hello.Greet";
  greet->reply_type = "weft.examples.hello.Greeting";
  greet->request_prototype = &examples::hello::Greet::default_instance();
  greet->reply_prototype = &examples::hello::Greeting::default_instance();
  greet->options.max_queue = 7;
  add("hello.greet", greet);
  add("weft.routes", std::make_shared<route_spec>());
  auto page = std::make_shared<route_spec>();
  page->http_method = "GET";
  page->http_path = "/page/{id}";
  add("page", page);
  auto stream = std::make_shared<route_spec>();
  stream->form = handler_form::async; // streamed or asynchronous HTTP
  stream->http_method = "GET";
  stream->http_path = "/stream";
  add("stream", stream);
  auto ann = announce_routes(table, "w1");
  EXPECT_EQ(ann.node, "w1");
  // No built-in route and no asynchronous HTTP route; sorted by name.
  ASSERT_EQ(ann.routes.size(), 2u);
  EXPECT_EQ(ann.routes[1].name, "page");
  EXPECT_EQ(ann.routes[1].http_method, "GET");
  EXPECT_EQ(ann.routes[1].http_path, "/page/{id}");
  EXPECT_EQ(remote_route_spec(ann.routes[1])->http_path, "/page/{id}");
  EXPECT_EQ(ann.routes[0].name, "hello.greet");
  EXPECT_TRUE(ann.routes[0].http_path.empty());
  EXPECT_EQ(ann.routes[0].max_queue, 7u);
  EXPECT_EQ(ann.routes[0].schema_digest, schema_digest(*greet));
  EXPECT_FALSE(ann.routes[0].schema_digest.empty());
  pb::FileDescriptorSet files;
  ASSERT_TRUE(files.ParseFromString(ann.schemas));
  ASSERT_GE(files.file_size(), 1);
  EXPECT_EQ(files.file(files.file_size() - 1).name(), "examples/hello.proto");
  // A known type resolves in this program's own pool.
  auto spec = remote_route_spec(ann.routes[0]);
  EXPECT_EQ(spec->request_prototype,
            &examples::hello::Greet::default_instance());
  EXPECT_FALSE(needs_announced_schemas(ann.routes[0]));
}

TEST(ClusterRoutesTest, RebuildsSchemasThisProgramLacks) {
  auto r = foreign_route();
  EXPECT_TRUE(needs_announced_schemas(r));
  // Without the announced schemas the route is served as bytes.
  EXPECT_EQ(remote_route_spec(r)->request_prototype, nullptr);
  auto rebuilt = rebuild_schemas(foreign_schemas());
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status();
  auto spec = remote_route_spec(r, *rebuilt);
  ASSERT_NE(spec->request_prototype, nullptr);
  ASSERT_NE(spec->reply_prototype, nullptr);
  EXPECT_EQ(spec->options.dispatch, dispatch_policy::by_key);
  EXPECT_EQ(spec->options.key, "id");
  schema_registry schemas;
  schemas.add_dynamic(spec->request_prototype->GetDescriptor(),
                      &(*rebuilt)->factory, *rebuilt);
  auto binary = schemas.json_to_binary("weft.test.dyn.Order",
                                       R"({"id":"a-1","qty":"3"})");
  ASSERT_TRUE(binary.ok()) << binary.status();
  auto json = schemas.binary_to_json("weft.test.dyn.Order", *binary);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(*json, R"({"id":"a-1","qty":"3"})");
  EXPECT_FALSE(
    schemas.json_to_binary("weft.test.dyn.Order", R"({"nope":1})").ok());
}

TEST(ClusterRoutesTest, RefusesSchemasThatDoNotBuild) {
  EXPECT_FALSE(rebuild_schemas("\xff\xff\xff").ok());
  pb::FileDescriptorSet set;
  auto* file = set.add_file();
  file->set_name("broken.proto");
  file->add_dependency("missing.proto");
  auto broken = rebuild_schemas(set.SerializeAsString());
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.status().message().find("missing.proto"),
            absl::string_view::npos)
    << broken.status();
}

} // namespace
} // namespace weft
