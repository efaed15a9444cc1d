#pragma once

// Every message type and atom that crosses weft's actors is declared here,
// once, so the whole message vocabulary can be audited in one place. The node
// registers the block with `cfg.add_message_types<caf::id_block::weft>()`.

#include <caf/atom.hpp>
#include <caf/type_id.hpp>

#include "runtime/client/client_call.hpp"
#include "runtime/cluster_announcement.hpp"
#include "runtime/drain_report.hpp"
#include "runtime/payload.hpp"
#include "runtime/push_message.hpp"
#include "runtime/blueprint_ref.hpp"
#include "runtime/request.hpp"
#include "runtime/route_table_ref.hpp"
#include "runtime/io/channel_ref.hpp"
#include "runtime/shared_bytes.hpp"
#include "runtime/cache_compute.hpp"
#include "runtime/cache_stats.hpp"
#include "runtime/scheduled_task.hpp"
#include "runtime/task_scheduler_stats.hpp"
#include "runtime/background_task.hpp"
#include "runtime/event.hpp"
#include "runtime/event_subscription.hpp"

CAF_BEGIN_TYPE_ID_BLOCK(weft, caf::first_custom_type_id)

/// (drain_atom, timespan budget) -> ok_atom: finish in-flight work in time.
CAF_ADD_ATOM(weft, weft, drain_atom, "drain")
/// (join_drain_atom, actor): the actor takes part in the node's drain.
CAF_ADD_ATOM(weft, weft, join_drain_atom, "joindrain")
/// (own_atom, actor): the actor goes down with the node (no drain).
CAF_ADD_ATOM(weft, weft, own_atom, "own")
/// A positive acknowledgement without a payload.
CAF_ADD_ATOM(weft, weft, ok_atom, "ok")

CAF_ADD_TYPE_ID(weft, (weft::drain_report))

// -- runtime/io: reactor <-> owner actor (docs/architecture.md, "Reactor") --
/// (io_accepted_atom, channel_ref) to a listener's owner: a new connection;
/// it reads nothing until channel::start(connection_owner).
CAF_ADD_ATOM(weft, weft, io_accepted_atom, "ioaccepted")
/// (io_read_atom, shared_bytes batch) to a channel's owner: whole units back
/// to back; report them with channel::consumed(batch.size()).
CAF_ADD_ATOM(weft, weft, io_read_atom, "ioread")
/// (io_sent_atom, uint64_t total_bytes_written) to a channel's owner: its
/// write queue fell to the low watermark (drained, by default).
CAF_ADD_ATOM(weft, weft, io_sent_atom, "iosent")
/// (io_closed_atom, caf::error reason) to a channel's owner, exactly once and
/// last: empty for a clean EOF or close(), else io_error, protocol_error,
/// cancelled (abort) or unavailable (pool stopped).
CAF_ADD_ATOM(weft, weft, io_closed_atom, "ioclosed")
CAF_ADD_TYPE_ID(weft, (weft::shared_bytes))
CAF_ADD_TYPE_ID(weft, (weft::io::channel_ref))

// -- routes: edges -> handler actors ------------------------------------------
/// (request_atom, request) -> response: handle one request of a route.
/// (request_atom, request_batch) -> reply_batch: several at once (routes
/// that accept batches).
CAF_ADD_ATOM(weft, weft, request_atom, "request")
/// (listen_atom) -> uint16_t: a gateway's listener binds and says its port.
CAF_ADD_ATOM(weft, weft, listen_atom, "listen")
/// (flush_atom): an actor's own note to write what it queued, sent to
/// itself so that everything already in its mailbox is batched first.
CAF_ADD_ATOM(weft, weft, flush_atom, "flush")
/// (tick_atom): an actor's own timer fired.
CAF_ADD_ATOM(weft, weft, tick_atom, "tick")
// Streamed request bodies (route_options::stream_body, runtime/body_stream.hpp):
/// (body_begin_atom, request head, uint64_t total) -> response: a request
/// whose body follows in pieces; answered once the body ended (or failed).
CAF_ADD_ATOM(weft, weft, body_begin_atom, "bodybegin")
/// (body_piece_atom, uint64_t connection_id, uint32_t message_id,
/// shared_bytes piece): the next bytes of that request's body, in order;
/// the handler answers each with body_ack_atom to the sender.
CAF_ADD_ATOM(weft, weft, body_piece_atom, "bodypiece")
/// (body_end_atom, uint64_t connection_id, uint32_t message_id): the body
/// arrived whole and its checksum matched.
CAF_ADD_ATOM(weft, weft, body_end_atom, "bodyend")
/// (body_abort_atom, uint64_t connection_id, uint32_t message_id): the body
/// will not end (cancelled, deadline, checksum mismatch, connection lost).
CAF_ADD_ATOM(weft, weft, body_abort_atom, "bodyabort")
/// (body_ack_atom, uint32_t message_id, uint64_t bytes) to the connection:
/// the handler used that many bytes of the body (flow-control credit).
CAF_ADD_ATOM(weft, weft, body_ack_atom, "bodyack")
/// (body_read_atom, uint64_t job): a stream route's handler reads the next
/// step of a whole body held in a file (sent to itself).
CAF_ADD_ATOM(weft, weft, body_read_atom, "bodyread")
CAF_ADD_TYPE_ID(weft, (weft::payload))
CAF_ADD_TYPE_ID(weft, (weft::request))
CAF_ADD_TYPE_ID(weft, (weft::response))
CAF_ADD_TYPE_ID(weft, (weft::request_batch))
CAF_ADD_TYPE_ID(weft, (weft::batch_reply))
CAF_ADD_TYPE_ID(weft, (weft::reply_batch))

