#include "gateways/http/http_gateway.hpp"

#include <memory>
#include <random>

#include <absl/strings/str_cat.h>

#include "gateways/gateway_listener.hpp"
#include "gateways/http/http_connection_actor.hpp"
#include "gateways/http/internal/pass_through_framer.hpp"

namespace weft::http {

absl::StatusOr<http_gateway>
start_http_gateway(caf::actor_system& sys, io::reactor_pool& pool,
                   const caf::actor& router, http_gateway_options opts,
                   logger log, caf::actor registry) {
  // A head must fit the reactor's hand-over, whatever the limits say.
  opts.channel.max_unit_bytes = std::max<std::size_t>(
    opts.channel.max_unit_bytes, opts.limits.max_header_bytes);
  // A zero timeout or rate turns that check off.
  auto off_if_zero = [](absl::Duration& d) {
    if (d <= absl::ZeroDuration())
      d = absl::InfiniteDuration();
  };
  off_if_zero(opts.limits.header_timeout);
  off_if_zero(opts.limits.idle_timeout);
  off_if_zero(opts.limits.stream_keepalive);
  off_if_zero(opts.handler_timeout);
  if (opts.limits.min_body_rate == 0)
    opts.limits.body_rate_grace = absl::InfiniteDuration();
  // A client may half-close after its last request and still read the
  // answers (RFC 9112 §9.6).
  opts.channel.half_close = true;
  // io_sent when the queue falls to a quarter of a file body's write-ahead.
  if (opts.channel.sent_low_watermark == 0)
    opts.channel.sent_low_watermark = 128 * 1024;
  http_gateway result;
  result.stats = std::make_shared<http_stats>();
  http_connection_context ctx;
  ctx.options = std::make_shared<const http_gateway_options>(std::move(opts));
  ctx.stats = result.stats;
  ctx.indexes = std::make_shared<route_index_cache>();
  ctx.draining = std::make_shared<std::atomic<bool>>(false);
  std::random_device entropy;
  ctx.id_prefix = absl::StrCat(absl::Hex(entropy(), absl::kZeroPad8));
  ctx.log = log;
  ctx.registry = std::move(registry);
  const auto& o = *ctx.options;
  gateway_listener_spec spec;
  spec.host = o.host;
  spec.port = o.port;
  spec.channel = o.channel;
  spec.make_framer = [] {
    return std::make_unique<internal::pass_through_framer>();
  };
  spec.accepted = std::shared_ptr<std::atomic<std::uint64_t>>(
    result.stats, &result.stats->accepted);
  spec.draining = ctx.draining;
  spec.spawn_connection = spawn_with_routes(ctx, spawn_http_connection);
  auto listener
    = start_gateway_listener(sys, pool, router, std::move(spec), result.port);
  if (!listener.ok())
    return listener.status();
  result.listener = std::move(*listener);
  return result;
}

} // namespace weft::http
