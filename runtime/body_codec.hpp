#pragma once

#include <cstdint>
#include <string>
#include <type_traits>

#include <absl/status/statusor.h>
#include <absl/strings/str_cat.h>
#include <google/protobuf/message.h>
#include <google/protobuf/struct.pb.h>

#include "runtime/errc.hpp"
#include "runtime/error_bridge.hpp"
#include "runtime/payload.hpp"
#include "runtime/request.hpp"

namespace weft {

/// Content types weft gives meaning to.
inline constexpr const char* protobuf_content_type = "application/x-protobuf";
inline constexpr const char* json_content_type = "application/json";
inline constexpr const char* bytes_content_type = "application/octet-stream";

/// Typed bodies are read whole into memory, up to this size.
inline constexpr std::uint64_t max_typed_body = 256ull * 1024 * 1024;

/// Turns a request body into a handler's argument type T and a handler's
/// result into a response. Specialized for protobuf messages, raw bytes
/// (payload in, response out) and JSON (google::protobuf::Value).
template <class T, class = void>
struct body_codec;

/// Reads a whole body into memory (typed routes only).
absl::StatusOr<shared_bytes> typed_body(const payload& body);

/// Serializes `msg` into a response of type `msg`'s full name.
response encode_message(const google::protobuf::Message& msg);

/// Parses JSON text into a google.protobuf.Value.
absl::StatusOr<google::protobuf::Value> parse_json(absl::string_view text);

/// Prints a google.protobuf.Value as JSON text.
absl::StatusOr<response> encode_json(const google::protobuf::Value& value);

/// Protobuf messages: the body is the message's binary encoding.
template <class T>
struct body_codec<
  T, std::enable_if_t<std::is_base_of_v<google::protobuf::Message, T>
                      && !std::is_same_v<T, google::protobuf::Value>>> {
  static std::string type_name() {
    return T::descriptor()->full_name();
  }
  static const google::protobuf::Message* prototype() {
    return &T::default_instance();
  }
  static absl::StatusOr<T> decode(const payload& body) {
    auto bytes = typed_body(body);
    if (!bytes.ok())
      return bytes.status();
    T msg;
    if (!msg.ParseFromArray(bytes->data(), static_cast<int>(bytes->size())))
      return make_status(errc::invalid_argument,
                         absl::StrCat("the body is not a valid ",
                                      type_name()));
    return msg;
  }
  static absl::StatusOr<response> encode(const T& msg) {
    return encode_message(msg);
  }
};

/// Raw requests: the handler gets the body as it arrived.
template <>
struct body_codec<payload> {
  static std::string type_name() {
    return "bytes";
  }
  static const google::protobuf::Message* prototype() {
    return nullptr;
  }
  static absl::StatusOr<payload> decode(const payload& body) {
    return body;
  }
};

/// Raw replies: the handler makes the response itself.
template <>
struct body_codec<response> {
  static std::string type_name() {
    return "bytes";
  }
  static const google::protobuf::Message* prototype() {
    return nullptr;
  }
  static absl::StatusOr<response> encode(response rsp) {
    return rsp;
  }
};

/// JSON routes: any JSON value, parsed and printed by protobuf's own JSON
/// support.
template <>
struct body_codec<google::protobuf::Value> {
  static std::string type_name() {
    return "json";
  }
  static const google::protobuf::Message* prototype() {
    return nullptr;
  }
  static absl::StatusOr<google::protobuf::Value> decode(const payload& body) {
    auto bytes = typed_body(body);
    if (!bytes.ok())
      return bytes.status();
    return parse_json(bytes->view());
  }
  static absl::StatusOr<response> encode(const google::protobuf::Value& v) {
    return encode_json(v);
  }
};

} // namespace weft
