#pragma once

#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <absl/status/statusor.h>
#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/typed_actor.hpp>
#include <google/protobuf/struct.pb.h>

#include "runtime/body_codec.hpp"
#include "runtime/body_stream.hpp"
#include "runtime/context.hpp"
#include "runtime/http_request.hpp"
#include "runtime/http_response.hpp"
#include "runtime/http_stream.hpp"
#include "runtime/middleware.hpp"
#include "runtime/reply_to.hpp"
#include "runtime/route_options.hpp"
#include "runtime/route_spec.hpp"

namespace weft {

/// The interface of a user-written route actor, for typed actors:
/// `(request_atom, request) -> response` (or a weft error).
using route_actor_type
  = caf::typed_actor<caf::replies_to<request_atom, request>::with<response>>;

/// An HTTP route's handler: runs on a handler actor like every handler.
using http_handler = std::function<absl::StatusOr<http_response>(
  const http_request&, context&)>;

/// An HTTP route's asynchronous handler: answers later through `out`
/// (e.g. from a callback of ctx.ask()).
using http_async_handler = std::function<void(
  const http_request&, context&, reply_to<http_response> out)>;

/// An HTTP route's streaming handler: answers through `out` with chunks
/// or Server-Sent Events written over time (runtime/http_stream.hpp).
using http_stream_handler
  = std::function<void(const http_request&, context&, http_stream out)>;

/// A group of routes under a name prefix, with the middleware and error
/// handlers that apply to them; blueprints nest (mount). Built by plain
/// code before serving (node::serve), then immutable.
///
///     weft::blueprint chat{"chat"};
///     chat.route<chat::Say, chat::Said>("say", say);   // serves "chat.say"
class blueprint {
public:
  /// `prefix` is joined to route names with a dot ("" = no prefix).
  explicit blueprint(std::string prefix = "");

  /// A protobuf route answered by `fn` on a handler actor (or a pool, see
  /// route_options). `fn` is one of
  ///   (const Req&, context&) -> absl::StatusOr<Reply>   (or Reply)
  ///   (const Req&, context&, reply_to<Reply>) -> void   (answers later)
  /// Req / Reply: protobuf messages; weft::payload / weft::response for raw
  /// bytes; google::protobuf::Value for JSON. `fn` is shared by every
  /// worker of the pool: give it no mutable state (use an actor route).
  template <class Req, class Reply, class F>
  blueprint& route(std::string name, F fn, route_options opts = {}) {
    auto spec = typed_spec<Req, Reply>(std::move(name), handler_form::function);
    spec->options = std::move(opts);
    if constexpr (std::is_invocable_v<F&, const Req&, context&,
                                      reply_to<Reply>>) {
      spec->form = handler_form::async;
      spec->async = [fn = std::move(fn)](payload& body, context& ctx,
                                         responder out) mutable {
        auto req = body_codec<Req>::decode(body);
        if (!req.ok())
          return out.fail(req.status());
        fn(std::as_const(*req), ctx, reply_to<Reply>{std::move(out)});
      };
    } else {
      static_assert(std::is_invocable_v<F&, const Req&, context&>,
                    "a handler takes (const Req&, context&) and returns "
                    "Reply or absl::StatusOr<Reply>, or takes "
                    "(const Req&, context&, reply_to<Reply>)");
      spec->form = handler_form::function;
      spec->sync = [fn = std::move(fn)](payload& body, context& ctx) mutable
        -> absl::StatusOr<response> {
        auto req = body_codec<Req>::decode(body);
        if (!req.ok())
          return req.status();
        auto result = fn(std::as_const(*req), ctx);
        if constexpr (is_status_or<decltype(result)>::value) {
          if (!result.ok())
            return result.status();
          return body_codec<Reply>::encode(std::move(*result));
        } else {
          return body_codec<Reply>::encode(std::move(result));
        }
      };
    }
    return add(std::move(spec));
  }

