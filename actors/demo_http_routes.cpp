#include "actors/demo_http_routes.hpp"

#include <absl/strings/str_cat.h>

#include "runtime/error_bridge.hpp"
#include "runtime/push_message.hpp"

namespace weft {

namespace {

using google::protobuf::Value;

/// {"key": value, ...} as a google.protobuf.Value.
Value object(std::initializer_list<std::pair<const char*, Value>> fields) {
  Value out;
  auto& m = *out.mutable_struct_value()->mutable_fields();
  for (const auto& [k, v] : fields)
    m[k] = v;
  return out;
}

Value string_value(absl::string_view s) {
  Value v;
  v.set_string_value(std::string{s});
  return v;
}

Value number_value(double n) {
  Value v;
  v.set_number_value(n);
  return v;
}

} // namespace

void add_demo_http_routes(blueprint& app) {
  app.get("/plaintext", [](const http_request&, context&) {
    return http_response::bytes("Hello, World!", "text/plain");
  });
  app.get("/json", [](const http_request&, context&) {
    return http_response::json(R"({"message":"Hello, World!"})");
  });
  // Path and query parameters: /hello/Ada?greeting=Hi
  app.get("/hello/{name}", [](const http_request& req, context&) {
    const auto* greeting = req.query("greeting");
    return http_response::text(absl::StrCat(greeting ? *greeting : "Hello",
                                            ", ", *req.param("name"), "!"));
  });
  // A typed parameter: /items/abc is a 404, not a handler error.
  app.get("/items/{id:int}",
          [](const http_request& req,
             context&) -> absl::StatusOr<http_response> {
            auto id = req.int_param("id");
            if (!id.ok())
              return id.status();
            return http_response::json(object(
              {{"id", number_value(static_cast<double>(*id))}}));
          });
  app.del("/items/{id:int}", [](const http_request&, context&) {
    return http_response::text("").with_status(204);
  });
  // A JSON body in, 201 with it back.
  app.post("/items",
           [](const http_request& req,
              context&) -> absl::StatusOr<http_response> {
             auto body = req.json();
             if (!body.ok())
               return body.status();
             return http_response::json(object({{"created", *body}}), 201)
               .with_header("Location", "/items/1");
           });
  // The wildcard tail: /files/a/b.txt gives {"path":"a/b.txt"}.
  app.get("/files/{*path}", [](const http_request& req, context&) {
    return http_response::json(
      object({{"path", string_value(*req.param("path"))}}));
  });
  // Pushes across protocols (PyLiteFlux's chat example): an HTTP request
  // pushes `text` to a binary-protocol client by its client id, from a
  // background task once the answer is sent. 202 at once; an unknown
  // client is ignored (the push is fire and forget).
  app.get("/notify",
          [](const http_request& req,
             context& ctx) -> absl::StatusOr<http_response> {
            const auto* client = req.query("client_id");
            if (!client || client->empty())
              return make_status(errc::invalid_argument,
                                 "client_id is missing");
            const auto* text = req.query("text");
            push_message msg;
            msg.route = "demo.notify";
            msg.content_type = "text/plain";
            msg.body = payload{shared_bytes::copy_of(text ? *text : "hello")};
            auto sent = ctx.background(
              [ctx, id = *client, msg]() mutable { ctx.push(id, msg); });
            if (!sent.ok())
              return sent;
            return http_response::json(
              object({{"queued", string_value(*client)}}), 202);
          });
  // Urlencoded or multipart fields echoed as a JSON object.
  app.post("/form",
           [](const http_request& req,
              context&) -> absl::StatusOr<http_response> {
             auto fields = req.form();
             if (!fields.ok())
               return fields.status();
             Value out;
             auto& m = *out.mutable_struct_value()->mutable_fields();
             for (const auto& f : *fields)
               m[f.name] = string_value(f.value);
             return http_response::json(out);
           });
}

} // namespace weft
