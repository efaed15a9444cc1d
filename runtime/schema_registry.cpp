#include "runtime/schema_registry.hpp"

#include <algorithm>
#include <climits>
#include <memory>

#include <absl/strings/str_cat.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/message.h>
#include <google/protobuf/util/json_util.h>

#include "runtime/error_bridge.hpp"

namespace weft {

namespace pb = google::protobuf;

namespace {

pb::StringPiece to_piece(absl::string_view text) {
  return {text.data(), text.size()};
}

std::string to_std_string(pb::StringPiece text) {
  return {text.data(), text.size()};
}

/// A fresh, empty message of the registered type `d` (named `type`, null
/// when unknown) to parse `input` into. Fails with not_found for an
/// unknown type and with limit_exceeded, before anything is parsed, when
/// `input` (`what`: "JSON" or "body") is over `max_bytes`.
absl::StatusOr<std::unique_ptr<pb::Message>>
new_message(const pb::Descriptor* d, pb::MessageFactory* factory,
            absl::string_view type,
            absl::string_view what, absl::string_view input,
            std::size_t max_bytes) {
  if (d == nullptr)
    return make_status(errc::not_found,
                       absl::StrCat("unknown message type '", type, "'"));
  // ParseFromArray takes an int: a larger limit cannot be honoured.
  auto limit = std::min<std::size_t>(max_bytes, INT_MAX);
  if (input.size() > limit)
    return make_status(errc::limit_exceeded,
                       absl::StrCat(what, " of ", input.size(),
                                    " bytes exceeds the limit of ", limit,
                                    " bytes"));
  // Generated types always have a prototype; dynamic ones through their
  // pool's factory.
  const auto* prototype = factory->GetPrototype(d);
  if (prototype == nullptr)
    return make_status(errc::internal,
                       absl::StrCat("no generated class for '", type, "'"));
  return std::unique_ptr<pb::Message>{prototype->New()};
}

} // namespace

schema_registry::schema_registry(std::size_t max_bytes)
  : max_bytes_(max_bytes) {
  // nop
}

void schema_registry::add(const pb::Descriptor* d) {
  if (d == nullptr || d->file()->pool() != pb::DescriptorPool::generated_pool())
    return;
  add_with(d, pb::MessageFactory::generated_factory());
}

void schema_registry::add_dynamic(const pb::Descriptor* d,
                                  pb::MessageFactory* factory,
                                  std::shared_ptr<const void> owner) {
  if (d == nullptr || factory == nullptr || !owner)
    return;
  owners_.push_back(std::move(owner));
  add_with(d, factory);
}

void schema_registry::add_with(const pb::Descriptor* d,
                               pb::MessageFactory* factory) {
  // A worklist rather than recursion: schemas may nest deeply or refer to
  // themselves.
  std::vector<const pb::Descriptor*> todo{d};
  while (!todo.empty()) {
    auto* type = todo.back();
    todo.pop_back();
    // A map's entry type is an implementation detail of the map field:
    // only its key and value matter.
    if (!type->options().map_entry()
        && !types_.emplace(type->full_name(), entry{type, factory}).second)
      continue; // seen before, and so were its fields
    for (int i = 0; i < type->field_count(); ++i)
      if (auto* field_type = type->field(i)->message_type();
          field_type != nullptr && !types_.contains(field_type->full_name()))
        todo.push_back(field_type);
  }
}

const pb::Descriptor* schema_registry::find(absl::string_view full_name) const {
  auto i = types_.find(full_name);
  return i == types_.end() ? nullptr : i->second.type;
}

std::vector<std::string> schema_registry::type_names() const {
  std::vector<std::string> names;
  names.reserve(types_.size());
  for (const auto& [name, type] : types_)
    names.push_back(name);
  std::sort(names.begin(), names.end());
  return names;
}

absl::StatusOr<std::string>
schema_registry::json_to_binary(absl::string_view type,
                                absl::string_view json) const {
  auto i = types_.find(type);
  auto msg = i == types_.end()
               ? new_message(nullptr, nullptr, type, "JSON", json, max_bytes_)
               : new_message(i->second.type, i->second.factory, type, "JSON",
                             json, max_bytes_);
  if (!msg.ok())
    return msg.status();
  pb::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto parsed = pb::util::JsonStringToMessage(to_piece(json), msg->get(),
                                              options);
  if (!parsed.ok())
    return make_status(errc::invalid_argument,
                       absl::StrCat("JSON is not a valid ", type, ": ",
                                    to_std_string(parsed.message())));
  std::string binary;
  if (!(*msg)->SerializeToString(&binary))
    return make_status(errc::internal,
                       absl::StrCat("cannot serialize ", type));
  return binary;
}

absl::StatusOr<std::string>
schema_registry::binary_to_json(absl::string_view type,
                                absl::string_view bytes) const {
  auto i = types_.find(type);
  auto msg = i == types_.end()
               ? new_message(nullptr, nullptr, type, "body", bytes, max_bytes_)
               : new_message(i->second.type, i->second.factory, type, "body",
                             bytes, max_bytes_);
  if (!msg.ok())
    return msg.status();
  if (!(*msg)->ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return make_status(errc::invalid_argument,
                       absl::StrCat("body is not a valid ", type,
                                    " message"));
  pb::util::JsonPrintOptions options;
  options.always_print_primitive_fields = false;
  options.preserve_proto_field_names = false;
  std::string json;
  auto printed = pb::util::MessageToJsonString(**msg, &json, options);
  if (!printed.ok())
    return make_status(errc::invalid_argument,
                       absl::StrCat("cannot print ", type, " as JSON: ",
                                    to_std_string(printed.message())));
  return json;
}

} // namespace weft
