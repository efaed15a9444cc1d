#include "runtime/cluster_routes.hpp"

#include <algorithm>
#include <set>

#include <absl/strings/match.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/message.h>

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

const pb::Message* generated_prototype(const std::string& type) {
  const auto* d = pb::DescriptorPool::generated_pool()->FindMessageTypeByName(
    type);
  return d ? pb::MessageFactory::generated_factory()->GetPrototype(d)
           : nullptr;
}

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
    if (absl::StartsWith(name, "weft.") || !spec.http_path.empty())
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

std::shared_ptr<const route_spec> remote_route_spec(const remote_route& r) {
  auto spec = std::make_shared<route_spec>();
  spec->name = r.name;
  spec->form = handler_form::actor;
  spec->request_type = r.request_type;
  spec->reply_type = r.reply_type;
  spec->request_prototype = generated_prototype(r.request_type);
  spec->reply_prototype = generated_prototype(r.reply_type);
  if (r.dispatch <= static_cast<std::uint8_t>(dispatch_policy::by_key))
    spec->options.dispatch = static_cast<dispatch_policy>(r.dispatch);
  spec->options.key = r.key;
  spec->options.max_queue = r.max_queue > 0 ? r.max_queue : 4096;
  spec->options.max_body_bytes = r.max_body_bytes;
  return spec;
}

} // namespace weft