  /// A raw-bytes route: `fn(const payload& body, context&)` returns
  /// absl::StatusOr<response> (or takes a reply_to<response>).
  template <class F>
  blueprint& raw_route(std::string name, F fn, route_options opts = {}) {
    return route<payload, response>(std::move(name), std::move(fn),
                                    std::move(opts));
  }

  /// A JSON route: `fn(const google::protobuf::Value&, context&)` returns
  /// absl::StatusOr<google::protobuf::Value> (or takes a reply_to).
  template <class F>
  blueprint& json_route(std::string name, F fn, route_options opts = {}) {
    using value = google::protobuf::Value;
    return route<value, value>(std::move(name), std::move(fn),
                               std::move(opts));
  }

  /// An HTTP route: `method` ("GET", "POST", "PUT", "PATCH", "DELETE",
  /// "OPTIONS") on `path`, a pattern with `{name}`, `{name:int}` and a last
  /// `{*tail}` (runtime/http_path_pattern.hpp). It is also a route named
  /// "<METHOD> <path>" (prefixed by the blueprint), so middleware, error
  /// handlers and pools apply as to any route; the path is not prefixed.
  ///
  ///     api.get("/users/{id:int}", [](const weft::http_request& req,
  ///                                   weft::context&) { ... });
  blueprint& http(std::string method, std::string path, http_handler fn,
                  route_options opts = {});
  /// The same with an asynchronous handler `(const http_request&,
  /// context&, reply_to<http_response>)`.
  blueprint& http(std::string method, std::string path, http_async_handler fn,
                  route_options opts = {});
  /// The same with a streaming handler `(const http_request&, context&,
  /// http_stream)`: the response is chunked or an event stream.
  blueprint& http(std::string method, std::string path, http_stream_handler fn,
                  route_options opts = {});
  /// http() with the method named; `fn` is any of the handler forms.
  template <class F>
  blueprint& get(std::string path, F fn, route_options opts = {}) {
    return http("GET", std::move(path), std::move(fn), std::move(opts));
  }
  template <class F>
  blueprint& post(std::string path, F fn, route_options opts = {}) {
    return http("POST", std::move(path), std::move(fn), std::move(opts));
  }
  template <class F>
  blueprint& put(std::string path, F fn, route_options opts = {}) {
    return http("PUT", std::move(path), std::move(fn), std::move(opts));
  }
  template <class F>
  blueprint& patch(std::string path, F fn, route_options opts = {}) {
    return http("PATCH", std::move(path), std::move(fn), std::move(opts));
  }
  template <class F>
  blueprint& del(std::string path, F fn, route_options opts = {}) {
    return http("DELETE", std::move(path), std::move(fn), std::move(opts));
  }

  /// A route answered by an actor the caller spawned. It is watched but
  /// cannot be restarted: if it dies the route answers `unavailable`.
  blueprint& route_actor(std::string name, caf::actor handler,
                         route_options opts = {});

  /// Same, naming the protobuf types the actor expects and answers (for
  /// JSON conversion and `weft schemas`).
  template <class Req, class Reply>
  blueprint& route_actor(std::string name, caf::actor handler,
                         route_options opts = {}) {
    auto spec = typed_spec<Req, Reply>(std::move(name), handler_form::actor);
    spec->actor = std::move(handler);
    opts.workers = 1;
    spec->options = std::move(opts);
    return add(std::move(spec));
  }

  /// Same, for a typed actor with the route_actor_type interface.
  blueprint& route_actor(std::string name, route_actor_type handler,
                         route_options opts = {}) {
    return route_actor(std::move(name),
                       caf::actor_cast<caf::actor>(std::move(handler)),
                       std::move(opts));
  }

  /// A route answered by actors that `make` spawns: opts.workers of them,
  /// restarted by the router when they die (opts.restart). The actors
  /// answer (request_atom, request) -> response; Req / Reply name the
  /// protobuf types of the bodies they expect and return (for JSON
  /// conversion and `weft schemas`), payload / response when raw.
  template <class Req = payload, class Reply = response>
  blueprint& route_actors(std::string name, actor_factory make,
                          route_options opts = {}) {
    auto spec = typed_spec<Req, Reply>(std::move(name), handler_form::actor);
    spec->factory = std::move(make);
    spec->options = std::move(opts);
    return add(std::move(spec));
  }

