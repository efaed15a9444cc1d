#include "gateways/binary/binary_gateway.hpp"

#include <memory>

#include "gateways/binary/connection_actor.hpp"
#include "gateways/gateway_listener.hpp"
#include "runtime/error_bridge.hpp"
#include "runtime/protocol/binary_framer.hpp"
#include "runtime/protocol/wire_format.hpp"
#include "runtime/type_ids.hpp"

namespace weft::binary {

absl::StatusOr<binary_gateway>
start_binary_gateway(caf::actor_system& sys, io::reactor_pool& pool,
                     const caf::actor& router, binary_gateway_options opts,
                     logger log, caf::actor registry) {
  if (auto st = protocol::validate(opts.session.local); !st.ok())
    return make_status(errc::invalid_argument, st.message());
  // The reactor must accept any frame the session accepts.
  opts.channel.max_unit_bytes
    = std::max<std::size_t>(opts.channel.max_unit_bytes,
                            opts.session.local.max_frame_size
                              + protocol::frame_header_size);
  // Refill the reactor before its queue runs dry, so bulk transfers stream.
  if (opts.channel.sent_low_watermark == 0)
    opts.channel.sent_low_watermark = opts.write_ahead / 2;
  opts.session.request_timeout = opts.handler_timeout;
  binary_gateway result;
  result.stats = std::make_shared<gateway_stats>();
  connection_context ctx;
  ctx.options = std::make_shared<const binary_gateway_options>(std::move(opts));
  ctx.stats = result.stats;
  ctx.log = log;
  ctx.registry = std::move(registry);
  const auto& o = *ctx.options;
  gateway_listener_spec spec;
  spec.host = o.host;
  spec.port = o.port;
  spec.channel = o.channel;
  spec.make_framer = [max_frame = o.session.local.max_frame_size] {
    return std::make_unique<protocol::binary_framer>(max_frame);
  };
  spec.accepted = std::shared_ptr<std::atomic<std::uint64_t>>(
    result.stats, &result.stats->accepted);
  spec.spawn_connection = spawn_with_routes(ctx, spawn_connection_actor);
  auto listener
    = start_gateway_listener(sys, pool, router, std::move(spec), result.port);
  if (!listener.ok())
    return listener.status();
  result.listener = std::move(*listener);
  return result;
}

} // namespace weft::binary
