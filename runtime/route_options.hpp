#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include <absl/time/time.h>

namespace weft {

/// How a pool of handler actors shares a route's requests.
enum class dispatch_policy {
  /// In turn, over the whole pool (one counter shared by every edge).
  round_robin,
  /// To the worker with the fewest requests in flight.
  least_loaded,
  /// By the value of a key (route_options::key): one key always reaches one
  /// worker, in the order a connection sent its requests.
  by_key,
  /// To the worker of the edge's own I/O thread (a connection's reactor,
  /// modulo the pool's size). With one worker per scheduler thread, a
  /// request and its answer stay on the core that read it: no hand-off
  /// between cores, and each worker's mailbox is fed by one thread. For
  /// stateless handlers whose work is small next to such a hand-off.
  same_core,
};

/// Supervision of a route's handler actors: a worker that dies is replaced,
/// at most `max_restarts` times within `window`; past that the route is
/// marked down and answers `unavailable` until it is registered again.
struct restart_policy {
  int max_restarts = 5;
  absl::Duration window = absl::Seconds(10);
};

/// How a route is served. The defaults serve it with one handler actor.
struct route_options {
  /// Handler actors in the route's pool, spread over the scheduler's cores.
  std::size_t workers = 1;
  dispatch_policy dispatch = dispatch_policy::round_robin;
  /// For by_key: a field of the request message (protobuf routes: a
  /// top-level string, bytes, integer or bool field), or a metadata key
  /// (bytes and JSON routes).
  std::string key;
  /// Requests in flight across the pool; past it, requests are answered
  /// `overloaded` at once instead of queueing.
  std::size_t max_queue = 4096;
  restart_policy restart;
  /// Actor routes only: the actor also answers (request_atom,
  /// request_batch) -> reply_batch, so an edge may send it several requests
  /// of one read in one message. Function routes always accept batches.
  bool accepts_batches = false;
  /// Function routes only (ignored for asynchronous and actor routes): the
  /// handler runs on the edge's connection actor that received the request
  /// instead of a handler actor, which saves two actor hand-offs per
  /// request (docs/guide.md, "Handlers on the edge"). For handlers that
  /// take microseconds and never block: a slow one delays every message of
  /// its connection, and `workers`, `dispatch` and `max_queue` do not
  /// apply. Requests from other nodes still go to the handler actors.
  bool run_on_edge = false;
  /// Actor routes: the handler takes the body of a chunked request as it
  /// arrives on a binary connection (body_begin, body_piece, body_end
  /// messages; runtime/body_stream.hpp) instead of whole, so a large
  /// upload is neither held in memory nor spilled to a file. Requests
  /// sent in one frame, and from other edges, still come whole
  /// (request_atom). blueprint::stream_route sets it.
  bool stream_body = false;
  /// Largest request body the HTTP gateway reads for this route (413 past
  /// it, answered from the head); 0 = the gateway's --http-max-body.
  std::uint64_t max_body_bytes = 0;
};

/// The name of a dispatch policy as `weft schemas` prints it.
std::string to_string(dispatch_policy policy, const std::string& key);

} // namespace weft
