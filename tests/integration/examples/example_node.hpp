#pragma once

#include <memory>
#include <string>
#include <vector>

#include <absl/status/statusor.h>
#include <absl/strings/string_view.h>
#include <absl/time/time.h>
#include <google/protobuf/message.h>

#include "runtime/weft.hpp"

namespace weft::test {

/// Every call of the example tests gives up after this long.
inline constexpr absl::Duration call_timeout = absl::Seconds(30);

/// A node serving one example blueprint on a loopback port of its own, and
/// the clients connected to it. Driven by the test's thread; destroying it
/// closes the clients, then stops the node.
class example_node {
public:
  /// Starts a node on 127.0.0.1:0, serves `app` and starts listening.
  static absl::StatusOr<std::unique_ptr<example_node>> start(blueprint app);

  /// Use start(); `n` serves and listens already.
  explicit example_node(std::unique_ptr<node> n) : node_(std::move(n)) {}

  example_node(const example_node&) = delete;
  example_node& operator=(const example_node&) = delete;

  /// Closes the clients, then stops the node.
  ~example_node();

  /// Connects a new client over loopback; it lives as long as this object.
  absl::StatusOr<client*> connect();

  /// The node's binary-protocol port.
  std::uint16_t port() const noexcept {
    return node_->binary_port();
  }

private:
  std::unique_ptr<node> node_;
  std::vector<std::unique_ptr<client>> clients_;
};

/// Sends `req` to `route` as protobuf, without waiting for the reply.
pending_call send_proto(client& c, const std::string& route,
                        const google::protobuf::Message& req);

/// Waits (at most call_timeout) for the reply of `call` and parses it into
/// `out`; a server error comes back as its status.
absl::Status take_proto(pending_call& call, google::protobuf::Message& out);

/// Calls `route` with `req` as protobuf and returns the typed reply.
template <class Reply>
absl::StatusOr<Reply> call_proto(client& c, const std::string& route,
                                 const google::protobuf::Message& req) {
  auto call = send_proto(c, route, req);
  Reply out;
  if (auto st = take_proto(call, out); !st.ok())
    return st;
  return out;
}

/// Calls `route` with the JSON text `json` as body (application/json) and
/// returns the reply, whose body is JSON too.
absl::StatusOr<reply> call_json(client& c, const std::string& route,
                                absl::string_view json);

/// Calls `route` with the JSON text `json` and parses the reply, which
/// must be JSON too, into `out`; `text`, if given, gets the reply's text.
absl::Status call_json_into(client& c, const std::string& route,
                            absl::string_view json,
                            google::protobuf::Message& out,
                            std::string* text = nullptr);

/// Calls `route` with the JSON text `json` and returns the JSON reply as a
/// Reply; `text`, if given, gets the reply's text.
template <class Reply>
absl::StatusOr<Reply> call_json_as(client& c, const std::string& route,
                                   absl::string_view json,
                                   std::string* text = nullptr) {
  Reply out;
  if (auto st = call_json_into(c, route, json, out, text); !st.ok())
    return st;
  return out;
}

} // namespace weft::test
