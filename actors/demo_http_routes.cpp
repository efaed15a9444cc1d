#include "actors/demo_http_routes.hpp"

#include <chrono>
#include <cstdint>
#include <string>

#include <absl/strings/numbers.h>
#include <absl/strings/str_cat.h>

#include "runtime/error_bridge.hpp"
#include "runtime/push_message.hpp"
#include "runtime/scheduled_task.hpp"
#include "runtime/type_ids.hpp"

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

/// Writes chunks [next, chunks) of GET /stream while the stream's window
/// allows, then continues from on_writable; ends the stream after the last.
void pump_stream(http_stream out, std::int64_t next, std::int64_t chunks,
                 std::int64_t size) {
  for (; next < chunks; ++next) {
    std::string chunk(static_cast<std::size_t>(size),
                      static_cast<char>('a' + next % 26));
    auto st = out.write(absl::string_view{chunk});
    if (code_of(st) == errc::overloaded) {
      out.on_writable(
        [out, next, chunks, size] { pump_stream(out, next, chunks, size); });
      return;
    }
    if (!st.ok())
      return; // the client went away
  }
  out.end();
}

} // namespace

void add_demo_http_routes(blueprint& app, task_scheduler_actor scheduler) {
  // The TechEmpower endpoints answer on the connection (run_on_edge): a
  // constant reply needs no handler actor.
  route_options on_edge;
  on_edge.run_on_edge = true;
  app.get("/plaintext", [](const http_request&, context&) {
    return http_response::bytes("Hello, World!", "text/plain");
  }, on_edge);
  app.get("/json", [](const http_request&, context&) {
    return http_response::json(R"({"message":"Hello, World!"})");
  }, on_edge);
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
  // PyLiteFlux's chat example: GET /hello?client_id=alice answers 202 at
  // once and pushes "Hello, alice!" to that client (any protocol) after a
  // delay, from the node's task scheduler (no thread sleeps meanwhile).
  app.get("/hello", [scheduler](const http_request& req, context& ctx,
                                reply_to<http_response> out) {
    const auto* client = req.query("client_id");
    if (!client || client->empty())
      return out.fail(
        make_status(errc::invalid_argument, "client_id is missing"));
    std::int64_t delay_ms = 1000;
    if (const auto* d = req.query("delay_ms");
        d
        && (!absl::SimpleAtoi(*d, &delay_ms) || delay_ms < 0
            || delay_ms > 60'000))
      return out.fail(
        make_status(errc::invalid_argument, "delay_ms must be 0..60000"));
    if (!scheduler)
      return out.fail(
        make_status(errc::unavailable, "no task scheduler on this node"));
    push_message msg;
    msg.route = "demo.hello";
    msg.content_type = "text/plain";
    msg.body
      = payload{shared_bytes::copy_of(absl::StrCat("Hello, ", *client, "!"))};
    auto task = run_once(std::chrono::milliseconds{delay_ms},
                         [ctx, id = *client, msg] { ctx.push(id, msg); });
    ctx.ask(scheduler, schedule_atom_v, std::move(task))
      .then(
        [out, id = *client, delay_ms](std::uint64_t) mutable {
          out.deliver(http_response::json(
            object({{"client_id", string_value(id)},
                    {"delay_ms", number_value(static_cast<double>(delay_ms))}}),
            202));
        },
        [out](caf::error& err) mutable { out.fail(to_status(err)); });
  });
  // A chunked response written as the client takes it: N chunks of B
  // bytes ('a'..'z' by chunk), at most the stream's window unacknowledged.
  app.get("/stream", [](const http_request& req, context&, http_stream out) {
    std::int64_t chunks = 4;
    std::int64_t size = 16;
    const auto* c = req.query("chunks");
    const auto* b = req.query("size");
    if ((c && !absl::SimpleAtoi(*c, &chunks))
        || (b && !absl::SimpleAtoi(*b, &size)) || chunks < 0
        || chunks > 1'000'000 || size < 1 || size > 1 << 20)
      return out.fail(make_status(
        errc::invalid_argument, "chunks must be 0..1000000, size 1..1048576"));
    (void)out.start(http_response::bytes("", "text/plain"));
    pump_stream(std::move(out), 0, chunks, size);
  });
  // Server-Sent Events N..1 (ids N..1), then the end; a client that
  // reconnects with Last-Event-ID: K gets K-1..1.
  app.get("/countdown", [](const http_request& req, context&, http_stream out) {
    std::int64_t from = 3;
    if (const auto* f = req.query("from");
        f && (!absl::SimpleAtoi(*f, &from) || from < 0 || from > 1000))
      return out.fail(
        make_status(errc::invalid_argument, "from must be 0..1000"));
    std::int64_t last = 0;
    if (auto id = req.last_event_id();
        !id.empty() && absl::SimpleAtoi(id, &last) && last > 0 && last <= from)
      from = last - 1;
    (void)out.start_events();
    for (auto n = from; n > 0; --n) {
      sse_event ev;
      ev.event = "count";
      ev.id = absl::StrCat(n);
      ev.data = absl::StrCat(n);
      if (!out.send(ev).ok())
        return; // window full or client gone: this demo just stops
    }
    out.end();
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