// -- actors/router: the application's routes ---------------------------------
/// (register_atom, blueprint_ref) -> ok_atom: serve a blueprint's routes.
CAF_ADD_ATOM(weft, weft, register_atom, "register")
/// (use_atom, blueprint_ref) -> ok_atom: node-level middleware and error
/// handlers (the blueprint's routes are ignored).
CAF_ADD_ATOM(weft, weft, use_atom, "use")
/// (subscribe_atom, actor) -> route_table_ref: the current routes, then
/// (routes_atom, route_table_ref) to the actor on every change.
CAF_ADD_ATOM(weft, weft, subscribe_atom, "subscribe")
CAF_ADD_ATOM(weft, weft, routes_atom, "routes")
CAF_ADD_TYPE_ID(weft, (weft::blueprint_ref))
CAF_ADD_TYPE_ID(weft, (weft::route_table_ref))

// -- actors/client_registry: client ids, pushes and topics ---------------------
/// (client_atom, std::string id, actor connection) to the registry: a
/// connection opened with this id. (client_atom, std::string id) to a
/// connection: its client claimed a new id.
CAF_ADD_ATOM(weft, weft, client_atom, "client")
/// (push_atom, std::string client_id, push_message) -> ok_atom to the
/// registry; (push_atom, push_message) to a connection: send it.
CAF_ADD_ATOM(weft, weft, push_atom, "push")
/// (broadcast_atom, push_message) -> uint64_t clients reached.
CAF_ADD_ATOM(weft, weft, broadcast_atom, "broadcast")
/// (publish_atom, std::string topic, push_message) -> uint64_t reached.
CAF_ADD_ATOM(weft, weft, publish_atom, "publish")
/// (join_topic_atom | leave_topic_atom, std::string client_id, std::string
/// topic) -> uint32_t subscribers afterwards.
CAF_ADD_ATOM(weft, weft, join_topic_atom, "jointopic")
CAF_ADD_ATOM(weft, weft, leave_topic_atom, "leavetopic")
CAF_ADD_TYPE_ID(weft, (weft::push_message))

// -- runtime/client: client object -> client actor -----------------------------
/// (connect_atom) -> ok_atom: connect (blocking the detached client actor).
CAF_ADD_ATOM(weft, weft, connect_atom, "connect")
/// (cancel_atom, uint64_t token): cancel a pending call.
CAF_ADD_ATOM(weft, weft, cancel_atom, "cancel")
/// (ping_atom) -> timespan: send a PING, answer with the round-trip time.
CAF_ADD_ATOM(weft, weft, ping_atom, "ping")
CAF_ADD_TYPE_ID(weft, (weft::client_call))

// -- actors/task_scheduler and actors/cache_shard: runtime services (issue 5;
// docs/services.md). Reuses cancel_atom, ok_atom and tick_atom from above. --
/// (schedule_atom, scheduled_task) -> uint64_t task id (errors: overloaded
/// past max_pending, invalid_argument).
CAF_ADD_ATOM(weft, weft, schedule_atom, "schedule")
/// (run_task_atom, scheduled_task) -> bool: a scheduler's runner runs one
/// task; false when it threw.
CAF_ADD_ATOM(weft, weft, run_task_atom, "runtask")
/// (task_stats_atom) -> task_scheduler_stats.
CAF_ADD_ATOM(weft, weft, task_stats_atom, "taskstats")
/// (cache_get_atom, key) -> shared_bytes (not_found on a miss).
CAF_ADD_ATOM(weft, weft, cache_get_atom, "cacheget")
/// (cache_put_atom, key, shared_bytes, timespan ttl) -> ok_atom.
CAF_ADD_ATOM(weft, weft, cache_put_atom, "cacheput")
/// (cache_erase_atom, key) -> bool: whether a live entry was removed.
CAF_ADD_ATOM(weft, weft, cache_erase_atom, "cacheerase")
/// (cache_compute_atom, key, cache_compute, timespan ttl) -> shared_bytes:
/// get or compute once (single flight).
CAF_ADD_ATOM(weft, weft, cache_compute_atom, "cachecomp")
/// (cache_stats_atom) -> cache_stats.
CAF_ADD_ATOM(weft, weft, cache_stats_atom, "cachestats")
/// (sweep_atom): a cache shard's own note to remove expired entries.
CAF_ADD_ATOM(weft, weft, sweep_atom, "sweep")
CAF_ADD_TYPE_ID(weft, (weft::scheduled_task))
CAF_ADD_TYPE_ID(weft, (weft::task_scheduler_stats))
CAF_ADD_TYPE_ID(weft, (weft::cache_compute))
CAF_ADD_TYPE_ID(weft, (weft::cache_stats))

