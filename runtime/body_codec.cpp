#include "runtime/body_codec.hpp"

#include <google/protobuf/util/json_util.h>

namespace weft {

absl::StatusOr<shared_bytes> typed_body(const payload& body) {
  if (!body.is_file())
    return body.bytes();
  return body.read_all(max_typed_body);
}

response encode_message(const google::protobuf::Message& msg) {
  response rsp;
  auto size = msg.ByteSizeLong();
  rsp.body = payload{shared_bytes::allocate(size, [&](auto out) {
    msg.SerializeWithCachedSizesToArray(out.data());
  })};
  rsp.content_type = protobuf_content_type;
  rsp.schema = msg.GetDescriptor()->full_name();
  return rsp;
}

absl::StatusOr<google::protobuf::Value> parse_json(absl::string_view text) {
  google::protobuf::Value value;
  auto st = google::protobuf::util::JsonStringToMessage(
    google::protobuf::StringPiece{text.data(), text.size()}, &value);
  if (!st.ok())
    return make_status(errc::invalid_argument,
                       absl::StrCat("the body is not valid JSON: ",
                                    std::string(st.message().data(), st.message().size())));
  return value;
}

absl::StatusOr<response> encode_json(const google::protobuf::Value& value) {
  std::string text;
  auto st = google::protobuf::util::MessageToJsonString(value, &text);
  if (!st.ok())
    return make_status(errc::internal,
                       absl::StrCat("cannot print the reply as JSON: ",
                                    std::string(st.message().data(), st.message().size())));
  response rsp;
  rsp.body = payload{shared_bytes::copy_of(text)};
  rsp.content_type = json_content_type;
  return rsp;
}

} // namespace weft
