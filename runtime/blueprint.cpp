#include "runtime/blueprint.hpp"

#include <absl/strings/str_cat.h>

namespace weft {

const char* to_string(handler_form form) {
  switch (form) {
    case handler_form::function:
      return "function";
    case handler_form::async:
      return "async";
    case handler_form::actor:
      return "actor";
  }
  return "function";
}

std::string to_string(dispatch_policy policy, const std::string& key) {
  switch (policy) {
    case dispatch_policy::round_robin:
      return "round_robin";
    case dispatch_policy::least_loaded:
      return "least_loaded";
    case dispatch_policy::by_key:
      return absl::StrCat("by_key:", key);
    case dispatch_policy::same_core:
      return "same_core";
  }
  return "round_robin";
}

blueprint::blueprint(std::string prefix) : prefix_(std::move(prefix)) {
}

blueprint& blueprint::route_actor(std::string name, caf::actor handler,
                                  route_options opts) {
  auto spec = std::make_shared<route_spec>();
  spec->name = std::move(name);
  spec->form = handler_form::actor;
  spec->actor = std::move(handler);
  opts.workers = 1;
  spec->options = std::move(opts);
  return add(std::move(spec));
}

blueprint& blueprint::stream_route(std::string name,
                                   body_consumer_factory make,
                                   route_options opts) {
  auto spec = typed_spec<payload, response>(std::move(name),
                                            handler_form::actor);
  spec->factory = [make = std::move(make)](caf::actor_system& sys) {
    return spawn_body_stream_handler(sys, make);
  };
  opts.stream_body = true;
  opts.accepts_batches = true;
  spec->options = std::move(opts);
  return add(std::move(spec));
}

std::shared_ptr<route_spec> blueprint::http_spec(std::string method,
                                                std::string path,
                                                handler_form form,
                                                route_options opts) {
  auto spec = typed_spec<payload, response>(absl::StrCat(method, " ", path),
                                            form);
  spec->http_method = std::move(method);
  spec->http_path = std::move(path);
  spec->options = std::move(opts);
  return spec;
}

blueprint& blueprint::http(std::string method, std::string path,
                           http_handler fn, route_options opts) {
  auto spec = http_spec(std::move(method), std::move(path),
                        handler_form::function, std::move(opts));
  spec->sync = [fn = std::move(fn)](payload& body, context& ctx)
    -> absl::StatusOr<response> {
    auto req = http_request::from(body, ctx);
    if (!req.ok())
      return req.status();
    auto out = fn(*req, ctx);
    if (!out.ok())
      return out.status();
    return std::move(*out).to_response();
  };
  return add(std::move(spec));
}

blueprint& blueprint::http(std::string method, std::string path,
                           http_async_handler fn, route_options opts) {
  auto spec = http_spec(std::move(method), std::move(path),
                        handler_form::async, std::move(opts));
  spec->async = [fn = std::move(fn)](payload& body, context& ctx,
                                     responder out) {
    auto req = http_request::from(body, ctx);
    if (!req.ok())
      return out.fail(req.status());
    fn(*req, ctx, reply_to<http_response>{std::move(out)});
  };
  return add(std::move(spec));
}

blueprint& blueprint::http(std::string method, std::string path,
                           http_stream_handler fn, route_options opts) {
  auto spec = http_spec(std::move(method), std::move(path), handler_form::async,
                        std::move(opts));
  spec->async
    = [fn = std::move(fn)](payload& body, context& ctx, responder out) {
        auto req = http_request::from(body, ctx);
        if (!req.ok())
          return out.fail(req.status());
        // The requester is the HTTP connection (the dispatcher sends to the
        // handler directly): the stream's chunks go to it.
        auto connection = out.requester();
        if (!connection)
          return out.fail(make_status(errc::failed_precondition,
                                      "a streamed route needs a connection"));
        auto shared = std::make_shared<http_stream::shared_state>();
        auto writer = spawn_http_stream_writer(ctx.self()->system(), connection,
                                               ctx.message_id(), shared);
        out.delegate_stream(writer);
        fn(*req, ctx, http_stream{writer, std::move(shared)});
      };
  return add(std::move(spec));
}

blueprint& blueprint::actor_pool(std::string pool, actor_factory make,
                                 route_options opts) {
  auto spec = std::make_shared<route_spec>();
  spec->name = pool;
  spec->pool = std::move(pool);
  spec->form = handler_form::actor;
  spec->factory = std::move(make);
  spec->options = std::move(opts);
  pools_.push_back(std::move(spec));
  return *this;
}

blueprint& blueprint::use(middleware mw) {
  middleware_.push_back(std::make_shared<const middleware>(std::move(mw)));
  return *this;
}

blueprint& blueprint::on_error(error_handler handler) {
  error_handlers_.push_back(
    std::make_shared<const error_handler>(std::move(handler)));
  return *this;
}

blueprint& blueprint::mount(blueprint child) {
  children_.push_back(std::move(child));
  return *this;
}

blueprint& blueprint::add(std::shared_ptr<route_spec> spec) {
  routes_.push_back(std::move(spec));
  return *this;
}

} // namespace weft
