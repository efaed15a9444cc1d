#include "tests/integration/examples/example_node.hpp"

#include <chrono>
#include <future>
#include <utility>

#include <absl/strings/str_cat.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

namespace weft::test {

namespace {

/// The body of a successful reply of content type `type` (it stays valid
/// while `r` lives); otherwise the error.
absl::StatusOr<absl::string_view> body_of(const call_result& r,
                                          absl::string_view type) {
  if (!r.ok())
    return r.status();
  if (r->content_type != type)
    return absl::InternalError(
      absl::StrCat("reply of content type '", r->content_type, "'"));
  return r->body.bytes().view();
}

} // namespace

absl::StatusOr<std::unique_ptr<example_node>>
example_node::start(blueprint app) {
  node_config cfg;
  cfg.tcp_listen = "127.0.0.1:0";
  cfg.scheduler_threads = 2;
  cfg.io_threads = 1;
  cfg.drain_timeout = absl::Seconds(2);
  cfg.spill_dir = ::testing::TempDir();
  auto started = node::start(cfg, logger{log_level::off});
  if (!started.ok())
    return started.status();
  auto& n = **started;
  if (auto st = n.serve(std::move(app)); !st.ok())
    return st;
  if (auto st = n.listen(); !st.ok())
    return st;
  return std::make_unique<example_node>(std::move(*started));
}

example_node::~example_node() {
  clients_.clear();
  node_->stop();
}

absl::StatusOr<client*> example_node::connect() {
  client_options opts;
  opts.port = node_->binary_port();
  opts.session.spill_dir = ::testing::TempDir();
  opts.reconnect = false;
  auto c = client::connect(node_->system(), node_->reactors(), opts);
  if (!c.ok())
    return c.status();
  clients_.push_back(std::move(*c));
  return clients_.back().get();
}

pending_call send_proto(client& c, const std::string& route,
                        const google::protobuf::Message& req) {
  call_options opts;
  opts.content_type = protobuf_content_type;
  opts.schema = req.GetDescriptor()->full_name();
  opts.timeout = call_timeout;
  return c.call(route, payload{shared_bytes::copy_of(req.SerializeAsString())},
                opts);
}

absl::Status take_proto(pending_call& call, google::protobuf::Message& out) {
  auto limit = absl::ToChronoNanoseconds(call_timeout + absl::Seconds(5));
  if (call.result.wait_for(limit) != std::future_status::ready)
    return absl::DeadlineExceededError("no reply in time");
  auto r = call.result.get();
  auto body = body_of(r, protobuf_content_type);
  if (!body.ok())
    return body.status();
  if (!out.ParseFromArray(body->data(), static_cast<int>(body->size())))
    return absl::InternalError(
      absl::StrCat("the reply is not a ", out.GetDescriptor()->full_name()));
  return absl::OkStatus();
}

absl::StatusOr<reply> call_json(client& c, const std::string& route,
                                absl::string_view json) {
  call_options opts;
  opts.content_type = json_content_type;
  opts.timeout = call_timeout;
  return c.call_sync(route, payload{shared_bytes::copy_of(json)}, opts);
}

absl::Status call_json_into(client& c, const std::string& route,
                            absl::string_view json,
                            google::protobuf::Message& out, std::string* text) {
  auto r = call_json(c, route, json);
  auto body = body_of(r, json_content_type);
  if (!body.ok())
    return body.status();
  if (text)
    *text = std::string{*body};
  auto st = google::protobuf::util::JsonStringToMessage(
    google::protobuf::StringPiece{body->data(), body->size()}, &out);
  if (!st.ok())
    return absl::InternalError(absl::StrCat(
      "the reply is not a ", out.GetDescriptor()->full_name(),
      " in JSON: ", absl::string_view{st.message().data(), st.message().size()},
      ": ", *body));
  return absl::OkStatus();
}

} // namespace weft::test
