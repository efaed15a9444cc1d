#include "gateways/binary/connection_actor.hpp"

#include <algorithm>
#include <chrono>
#include <optional>
#include <utility>

#include <absl/container/flat_hash_map.h>
#include <absl/strings/str_cat.h>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>
#include <caf/sec.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/event_bus.hpp"
#include "gateways/connection_events.hpp"
#include "runtime/error_bridge.hpp"
#include "runtime/node_services.hpp"
#include "runtime/protocol/flush_to_channel.hpp"
#include "runtime/protocol/header_codec.hpp"
#include "runtime/protocol/session.hpp"
#include "runtime/route_dispatcher.hpp"
#include "runtime/run_function_handler.hpp"
#include "runtime/type_ids.hpp"

namespace weft::binary {

namespace {

using protocol::session_event;

/// How long a connection with nothing in flight keeps its per-request
/// tables and buffers before trim() frees them. A busy connection empties
/// them between batches: freeing them each time made every batch regrow
/// its hash tables (about 5% of the CPU at 16 requests in flight).
constexpr absl::Duration trim_delay = absl::Milliseconds(250);

/// A request whose body a streaming route takes as it arrives
/// (route_options::stream_body), from its BEGIN until its end.
struct body_upload {
  /// The handler actor the pieces go to.
  caf::actor worker;
  /// Bytes forwarded to it and not acknowledged yet.
  std::uint64_t unacked = 0;
  /// The handler answered before the body ended: the answer waits for the
  /// end, and the rest of the body is acknowledged unread.
  std::unique_ptr<response> early;
};

/// What only some connections need: out of line, made at the first use and
/// freed when empty, so that the others do not carry it.
struct connection_extras {
  /// Answered once a drain finished; only a draining connection has one.
  std::optional<caf::typed_response_promise<ok_atom>> drain_promise;
  /// Streamed request bodies still arriving, by message id.
  absl::flat_hash_map<std::uint32_t, body_upload> uploads;

  bool empty() const noexcept {
    return !drain_promise && uploads.empty();
  }
};

/// What a connection keeps of its connection_context (the route table
/// goes to the dispatcher, which holds the newest one).
struct connection_links {
  std::shared_ptr<const binary_gateway_options> options;
  std::shared_ptr<gateway_stats> stats;
  logger log;
  caf::actor registry;
};

// The state is laid out to keep the actor (CAF adds a 64-byte control
// block) inside tcmalloc's 1,408-byte size class: fields needed only by a
// draining or busy connection live behind pointers (docs/benchmarks.md,
// "Memory").
struct connection_state {
  std::shared_ptr<io::channel> channel;
  std::unique_ptr<protocol::session> session;
  connection_links ctx;
  /// Reused by reply() for every answer (cleared each time); made at the
  /// first reply and freed when nothing is in flight, so that an idle
  /// connection does not hold its 200 bytes.
  std::unique_ptr<weft::wire::MessageHeader> reply_header;
  /// Finds routes, runs middleware and picks handler actors.
  route_dispatcher dispatcher;
  /// "c<connection id>": the client id of this connection's requests.
  std::string client_id;
  /// Requests dispatched to handlers and not answered yet, with their
  /// tickets by id: a request leaves when its handler answers or when the
  /// session gives up on it (deadline, cancel), whichever comes first.
  absl::flat_hash_map<std::uint32_t, dispatch_ticket> live;
  /// Received bytes not reported to the reactor while over the inflight cap.
  std::size_t deferred_consumed = 0;
  /// The earliest tick_atom we sent ourselves that has not arrived yet,
  /// and the one before it in time (InfiniteFuture: none). A timer due
  /// earlier sends another tick; ticks arrive in time order, so when one
  /// arrives the next pending one is known and not sent again (each costs
  /// a CAF clock entry while it waits).
  absl::Time tick_at = absl::InfiniteFuture();
  absl::Time tick_after = absl::InfiniteFuture();
  /// When something last arrived (a read or a push): trim() waits until
  /// trim_delay after it.
  absl::Time active_at;
  /// A drain's promise and streamed bodies (connection_extras).
  std::unique_ptr<connection_extras> extras;
  /// Requests for routes that accept batches, collected while one read's
  /// events are dispatched and sent as one message per handler actor
  /// afterwards. Each request is built in place at the end of the last
  /// batch (see stage_request).
  std::vector<std::pair<caf::actor, std::vector<request>>> pending;
  /// Counts and gauges as last published to the gateway's shared stats,
  /// and counts not published yet. Every connection actor updates the
  /// same atomics, whose cache lines bounce between cores: they are
  /// published once per step rather than once per request. The narrow
  /// ones are bounded by the connection's limits (open messages, requests
  /// in flight) or by one step.
  std::int64_t inbound_memory = 0;
  std::int32_t open_inbound = 0;
  std::int32_t published_inflight = 0;
  std::uint32_t unpublished_requests = 0;
  std::uint32_t unpublished_replies = 0;
  bool channel_closed = false;
  /// A flush_atom is in our mailbox: replies wait for it to be written.
  bool flush_scheduled = false;
  /// Nothing was received or pushed since the last trim().
  bool trimmed = true;
  /// The last tick found the connection quiet for trim_delay.
  bool trim_due = false;
  /// Requests dispatched since the last trim(): a connection that had
  /// one at a time is trimmed as soon as it has none (it is likely idle).
  std::uint32_t requests_since_trim = 0;