  /// A raw-bytes route whose request bodies are used as they arrive: each
  /// request gets a consumer from `make` (runtime/body_stream.hpp) that
  /// takes the body piece by piece, then answers. On a binary connection a
  /// chunked body is neither held in memory nor spilled to a file, and the
  /// sender goes as fast as the consumer (route_options::stream_body);
  /// bodies from elsewhere are fed to the consumer whole. Served by
  /// opts.workers handler actors.
  blueprint& stream_route(std::string name, body_consumer_factory make,
                          route_options opts = {});

  /// Declares a pool of `opts.workers` actors made by `make`, shared by
  /// the routes that name it in route_to(): with by_key dispatch, all
  /// requests with one key reach one actor, whatever their route (e.g. a
  /// chat room's join, say and history). Pool names are node-wide.
  blueprint& actor_pool(std::string pool, actor_factory make,
                        route_options opts = {});

  /// A route served by the pool `pool` (declared with actor_pool in this
  /// blueprint or one registered before). The pool's actors see the
  /// route's full name in request::route; Req / Reply as in route_actors.
  template <class Req = payload, class Reply = response>
  blueprint& route_to(std::string name, std::string pool) {
    auto spec = typed_spec<Req, Reply>(std::move(name), handler_form::actor);
    spec->pool = std::move(pool);
    return add(std::move(spec));
  }

  /// Middleware for every route of this blueprint and of those it mounts,
  /// in the order added (first added runs first).
  blueprint& use(middleware mw);

  /// An error handler for the routes of this blueprint (and of those it
  /// mounts, after their own).
  blueprint& on_error(error_handler handler);

  /// Nests `child`: its prefix joins this one's ("api" + "chat" serves
  /// "api.chat.say").
  blueprint& mount(blueprint child);

  const std::string& prefix() const noexcept {
    return prefix_;
  }
  const std::vector<std::shared_ptr<const route_spec>>& routes() const {
    return routes_;
  }
  const std::vector<std::shared_ptr<const middleware>>& middlewares() const {
    return middleware_;
  }
  const std::vector<std::shared_ptr<const error_handler>>&
  error_handlers() const {
    return error_handlers_;
  }
  const std::vector<blueprint>& children() const {
    return children_;
  }
  /// The pools declared by actor_pool (form actor, named by `pool`).
  const std::vector<std::shared_ptr<const route_spec>>& pools() const {
    return pools_;
  }

private:
  template <class T>
  struct is_status_or : std::false_type {};
  template <class T>
  struct is_status_or<absl::StatusOr<T>> : std::true_type {};

  /// A spec named `name` with Req / Reply as its contract.
  template <class Req, class Reply>
  static std::shared_ptr<route_spec> typed_spec(std::string name,
                                                handler_form form) {
    auto spec = std::make_shared<route_spec>();
    spec->name = std::move(name);
    spec->form = form;
    spec->request_type = body_codec<Req>::type_name();
    spec->reply_type = body_codec<Reply>::type_name();
    spec->request_prototype = body_codec<Req>::prototype();
    spec->reply_prototype = body_codec<Reply>::prototype();
    return spec;
  }

  blueprint& add(std::shared_ptr<route_spec> spec);

  /// The spec of an HTTP route named "<method> <path>" (raw bytes).
  static std::shared_ptr<route_spec> http_spec(std::string method,
                                               std::string path,
                                               handler_form form,
                                               route_options opts);

  std::string prefix_;
  // shared_ptr: specs, middleware and error handlers are immutable once
  // declared and shared by the router and every edge that dispatches.
  std::vector<std::shared_ptr<const route_spec>> routes_;
  std::vector<std::shared_ptr<const route_spec>> pools_;
  std::vector<std::shared_ptr<const middleware>> middleware_;
  std::vector<std::shared_ptr<const error_handler>> error_handlers_;
  std::vector<blueprint> children_;
};

} // namespace weft
