#include "runtime/http_response.hpp"

#include <absl/strings/str_cat.h>

#include "runtime/body_codec.hpp"
#include "runtime/http_request.hpp"

namespace weft {

http_response http_response::text(absl::string_view text, int status) {
  http_response out;
  out.status = status;
  out.body = payload{shared_bytes::copy_of(text)};
  return out;
}

http_response http_response::json(absl::string_view json_text, int status) {
  http_response out;
  out.status = status;
  out.content_type = json_content_type;
  out.body = payload{shared_bytes::copy_of(json_text)};
  return out;
}

http_response http_response::json(const google::protobuf::Value& value,
                                  int status) {
  auto encoded = encode_json(value);
  if (!encoded.ok())
    return text(encoded.status().message(), 500);
  http_response out;
  out.status = status;
  out.content_type = json_content_type;
  out.body = std::move(encoded->body);
  return out;
}

http_response http_response::bytes(absl::string_view data,
                                   std::string content_type) {
  http_response out;
  out.content_type = std::move(content_type);
  out.body = payload{shared_bytes::copy_of(data)};
  return out;
}

http_response http_response::file(payload file_body,
                                  std::string content_type) {
  http_response out;
  out.content_type = std::move(content_type);
  out.body = std::move(file_body);
  return out;
}

response http_response::to_response() && {
  response out;
  out.body = std::move(body);
  out.content_type = std::move(content_type);
  if (status != 200)
    out.metadata[http_status_key] = absl::StrCat(status);
  // Repeated names (Set-Cookie) share one metadata entry, one value per
  // line: a header value can hold no LF, so the gateway splits them back.
  for (auto& [name, value] : headers) {
    auto& slot = out.metadata[name];
    if (slot.empty())
      slot = std::move(value);
    else
      absl::StrAppend(&slot, "\n", value);
  }
  return out;
}

} // namespace weft