  connection_state() = default;
  connection_state(const connection_state&) = delete;
  connection_state& operator=(const connection_state&) = delete;

  /// Takes this connection's share out of the gateway's gauges, however
  /// the actor ends (closed socket, drain, or killed with its listener).
  ~connection_state() {
    abort_uploads();
    if (!ctx.stats)
      return;
    ctx.stats->active.fetch_sub(1, std::memory_order_relaxed);
    ctx.stats->inflight.fetch_sub(published_inflight,
                                  std::memory_order_relaxed);
    ctx.stats->open_inbound.fetch_sub(open_inbound, std::memory_order_relaxed);
    ctx.stats->inbound_memory.fetch_sub(inbound_memory,
                                        std::memory_order_relaxed);
  }

  /// Tells the handlers of the bodies still arriving that they will not
  /// end, however the connection ends.
  void abort_uploads() {
    if (!extras)
      return;
    for (auto& [id, up] : extras->uploads)
      caf::anon_send(up.worker, body_abort_atom_v, channel->id(), id);
    extras->uploads.clear();
    drop_extras_if_empty();
  }

  /// True when an upload still arriving goes to `worker`.
  bool uploads_to(const caf::actor& worker) const {
    if (!extras)
      return false;
    for (const auto& [id, up] : extras->uploads)
      if (up.worker == worker)
        return true;
    return false;
  }

  connection_extras& extras_made() {
    if (!extras)
      extras = std::make_unique<connection_extras>();
    return *extras;
  }

  void drop_extras_if_empty() {
    if (extras && extras->empty())
      extras.reset();
  }

  /// Answers the drain waiting for this connection, if one is.
  void finish_drain() {
    if (!extras || !extras->drain_promise)
      return;
    extras->drain_promise->deliver(ok_atom_v);
    extras->drain_promise.reset();
    drop_extras_if_empty();
  }

  static inline const char* name = "weft.binary.connection";
};

/// The session streams the bodies of requests for routes with
/// route_options::stream_body (served here by their handler actors).
class route_streams final : public protocol::body_stream_filter {
public:
  explicit route_streams(const route_dispatcher& dispatcher)
    : dispatcher_(dispatcher) {
  }

