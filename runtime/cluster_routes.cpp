#include "runtime/cluster_routes.hpp"

#include <algorithm>
#include <set>

#include <absl/strings/match.h>
#include <absl/strings/str_cat.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/message.h>

#include "runtime/error_bridge.hpp"

namespace weft {

namespace pb = google::protobuf;

namespace {

void add_digest(const pb::Message* prototype, std::string& out) {
  if (prototype == nullptr)
    return;
  pb::DescriptorProto proto;
  prototype->GetDescriptor()->CopyTo(&proto);
  out += prototype->GetDescriptor()->full_name();
  out += '\n';
  out += proto.SerializeAsString();
}

/// Adds `file` after its dependencies (a FileDescriptorSet is read in
/// order when it is rebuilt into a pool).
void add_file(const pb::FileDescriptor* file, std::set<std::string>& seen,
              pb::FileDescriptorSet& out) {
  if (!seen.insert(file->name()).second)
    return;
  for (int i = 0; i < file->dependency_count(); ++i)
    add_file(file->dependency(i), seen, out);
  file->CopyTo(out.add_file());
}

bool is_message_type(const std::string& type) {
  return type != "bytes" && type != "json" && !type.empty();
}

const pb::Message* generated_prototype(const std::string& type) {
  if (!is_message_type(type))
    return nullptr;
  const auto* d = pb::DescriptorPool::generated_pool()->FindMessageTypeByName(
    type);
  return d ? pb::MessageFactory::generated_factory()->GetPrototype(d)
           : nullptr;
}

const pb::Message* rebuilt_prototype(const announced_schemas* rebuilt,
                                     const std::string& type) {
  if (rebuilt == nullptr || !is_message_type(type))
    return nullptr;
  const auto* d = rebuilt->pool.FindMessageTypeByName(type);
  return d ? rebuilt->factory.GetPrototype(d) : nullptr;
}

/// Collects what protobuf finds wrong with an announced file, for the
/// status (instead of protobuf's own log line).
class collect_errors final : public pb::DescriptorPool::ErrorCollector {
public:
  void AddError(const std::string& filename, const std::string& element_name,
                const pb::Message*, ErrorLocation,
                const std::string& message) override {
    if (!text.empty())
      text += "; ";
    text += absl::StrCat(filename, ": ", element_name, ": ", message);
  }

  std::string text;
};

/// A route spec that keeps the rebuilt pool its prototypes point into.
struct remote_spec_box {
  /// shared_ptr: one rebuilt pool serves every route of its node.
  std::shared_ptr<const announced_schemas> schemas;
  route_spec spec;
};

} // namespace

std::string schema_digest(const route_spec& spec) {
  std::string out;
  add_digest(spec.request_prototype, out);
  add_digest(spec.reply_prototype, out);
  return out;
}

cluster_announcement announce_routes(const route_table& table,
                                     const std::string& node) {
  cluster_announcement ann;
  ann.node = node;
  std::set<std::string> seen;
  pb::FileDescriptorSet files;
  for (const auto& [name, binding] : table.routes) {
    const auto& spec = *binding->spec;
    // HTTP routes travel when a plain function answers them; asynchronous
    // and streamed ones answer through the HTTP connection's own actor
    // (http_stream writes to the requester), so they stay on their node.
    if (absl::StartsWith(name, "weft.")
        || (!spec.http_path.empty() && spec.form != handler_form::function))
      continue;
    remote_route r;
    r.name = name;
    r.request_type = spec.request_type;
    r.reply_type = spec.reply_type;
    r.dispatch = static_cast<std::uint8_t>(spec.options.dispatch);
    r.key = spec.options.key;
    r.max_queue = spec.options.max_queue;
    r.max_body_bytes = spec.options.max_body_bytes;
    r.schema_digest = schema_digest(spec);
    r.http_method = spec.http_method;
    r.http_path = spec.http_path;
    for (const auto* proto : {spec.request_prototype, spec.reply_prototype})
      if (proto)
        add_file(proto->GetDescriptor()->file(), seen, files);
    ann.routes.push_back(std::move(r));
  }
  std::sort(ann.routes.begin(), ann.routes.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  ann.schemas = files.SerializeAsString();
  return ann;
}

absl::StatusOr<std::shared_ptr<const announced_schemas>>
rebuild_schemas(const std::string& serialized_set) {
  pb::FileDescriptorSet files;
  if (!files.ParseFromString(serialized_set))
    return make_status(errc::invalid_argument,
                       "the announced schemas are not a FileDescriptorSet");
  auto out = std::make_shared<announced_schemas>();
  for (const auto& file : files.file()) {
    collect_errors errors;
    if (out->pool.BuildFileCollectingErrors(file, &errors) == nullptr)
      return make_status(errc::invalid_argument,
                         absl::StrCat("the announced schema file '",
                                      file.name(), "' does not build: ",
                                      errors.text));
  }
  return std::shared_ptr<const announced_schemas>{std::move(out)};
}

bool needs_announced_schemas(const remote_route& r) {
  for (const auto* type : {&r.request_type, &r.reply_type})
    if (is_message_type(*type) && generated_prototype(*type) == nullptr)
      return true;
  return false;
}

std::shared_ptr<const route_spec>
remote_route_spec(const remote_route& r,
                  const std::shared_ptr<const announced_schemas>& rebuilt) {
  // shared_ptr: the spec is shared by every route table that has the
  // route; the box keeps the rebuilt pool its prototypes point into.
  auto box = std::make_shared<remote_spec_box>();
  box->schemas = rebuilt;
  auto* spec = &box->spec;
  spec->name = r.name;
  spec->form = handler_form::actor;
  spec->request_type = r.request_type;
  spec->reply_type = r.reply_type;
  spec->request_prototype = generated_prototype(r.request_type);
  if (!spec->request_prototype)
    spec->request_prototype = rebuilt_prototype(rebuilt.get(), r.request_type);
  spec->reply_prototype = generated_prototype(r.reply_type);
  if (!spec->reply_prototype)
    spec->reply_prototype = rebuilt_prototype(rebuilt.get(), r.reply_type);
  if (r.dispatch <= static_cast<std::uint8_t>(dispatch_policy::same_core))
    spec->options.dispatch = static_cast<dispatch_policy>(r.dispatch);
  spec->options.key = r.key;
  spec->options.max_queue = r.max_queue > 0 ? r.max_queue : 4096;
  spec->options.max_body_bytes = r.max_body_bytes;
  spec->http_method = r.http_method;
  spec->http_path = r.http_path;
  return std::shared_ptr<const route_spec>{box, spec};
}

} // namespace weft