// -- actors/event_bus and actors/background_pool: runtime services (issue 5;
// docs/services.md). Reuses ok_atom and drain_atom from above. --------------
/// (bus_on_atom, event_subscription) to the event bus: add a subscription.
CAF_ADD_ATOM(weft, weft, bus_on_atom, "buson")
/// (bus_off_atom, subscription_id) to the event bus: remove a subscription
/// (unknown ids are ignored).
CAF_ADD_ATOM(weft, weft, bus_off_atom, "busoff")
/// (bus_emit_atom, event) to the event bus: deliver to its subscribers.
CAF_ADD_ATOM(weft, weft, bus_emit_atom, "busemit")
/// (event_atom, event) from the event bus to an actor subscriber (and to
/// the bus's runner actor of a function subscriber).
CAF_ADD_ATOM(weft, weft, event_atom, "event")
/// (retire_atom) from the event bus to a function subscriber's runner:
/// finish the events already queued, then exit.
CAF_ADD_ATOM(weft, weft, retire_atom, "retire")
/// (background_atom, background_task) to a background pool: queue a task;
/// from the pool to one of its workers: run it, answer ok_atom.
CAF_ADD_ATOM(weft, weft, background_atom, "background")
CAF_ADD_TYPE_ID(weft, (weft::event))
CAF_ADD_TYPE_ID(weft, (weft::event_subscription))
CAF_ADD_TYPE_ID(weft, (weft::background_task))
/// (io_eof_atom) to the owner of a channel with channel_options::half_close:
/// the peer shut its sending side; the channel still writes until close().
CAF_ADD_ATOM(weft, weft, io_eof_atom, "ioeof")

// -- runtime/http_stream: responses an HTTP handler streams (issue 6). -------
/// (stream_open_atom) -> response, delegated by a streamed route's handler
/// to its stream's writer actor, which answers with the head once the
/// handler starts the stream.
CAF_ADD_ATOM(weft, weft, stream_open_atom, "streamopen")
/// (stream_head_atom, response) from an http_stream to its writer: the
/// status and headers (metadata `:stream` marks the answer as streamed).
CAF_ADD_ATOM(weft, weft, stream_head_atom, "streamhead")
/// (stream_fail_atom, uint8_t errc, std::string message) from an
/// http_stream to its writer: fail before the head was sent.
CAF_ADD_ATOM(weft, weft, stream_fail_atom, "streamfail")
/// (http_chunk_atom, shared_bytes, uint8_t kind) from an http_stream to its
/// writer, and (http_chunk_atom, uint64_t seq, shared_bytes, uint8_t kind)
/// -> uint64_t from the writer to the HTTP connection: one chunk (kind 0),
/// the end (1) or an abort (2); the answer acknowledges the chunk's bytes
/// once the connection wrote them and its socket queue is low.
CAF_ADD_ATOM(weft, weft, http_chunk_atom, "httpchunk")
/// (writable_atom, background_task) from an http_stream to its writer: run
/// the task once the stream is writable again (or closed).
CAF_ADD_ATOM(weft, weft, writable_atom, "writable")

// -- actors/cluster: gateway and worker nodes over CAF's middleman (issue 7;
// docs/architecture.md, "Distribution"). Every type here crosses BASP, so
// both nodes run the same block. Reuses request_atom, drain_atom, ok_atom
// and tick_atom from above. --------------------------------------------------
/// (join_atom, cluster_announcement, actor worker_endpoint) -> ok_atom from a
/// worker's joiner to a gateway's cluster hub: serve these routes through
/// this endpoint (errors: a conflicting route definition). (join_atom,
/// actor hub) from a joiner to its node's worker endpoint: joined this hub.
CAF_ADD_ATOM(weft, weft, join_atom, "join")
/// (leave_atom, std::string node_key) from a draining worker endpoint to a
/// gateway's hub, and (leave_atom) from the hub to that node's proxy:
/// go-away, send no more requests; the ones in flight are still answered.
CAF_ADD_ATOM(weft, weft, leave_atom, "leave")
/// (node_routes_atom, std::string node_key, actor proxy,
/// cluster_announcement) -> ok_atom to the router: merge a worker node's
/// routes (errors: already_exists for a conflicting definition).
CAF_ADD_ATOM(weft, weft, node_routes_atom, "noderoutes")
/// (node_drop_atom, std::string node_key, actor proxy) to the router:
/// forget the node's routes (it left); ignored unless `proxy` is still the
/// node's (a newer join of the same node replaced it).
CAF_ADD_ATOM(weft, weft, node_drop_atom, "nodedrop")
CAF_ADD_TYPE_ID(weft, (weft::remote_route))
CAF_ADD_TYPE_ID(weft, (weft::cluster_announcement))

CAF_END_TYPE_ID_BLOCK(weft)