  bool streams(const weft::wire::MessageHeader& header) const override {
    const auto& table = dispatcher_.table();
    if (!table)
      return false;
    auto found = table->routes.find(header.route());
    if (found == table->routes.end())
      return false;
    const auto& binding = *found->second;
    return binding.spec->options.stream_body
           && binding.spec->form == handler_form::actor
           && !binding.workers.empty();
  }

private:
  const route_dispatcher& dispatcher_;
};

using connection_self = caf::stateful_actor<connection_state>*;

void step(connection_self self);

void reply_with_header(connection_self self, std::uint32_t id,
                       absl::StatusOr<response>&& result);

/// Queues the successful answer `rsp` to request `id`.
void reply_ok(connection_self self, std::uint32_t id, response& rsp) {
  auto& st = self->state;
  if (!st.session || st.session->closed())
    return;
  if (!rsp.metadata.empty()) {
    reply_with_header(self, id, std::move(rsp));
    return;
  }
  // The usual answer: no header to build at all. The clock only dates
  // requests we send (their deadline), never a reply: the time of the
  // last read saves a clock read per reply.
  if (st.session
        ->send_reply(id, rsp.content_type, rsp.schema, std::move(rsp.body),
                     st.active_at)
        .ok())
    ++st.unpublished_replies;
}

/// Queues the answer to request `id` and writes what can be written.
void reply(connection_self self, std::uint32_t id,
           absl::StatusOr<response>&& result) {
  if (result.ok()) {
    reply_ok(self, id, *result);
    return;
  }
  auto& st = self->state;
  if (!st.session || st.session->closed())
    return;
  reply_with_header(self, id, std::move(result));
}

/// reply() of an answer with metadata or of a failure: through a header.
void reply_with_header(connection_self self, std::uint32_t id,
                       absl::StatusOr<response>&& result) {
  auto& st = self->state;
  // One header reused for every reply: session::send copies what it needs,
  // so no protobuf message is built and destroyed per reply.
  if (!st.reply_header)
    st.reply_header = std::make_unique<weft::wire::MessageHeader>();
  auto& header = *st.reply_header;
  protocol::reset_header(header);
  header.set_kind(weft::wire::KIND_REPLY);
  header.set_reply_to(id);
  payload body;
  if (result.ok()) {
    auto& rsp = *result;
    if (!rsp.content_type.empty())
      header.set_content_type(std::move(rsp.content_type));
    if (!rsp.schema.empty())
      header.set_schema(std::move(rsp.schema));
    for (auto& [k, v] : rsp.metadata)
      (*header.mutable_metadata())[k] = std::move(v);
    body = std::move(rsp.body);
  } else {
    header.mutable_status()->set_code(
      static_cast<std::uint32_t>(code_of(result.status())));
    header.mutable_status()->set_message(
      std::string{result.status().message()});
  }
  if (st.session->send(header, std::move(body), st.active_at).ok())
    ++st.unpublished_replies;
}

/// Drops the ticket of a request that left `live` (its pool place goes
/// back); reads held back by the in-flight cap resume.
void forget(connection_self self,
            decltype(connection_state::live)::iterator found) {
  auto& st = self->state;
  st.live.erase(found);
  if (st.deferred_consumed > 0
      && st.live.size() < st.ctx.options->max_inflight_requests) {
    st.channel->consumed(st.deferred_consumed);
    st.deferred_consumed = 0;
  }
}

/// Forgets request `id`, which the session gave up on (deadline, cancel),
/// unless it was answered already.
void forget(connection_self self, std::uint32_t id) {
  auto& st = self->state;
  if (auto found = st.live.find(id); found != st.live.end())
    forget(self, found);
}

/// The handler answered request `id` (or failed): middleware after-hooks
/// and error handlers run, then the answer is queued.
void complete(connection_self self, std::uint32_t id,
              absl::StatusOr<response> result) {
  auto& st = self->state;
  auto found = st.live.find(id);
  if (found == st.live.end())
    return; // the session answered already (deadline, cancel)
  // The ticket is finished where it lies: moving it out costs more.
  st.dispatcher.finish(found->second, result);
  forget(self, found);
  reply(self, id, std::move(result));
}

/// complete() of a successful answer, which skips wrapping it in a StatusOr
/// when the route has nothing to run on it (the usual case).
void complete(connection_self self, std::uint32_t id, response& rsp) {
  auto& st = self->state;
  auto found = st.live.find(id);
  if (found == st.live.end())
    return; // the session answered already (deadline, cancel)
  if (!found->second.plain_success()) {
    complete(self, id, absl::StatusOr<response>{std::move(rsp)});
    return;
  }
  forget(self, found); // the ticket's end gives the pool place back
  reply_ok(self, id, rsp);
}

/// Writes replies once every message already in the mailbox (often more
/// replies) is handled: one hand-off to the reactor for a whole batch.
void schedule_flush(connection_self self) {
  auto& st = self->state;
  if (st.flush_scheduled)
    return;
  // Nothing else waiting (the usual case with one request in flight):
  // write now instead of paying for a message to ourselves.
  if (self->mailbox().empty()) {
    step(self);
    return;
  }
  st.flush_scheduled = true;
  self->send(self, flush_atom_v);
}

void send_one(connection_self self, const caf::actor& worker, request req,
              bool urgent);

/// Where the request of the event being dispatched is built: at the end of
/// the last batch collected this step, where it most likely goes (one
/// handler actor per step is the usual case), so that it is not moved
/// there after; a batch whose handler is not known yet has an empty actor.
request& stage_request(connection_state& st) {
  if (st.pending.empty()) {
    st.pending.emplace_back();
    st.pending.back().second.reserve(16);
  }
  return st.pending.back().second.emplace_back();
}

/// Takes back the request stage_request() gave (sent alone, or failed).
void unstage_request(connection_state& st) {
  auto& items = st.pending.back().second;
  items.pop_back();
  if (items.empty() && !st.pending.back().first)
    st.pending.pop_back();
}

/// Leaves the staged request in the batch of `worker`: where it was built
/// if that batch is for `worker` (or for nobody yet), else moved to the
/// batch of `worker`.
void batch_staged_request(connection_state& st, const caf::actor& worker) {
  auto& last = st.pending.back();
  if (!last.first) {
    last.first = worker;
    return;
  }
  if (last.first == worker)
    return;
  auto req = std::move(last.second.back());
  last.second.pop_back();
  auto group = std::find_if(st.pending.begin(), st.pending.end(),
                            [&](const auto& g) { return g.first == worker; });
  if (group == st.pending.end()) {
    st.pending.emplace_back(worker, std::vector<request>{});
    group = std::prev(st.pending.end());
    group->second.reserve(16);
  }
  group->second.push_back(std::move(req));
}

/// Builds request `req` from the header and body of event `ev`.
void fill_request(connection_state& st, session_event& ev, request& req) {
  // The strings are copied, not moved: the event's header keeps them, and
  // decode_header leaves a string that the next message repeats (its
  // route, usually) as it is instead of assigning it again.
  auto& header = ev.header;
  if (!header.route().empty())
    req.route = header.route();
  req.body = std::move(ev.body);
  if (!header.content_type().empty())
    req.content_type = header.content_type();
  if (!header.schema().empty())
    req.schema = header.schema();
  if (!header.metadata().empty())
    for (auto& [k, v] : *header.mutable_metadata())
      req.metadata.emplace(k, std::move(v));
  req.peer = st.channel->remote_address();
  req.client_id = st.client_id;
  req.connection_id = st.channel->id();
  req.message_id = ev.id;
  if (header.deadline_ms() > 0)
    req.deadline_ns = absl::ToUnixNanos(
      absl::Now() + absl::Milliseconds(header.deadline_ms()));
  ++st.unpublished_requests;
  ++st.requests_since_trim;
}

void dispatch(connection_self self, session_event& ev) {
  auto& st = self->state;
  auto kind = ev.header.kind();
  if (kind != weft::wire::KIND_REQUEST && kind != weft::wire::KIND_ONE_WAY)
    return; // a client sends no replies or pushes; nothing awaits them
  auto& req = stage_request(st);
  fill_request(st, ev, req);
  // The ticket too is made where it stays while the request is in flight.
  // Ids are unique within a session: the slot is a fresh one.
  auto [slot, fresh] = st.live.try_emplace(ev.id);
  if (!fresh) {
    unstage_request(st);
    if (kind == weft::wire::KIND_REQUEST)
      reply(self, ev.id,
            make_status(errc::internal, "message id already in flight"));
    return;
  }
  auto& ticket = slot->second;
  if (auto ready = st.dispatcher.prepare(req, ticket); !ready.ok()) {
    if (kind == weft::wire::KIND_REQUEST) {
      absl::StatusOr<response> result = std::move(ready);
      st.dispatcher.finish(ticket, result);
      reply(self, ev.id, std::move(result));
    }
    st.live.erase(slot);
    unstage_request(st);
    return;
  }
  if (ticket.runs_on_edge()) {
    // route_options::run_on_edge: answered here, without a hand-off.
    auto local = std::move(ticket);
    st.live.erase(slot);
    auto edge_req = std::move(req);
    unstage_request(st);
    background_tasks later;
    auto result
      = run_function_handler(self, *local.binding()->spec, edge_req, later);
    st.dispatcher.finish(local, result);
    if (kind == weft::wire::KIND_REQUEST)
      reply(self, ev.id, std::move(result));
    // After the reply is queued; it is written at the end of this step.
    if (!later.empty())
      submit_background(self->system(), later);
    return;
  }
  if (kind == weft::wire::KIND_ONE_WAY) {
    caf::anon_send(ticket.worker(), request_atom_v, std::move(req));
    unstage_request(st);
    st.live.erase(slot); // the ticket gives the pool place back now
    return;
  }
  // Keyed routes keep their order: no request of theirs overtakes another.
  auto urgent
    = ev.header.priority() <= weft::wire::PRIORITY_HIGH && !ticket.keyed();
  // A reference into the route's binding, which the ticket keeps alive:
  // a copy would bump the handler actor's reference count, a cache line
  // every connection on every core writes.
  const auto& worker = ticket.worker();
  if (ticket.batches() && !urgent) {
    batch_staged_request(st, worker);
    return;
  }
  // send_one's parameter takes the request over before the call; the
  // moved-from one leaves the batch after.
  send_one(self, worker, std::move(req), urgent);
  unstage_request(st);
}

/// Sends one request to its handler; the reply (or error) comes back to us.
void send_one(connection_self self, const caf::actor& worker, request req,
              bool urgent) {
  auto id = req.message_id;
  // No CAF timeout: CAF 0.17 keeps every request timeout in its clock
  // until it expires (docs/benchmarks.md). The session enforces the
  // request's deadline, or --handler-timeout, and answers for us.
  // URGENT and HIGH requests travel, and are answered, as high-priority
  // CAF messages: their replies overtake queued read batches of bulk data
  // in this actor's mailbox.
  // Urgent replies are written at once; others wait for the batch flush.
  auto on_reply = [self, id, urgent](response& rsp) {
    complete(self, id, rsp);
    if (urgent)
      step(self);
    else
      schedule_flush(self);
  };
  auto on_error = [self, id, urgent](caf::error& err) {
    complete(self, id, to_status(err));
    if (urgent)
      step(self);
    else
      schedule_flush(self);
  };
  if (urgent)
    self
      ->request<caf::message_priority::high>(worker,
                                             caf::duration{caf::infinite},
                                             request_atom_v, std::move(req))
      .then(std::move(on_reply), std::move(on_error));
  else
    self
      ->request(worker, caf::duration{caf::infinite}, request_atom_v,
                std::move(req))
      .then(std::move(on_reply), std::move(on_error));
}

/// Sends the requests collected in `pending`: one message per handler
/// actor (a batch when there are several), answered by one message.
void send_pending(connection_self self) {
  auto& st = self->state;
  auto groups = std::move(st.pending);
  st.pending.clear();
  for (auto& [worker, items] : groups) {
    if (items.empty())
      continue;
    if (items.size() == 1) {
      send_one(self, worker, std::move(items.front()), false);
      continue;
    }
    std::vector<std::uint32_t> ids;
    ids.reserve(items.size());
    for (const auto& req : items)
      ids.push_back(req.message_id);
    request_batch batch;
    batch.items = std::move(items);
    self
      ->request(worker, caf::duration{caf::infinite}, request_atom_v,
                std::move(batch))
      .then(
        [self, ids](reply_batch& replies) {
          // Answers in the order asked (answer_batch's) cover every
          // request; any other answer is checked for requests left out.
          bool in_order = replies.items.size() == ids.size();
          for (std::size_t i = 0; i < replies.items.size(); ++i) {
            auto& r = replies.items[i];
            in_order = in_order && r.message_id == ids[i];
            if (r.code == 0)
              complete(self, r.message_id, r.rsp);
            else
              complete(self, r.message_id,
                       make_status(errc_from_code(r.code), r.message));
          }
          // A request the handler left out of its answer still gets one
          // (the status is built only then: it allocates).
          if (!in_order)
            for (auto id : ids)
              if (self->state.live.contains(id))
                complete(self, id,
                         make_status(errc::internal,
                                     "the handler's batch answer left this "
                                     "request out"));
          schedule_flush(self);
        },
        [self, ids](caf::error& err) {
          auto failure = to_status(err);
          for (auto id : ids)
            complete(self, id, failure);
          schedule_flush(self);
        });
  }
}

// -- streamed bodies (route_options::stream_body) ---------------------------

/// The upload of request `id`, or null if its body is not arriving.
body_upload* find_upload(connection_state& st, std::uint32_t id) {
  if (!st.extras)
    return nullptr;
  auto found = st.extras->uploads.find(id);
  return found == st.extras->uploads.end() ? nullptr : &found->second;
}

/// Forgets the upload of request `id` (its end, or its failure), and stops
/// watching its handler when no other upload goes to it.
void drop_upload(connection_self self, std::uint32_t id) {
  auto& st = self->state;
  auto found = st.extras->uploads.find(id);
  auto worker = std::move(found->second.worker);
  st.extras->uploads.erase(found);
  st.drop_extras_if_empty();
  if (!st.uploads_to(worker))
    self->demonitor(worker);
}

/// Ends every upload of this connection, as the connection ends.
void abort_uploads(connection_self self) {
  auto& st = self->state;
  if (!st.extras)
    return;
  std::vector<caf::actor> workers;
  for (const auto& [id, up] : st.extras->uploads)
    workers.push_back(up.worker);
  st.abort_uploads();
  for (const auto& worker : workers)
    self->demonitor(worker);
}

/// Ends streamed request `id` with `failure` before its body's end: error
/// handlers run on it as for any request, and the message is cancelled
/// with what they make of it, or with `failure` if they make a success of
/// it (no answer may go before the body's end).
void cancel_upload(connection_self self, std::uint32_t id,
                   dispatch_ticket& ticket, const absl::Status& failure) {
  absl::StatusOr<response> result = failure;
  self->state.dispatcher.finish(ticket, result);
  const auto& why = result.ok() ? failure : result.status();
  self->state.session->cancel(id, code_of(why), why.message());
}

/// The upload of request `id` fails before its end (see cancel_upload).
void fail_upload(connection_self self, std::uint32_t id,
                 const absl::Status& failure) {
  auto& st = self->state;
  drop_upload(self, id);
  auto found = st.live.find(id);
  if (found == st.live.end()) {
    st.session->cancel(id, code_of(failure), failure.message());
    return;
  }
  cancel_upload(self, id, found->second, failure);
  forget(self, found);
}

/// The handler of uploads still arriving stopped: they fail at once
/// (`unavailable`) rather than wait for credit that never comes.
void handler_down(connection_self self, const caf::down_msg& down) {
  auto& st = self->state;
  if (!st.extras)
    return;
  std::vector<std::uint32_t> lost;
  for (const auto& [id, up] : st.extras->uploads)
    if (up.worker.address() == down.source)
      lost.push_back(id);
  for (auto id : lost)
    fail_upload(self, id,
                make_status(errc::unavailable, "the route's handler stopped"));
  if (!lost.empty())
    step(self);
}

/// The handler of a streamed request answered: at once if its body ended,
/// else a failure cancels the upload (the client gets the error) and a
/// success waits for the end.
void answer_upload(connection_self self, std::uint32_t id,
                   absl::StatusOr<response> result) {
  auto& st = self->state;
  auto* up = find_upload(st, id);
  if (up == nullptr) {
    complete(self, id, std::move(result));
    schedule_flush(self);
    return;
  }
  if (result.ok()) {
    up->early = std::make_unique<response>(std::move(*result));
    // What the handler will not acknowledge now is the sender's again.
    st.session->piece_consumed(id, std::exchange(up->unacked, 0),
                               absl::Now());
    schedule_flush(self);
    return;
  }
  fail_upload(self, id, result.status());
  schedule_flush(self);
}

/// A request for a streaming route begun: its handler gets the request
/// without a body now and the body piece by piece.
void begin_upload(connection_self self, session_event& ev) {
  auto& st = self->state;
  auto id = ev.id;
  auto total = ev.total;
  request req;
  fill_request(st, ev, req);
  auto [slot, fresh] = st.live.try_emplace(id);
  if (!fresh) {
    st.session->cancel(id, errc::internal, "message id already in flight");
    return;
  }
  auto& ticket = slot->second;
  if (auto ready = st.dispatcher.prepare(req, ticket); !ready.ok()) {
    cancel_upload(self, id, ticket, ready);
    st.live.erase(slot);
    return;
  }
  // Watched while its uploads arrive: a handler that dies would otherwise
  // leave them waiting for credit.
  if (!st.uploads_to(ticket.worker()))
    self->monitor(ticket.worker());
  st.extras_made().uploads.insert_or_assign(
    id, body_upload{ticket.worker(), 0, nullptr});
  self
    ->request(ticket.worker(), caf::duration{caf::infinite}, body_begin_atom_v,
              std::move(req), total)
    .then(
      [self, id](response& rsp) {
        answer_upload(self, id, std::move(rsp));
      },
      [self, id](caf::error& err) { answer_upload(self, id, to_status(err)); });
}

/// The next piece of a streamed body goes to its handler, which
/// acknowledges it (body_ack_atom) once used.
void forward_piece(connection_self self, session_event& ev) {
  auto& st = self->state;
  auto body = std::move(ev.body);
  auto* up = find_upload(st, ev.id);
  if (up == nullptr)
    return; // failed before: the session no longer takes its bytes
  if (up->early) {
    st.session->piece_consumed(ev.id, body.size(), st.active_at);
    return;
  }
  up->unacked += body.size();
  self->send(up->worker, body_piece_atom_v, st.channel->id(), ev.id,
             body.bytes());
}

/// A streamed body arrived whole and checked: its handler answers now, or
/// its early answer goes out.
void end_upload(connection_self self, const session_event& ev) {
  auto& st = self->state;
  auto* up = find_upload(st, ev.id);
  if (up == nullptr)
    return;
  auto early = std::move(up->early);
  auto worker = up->worker;
  drop_upload(self, ev.id);
  if (early)
    complete(self, ev.id, *early);
  else
    self->send(worker, body_end_atom_v, st.channel->id(), ev.id);
}

/// A streamed body will not end (cancelled, deadline, checksum): its
/// handler drops what it has.
void abort_upload(connection_self self, std::uint32_t id) {
  auto& st = self->state;
  auto* up = find_upload(st, id);
  if (up == nullptr)
    return;
  if (!up->early)
    self->send(up->worker, body_abort_atom_v, st.channel->id(), id);
  drop_upload(self, id);
}

/// Sends a push to our client, unless it already has too much unsent: then
/// it is a slow consumer and the connection ends, so that it holds neither
/// memory nor anyone else up.
void push(connection_self self, push_message& msg) {
  auto& st = self->state;
  // Before the client's SETTINGS arrived the session queues the push and
  // sends it once they do; only a closed session drops it (the client is
  // gone).
  if (!st.session || st.session->closed())
    return;
  auto backlog = st.session->stats().queued_outbound;
  if (backlog >= st.ctx.options->max_push_backlog) {
    st.ctx.stats->slow_consumers.fetch_add(1, std::memory_order_relaxed);
    st.session->fail(errc::overloaded,
                     absl::StrCat("slow consumer: ", backlog,
                                  " messages queued unread"));
    step(self);
    return;
  }
  weft::wire::MessageHeader header;
  header.set_kind(weft::wire::KIND_PUSH);
  header.set_route(std::move(msg.route));
  header.set_content_type(std::move(msg.content_type));
  header.set_schema(std::move(msg.schema));
  header.set_priority(static_cast<weft::wire::Priority>(
    std::clamp<std::int32_t>(msg.priority, 0, 3)));
  for (auto& [k, v] : msg.metadata)
    (*header.mutable_metadata())[k] = std::move(v);
  if (st.session->send(std::move(header), std::move(msg.body), absl::Now())
        .ok())
    st.ctx.stats->pushes.fetch_add(1, std::memory_order_relaxed);
  schedule_flush(self);
}

/// Tells the node's event bus that this connection opened or closed.
void emit_lifecycle(connection_self self, absl::string_view what,
                    absl::string_view reason) {
  auto& st = self->state;
  emit_connection_event(self->system(), what, *st.channel, "binary",
                        st.client_id, reason);
}

void on_closed_session(connection_self self, const session_event& ev) {
  auto& st = self->state;
  if (ev.code != errc::ok) {
    st.ctx.stats->connection_errors[static_cast<std::size_t>(ev.code) % 64]
      .fetch_add(1, std::memory_order_relaxed);
    st.ctx.log.warn("binary.connection_error",
                    {{"peer", st.channel->remote_address()},
                     {"code", to_string(ev.code)},
                     {"reason", ev.text}});
  }
}

void publish_gauges(connection_self self) {
  auto& st = self->state;
  auto stats = st.session->stats();
  auto& shared = *st.ctx.stats;
  auto publish = [](auto& counter, auto& published, auto now) {
    if (now != published)
      counter.fetch_add(static_cast<std::int64_t>(now)
                          - static_cast<std::int64_t>(published),
                        std::memory_order_relaxed);
    published = now;
  };
  publish(shared.open_inbound, st.open_inbound,
          static_cast<std::int32_t>(stats.open_inbound));
  publish(shared.inbound_memory, st.inbound_memory,
          static_cast<std::int64_t>(stats.inbound_memory));
  publish(shared.inflight, st.published_inflight,
          static_cast<std::int32_t>(st.live.size()));
  if (st.unpublished_requests > 0)
    shared.requests.fetch_add(std::exchange(st.unpublished_requests, 0),
                              std::memory_order_relaxed);
  if (st.unpublished_replies > 0)
    shared.replies.fetch_add(std::exchange(st.unpublished_replies, 0),
                             std::memory_order_relaxed);
}

/// Publishes the counters (before the bytes go out, so that a client that
/// got its reply finds it counted), then hands the session's frames to the
/// reactor.
void flush(connection_self self) {
  publish_gauges(self);
  auto& st = self->state;
  protocol::flush_to_channel(*st.session, *st.channel,
                             st.ctx.options->write_ahead);
}


/// Frees the per-request tables and buffers of a connection with nothing
/// in flight.
void trim(connection_self self) {
  auto& st = self->state;
  st.trimmed = true;
  st.requests_since_trim = 0;
  if (st.live.capacity() > 0)
    decltype(st.live){}.swap(st.live);
  st.reply_header.reset();
  st.session->trim();
}

/// Processes session events, writes, and re-arms the timer, until quiet.
void step(connection_self self) {
  auto& st = self->state;
  if (!st.session)
    return;
  for (int round = 0; round < 64; ++round) {
    auto events = st.session->take_events();
    for (auto& ev : events) {
      switch (ev.what) {
        case session_event::kind::message:
          dispatch(self, ev);
          break;
        case session_event::kind::begun:
          begin_upload(self, ev);
          break;
        case session_event::kind::piece:
          forward_piece(self, ev);
          break;
        case session_event::kind::ended:
          end_upload(self, ev);
          break;
        case session_event::kind::cancelled:
          if (!ev.ours) {
            abort_upload(self, ev.id);
            forget(self, ev.id);
          }
          if (!ev.ours && ev.code != errc::deadline_exceeded)
            st.ctx.log.debug("binary.request_cancelled",
                             {{"peer", st.channel->remote_address()},
                              {"id", ev.id},
                              {"code", to_string(ev.code)}});
          break;
        case session_event::kind::closed:
          abort_uploads(self);
          on_closed_session(self, ev);
          break;
        case session_event::kind::progress:
          // Once per MiB of a large message: cheap, and useful to watch.
          if (st.ctx.log.enabled(log_level::debug))
            st.ctx.log.debug("binary.receiving",
                             {{"peer", st.channel->remote_address()},
                              {"id", ev.id},
                              {"done", ev.done},
                              {"total", ev.total}});
          break;
        default:
          break;
      }
    }
    if (!st.pending.empty())
      send_pending(self);
    flush(self);
    // Writing can produce events too (a drain that just finished): go
    // round again rather than drop them.
    if (events.empty() && !st.session->has_events())
      break;
  }
  // The pool places this step took and gave back, in one update per pool.
  st.dispatcher.settle();
  if (st.session->closed()) {
    if (!st.channel_closed) {
      st.channel_closed = true;
      st.channel->close(); // writes the GOAWAY still queued, then closes
    }
    st.finish_drain();
    return;
  }
  // Nothing in flight: give back what only requests use, as nginx frees a
  // keep-alive connection's request memory once it is idle, so that an
  // idle connection holds its fixed state alone. The next request pays a
  // few small allocations (docs/benchmarks.md, "Memory"). A busy
  // connection (several requests at once) waits for trim_delay of quiet.
  auto next = st.session->next_timeout();
  auto trim_due = std::exchange(st.trim_due, false);
  if (st.live.empty() && !st.trimmed) {
    if (trim_due || st.requests_since_trim <= 1)
      trim(self);
    else
      next = std::min(next, st.active_at + trim_delay);
  }
  if (next < st.tick_at) {
    st.tick_after = st.tick_at;
    st.tick_at = next;
    auto delay = std::max(absl::ZeroDuration(), next - absl::Now());
    self->delayed_send(self, absl::ToChronoNanoseconds(delay), tick_atom_v);
  }
}

caf::behavior connection(connection_self self,
                         std::shared_ptr<io::channel> channel,
                         connection_context ctx) {
  auto& st = self->state;
  st.channel = std::move(channel);
  st.ctx = {std::move(ctx.options), std::move(ctx.stats), ctx.log,
            std::move(ctx.registry)};
  st.dispatcher.update(std::move(ctx.routes));
  st.dispatcher.count_in_batches(true); // settled at the end of each step
  st.dispatcher.set_home(st.channel->home_index());
  self->set_down_handler(
    [self](caf::down_msg& down) { handler_down(self, down); });
  st.client_id = absl::StrCat("c", st.channel->id());
  if (st.ctx.registry)
    self->send(st.ctx.registry, client_atom_v, st.client_id,
               caf::actor_cast<caf::actor>(self));
  emit_lifecycle(self, lifecycle::connection_opened, "");
  // The session shares the gateway's options (an aliasing pointer into
  // them) rather than copying them per connection.
  st.session = std::make_unique<protocol::session>(
    protocol::role::server,
    std::shared_ptr<const protocol::session_options>(st.ctx.options,
                                                     &st.ctx.options->session),
    absl::Now());
  st.ctx.stats->active.fetch_add(1, std::memory_order_relaxed);
  // The server's preface and SETTINGS go out at once (docs/protocol.md §2).
  flush(self);
  step(self);
  return {
    [self](io_read_atom, const shared_bytes& batch) {
      auto& s = self->state;
      s.trimmed = false;
      s.active_at = absl::Now();
      route_streams streams{s.dispatcher};
      s.session->on_bytes(batch, s.active_at, &streams);
      step(self);
      if (s.live.size() < s.ctx.options->max_inflight_requests)
        s.channel->consumed(batch.size());
      else
        s.deferred_consumed += batch.size();
    },
    [self](io_sent_atom, std::uint64_t) { step(self); },
    [self](body_ack_atom, std::uint32_t id, std::uint64_t n) {
      auto& s = self->state;
      auto* up = find_upload(s, id);
      // Pieces of an upload answered early were given back already.
      if (up == nullptr || up->early)
        return;
      n = std::min(n, up->unacked);
      up->unacked -= n;
      s.session->piece_consumed(id, n, absl::Now());
      if (s.session->wants_write())
        schedule_flush(self);
    },
    [self](routes_atom, const route_table_ref& ref) {
      self->state.dispatcher.update(ref.ptr);
    },
    [self](client_atom, std::string& id) {
      self->state.client_id = std::move(id);
    },
    [self](push_atom, push_message& msg) {
      self->state.trimmed = false;
      self->state.active_at = absl::Now();
      push(self, msg);
    },
    [self](io_closed_atom, const caf::error& reason) {
      auto& s = self->state;
      if (reason && reason != caf::sec::none)
        s.ctx.log.debug("binary.connection_closed",
                        {{"peer", s.channel->remote_address()},
                         {"reason", caf::to_string(reason)}});
      emit_lifecycle(self, lifecycle::connection_closed, close_reason(reason));
      // Fail what is left: nothing more can be written or read.
      abort_uploads(self);
      s.session->fail(errc::io_error, "the connection closed");
      s.session->take_events();
      publish_gauges(self);
      s.finish_drain();
      self->quit();
    },
    [self](flush_atom) {
      self->state.flush_scheduled = false;
      step(self);
    },
    [self](tick_atom) {
      auto& s = self->state;
      s.tick_at = std::exchange(s.tick_after, absl::InfiniteFuture());
      auto now = absl::Now();
      s.trim_due = now >= s.active_at + trim_delay;
      s.session->on_tick(now);
      step(self);
    },
    [self](drain_atom, caf::timespan) -> caf::result<ok_atom> {
      auto& s = self->state;
      s.session->go_away("server draining");
      step(self);
      if (s.session->closed())
        return ok_atom_v;
      auto& extras = s.extras_made();
      extras.drain_promise = self->make_response_promise<ok_atom>();
      return *extras.drain_promise;
    },
  };
}

} // namespace

caf::actor spawn_connection_actor(caf::actor_system& sys,
                                  std::shared_ptr<io::channel> channel,
                                  connection_context ctx) {
  return sys.spawn(connection, std::move(channel), std::move(ctx));
}

} // namespace weft::binary
