#include "gateways/binary/connection_actor.hpp"

#include <algorithm>
#include <chrono>
#include <optional>

#include <absl/container/flat_hash_set.h>
#include <absl/strings/str_cat.h>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>
#include <caf/sec.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include "runtime/error_bridge.hpp"
#include "runtime/protocol/flush_to_channel.hpp"
#include "runtime/protocol/session.hpp"
#include "runtime/type_ids.hpp"

namespace weft::binary {

namespace {

using protocol::session_event;

struct connection_state {
  std::shared_ptr<io::channel> channel;
  std::unique_ptr<protocol::session> session;
  connection_context ctx;
  /// Requests dispatched to handlers and not answered yet.
  std::size_t inflight = 0;
  /// Their ids: a request leaves when its handler answers or when the
  /// session gives up on it (deadline, cancel), whichever comes first.
  absl::flat_hash_set<std::uint32_t> live;
  /// Received bytes not reported to the reactor while over the inflight cap.
  std::size_t deferred_consumed = 0;
  absl::Time tick_at = absl::InfiniteFuture();
  std::optional<caf::typed_response_promise<ok_atom>> drain_promise;
  bool channel_closed = false;
  /// A flush_atom is in our mailbox: replies wait for it to be written.
  bool flush_scheduled = false;
  /// Requests for routes that accept batches, collected while one read's
  /// events are dispatched and sent as one message per route afterwards.
  /// The pointers are into the gateway's immutable route table.
  std::vector<std::pair<const route_entry*, std::vector<request>>> pending;
  /// Last published session gauges, to update the shared stats by delta.
  std::int64_t open_inbound = 0;
  std::int64_t inbound_memory = 0;

  connection_state() = default;
  connection_state(const connection_state&) = delete;
  connection_state& operator=(const connection_state&) = delete;

  /// Takes this connection's share out of the gateway's gauges, however
  /// the actor ends (closed socket, drain, or killed with its listener).
  ~connection_state() {
    if (!ctx.stats)
      return;
    ctx.stats->active.fetch_sub(1, std::memory_order_relaxed);
    ctx.stats->inflight.fetch_sub(static_cast<std::int64_t>(inflight),
                                  std::memory_order_relaxed);
    ctx.stats->open_inbound.fetch_sub(open_inbound, std::memory_order_relaxed);
    ctx.stats->inbound_memory.fetch_sub(inbound_memory,
                                        std::memory_order_relaxed);
  }

  static inline const char* name = "weft.binary.connection";
};

using connection_self = caf::stateful_actor<connection_state>*;

void step(connection_self self);

/// Queues a reply to request `id` and writes what can be written.
void reply(connection_self self, std::uint32_t id, errc code,
           absl::string_view message, response rsp) {
  auto& st = self->state;
  if (!st.session || st.session->closed())
    return;
  weft::wire::MessageHeader header;
  header.set_kind(weft::wire::KIND_REPLY);
  header.set_reply_to(id);
  header.set_content_type(rsp.content_type);
  header.set_schema(rsp.schema);
  for (auto& [k, v] : rsp.metadata)
    (*header.mutable_metadata())[k] = v;
  if (code != errc::ok) {
    header.mutable_status()->set_code(static_cast<std::uint32_t>(code));
    header.mutable_status()->set_message(std::string{message});
  }
  if (st.session->send(std::move(header), std::move(rsp.body), absl::Now())
        .ok())
    st.ctx.stats->replies.fetch_add(1, std::memory_order_relaxed);
}

/// Forgets request `id`; false if it was forgotten already.
bool finished_request(connection_self self, std::uint32_t id) {
  auto& st = self->state;
  if (st.live.erase(id) == 0)
    return false;
  --st.inflight;
  st.ctx.stats->inflight.fetch_sub(1, std::memory_order_relaxed);
  if (st.deferred_consumed > 0
      && st.inflight < st.ctx.options->max_inflight_requests) {
    st.channel->consumed(st.deferred_consumed);
    st.deferred_consumed = 0;
  }
  return true;
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

void send_one(connection_self self, const route_entry& route, request req,
              bool urgent);

void dispatch(connection_self self, session_event& ev) {
  auto& st = self->state;
  auto kind = ev.header.kind();
  if (kind != weft::wire::KIND_REQUEST && kind != weft::wire::KIND_ONE_WAY)
    return; // a client sends no replies or pushes; nothing awaits them
  const auto& routes = *st.ctx.routes;
  auto handler = routes.find(ev.header.route());
  if (handler == routes.end()) {
    if (kind == weft::wire::KIND_REQUEST)
      reply(self, ev.id, errc::not_found,
            absl::StrCat("no route '", ev.header.route(), "'"), response{});
    return;
  }
  auto now = absl::Now();
  request req;
  req.route = ev.header.route();
  req.body = std::move(ev.body);
  req.content_type = ev.header.content_type();
  req.schema = ev.header.schema();
  for (const auto& [k, v] : ev.header.metadata())
    req.metadata.emplace(k, v);
  req.peer = st.channel->remote_address();
  req.connection_id = st.channel->id();
  req.message_id = ev.id;
  if (ev.header.deadline_ms() > 0)
    req.deadline_ns = absl::ToUnixNanos(
      now + absl::Milliseconds(ev.header.deadline_ms()));
  st.ctx.stats->requests.fetch_add(1, std::memory_order_relaxed);
  const auto& route = handler->second;
  if (kind == weft::wire::KIND_ONE_WAY) {
    caf::anon_send(route.handler, request_atom_v, std::move(req));
    return;
  }
  ++st.inflight;
  st.live.insert(ev.id);
  st.ctx.stats->inflight.fetch_add(1, std::memory_order_relaxed);
  auto urgent = ev.header.priority() <= weft::wire::PRIORITY_HIGH;
  if (route.batches && !urgent) {
    auto group = std::find_if(st.pending.begin(), st.pending.end(),
                              [&](const auto& g) { return g.first == &route; });
    if (group == st.pending.end()) {
      st.pending.emplace_back(&route, std::vector<request>{});
      group = std::prev(st.pending.end());
      group->second.reserve(16);
    }
    group->second.push_back(std::move(req));
    return;
  }
  send_one(self, route, std::move(req), urgent);
}

/// Sends one request to its route; the reply (or error) comes back to us.
void send_one(connection_self self, const route_entry& route, request req,
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
    if (!finished_request(self, id))
      return; // the session answered already (deadline, cancel)
    reply(self, id, errc::ok, "", std::move(rsp));
    if (urgent)
      step(self);
    else
      schedule_flush(self);
  };
  auto on_error = [self, id, urgent](caf::error& err) {
    if (!finished_request(self, id))
      return;
    reply(self, id, code_of(err), to_status(err).message(), response{});
    if (urgent)
      step(self);
    else
      schedule_flush(self);
  };
  if (urgent)
    self
      ->request<caf::message_priority::high>(route.handler,
                                             caf::duration{caf::infinite},
                                             request_atom_v, std::move(req))
      .then(std::move(on_reply), std::move(on_error));
  else
    self
      ->request(route.handler, caf::duration{caf::infinite},
                request_atom_v, std::move(req))
      .then(std::move(on_reply), std::move(on_error));
}

/// Sends the requests collected in `pending`: one message per route (a
/// batch when there are several), answered by one message.
void send_pending(connection_self self) {
  auto& st = self->state;
  auto groups = std::move(st.pending);
  st.pending.clear();
  for (auto& [route, items] : groups) {
    if (items.size() == 1) {
      send_one(self, *route, std::move(items.front()), false);
      continue;
    }
    std::vector<std::uint32_t> ids;
    ids.reserve(items.size());
    for (const auto& req : items)
      ids.push_back(req.message_id);
    request_batch batch;
    batch.items = std::move(items);
    self
      ->request(route->handler, caf::duration{caf::infinite}, request_atom_v,
                std::move(batch))
      .then(
        [self, ids](reply_batch& replies) {
          for (auto& r : replies.items) {
            if (!finished_request(self, r.message_id))
              continue;
            reply(self, r.message_id, errc_from_code(r.code), r.message,
                  std::move(r.rsp));
          }
          // A request the handler left out of its answer still gets one.
          for (auto id : ids)
            if (finished_request(self, id))
              reply(self, id, errc::internal,
                    "the handler's batch answer left this request out",
                    response{});
          schedule_flush(self);
        },
        [self, ids](caf::error& err) {
          for (auto id : ids)
            if (finished_request(self, id))
              reply(self, id, code_of(err), to_status(err).message(),
                    response{});
          schedule_flush(self);
        });
  }
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

void flush(connection_self self) {
  auto& st = self->state;
  protocol::flush_to_channel(*st.session, *st.channel,
                             st.ctx.options->write_ahead);
}

void publish_gauges(connection_self self) {
  auto& st = self->state;
  auto stats = st.session->stats();
  auto open = static_cast<std::int64_t>(stats.open_inbound);
  auto memory = static_cast<std::int64_t>(stats.inbound_memory);
  st.ctx.stats->open_inbound.fetch_add(open - st.open_inbound,
                                       std::memory_order_relaxed);
  st.ctx.stats->inbound_memory.fetch_add(memory - st.inbound_memory,
                                         std::memory_order_relaxed);
  st.open_inbound = open;
  st.inbound_memory = memory;
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
        case session_event::kind::cancelled:
          if (!ev.ours)
            finished_request(self, ev.id);
          if (!ev.ours && ev.code != errc::deadline_exceeded)
            st.ctx.log.debug("binary.request_cancelled",
                             {{"peer", st.channel->remote_address()},
                              {"id", ev.id},
                              {"code", to_string(ev.code)}});
          break;
        case session_event::kind::closed:
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
  publish_gauges(self);
  if (st.session->closed()) {
    if (!st.channel_closed) {
      st.channel_closed = true;
      st.channel->close(); // writes the GOAWAY still queued, then closes
    }
    if (st.drain_promise) {
      st.drain_promise->deliver(ok_atom_v);
      st.drain_promise.reset();
    }
    return;
  }
  auto next = st.session->next_timeout();
  if (next < st.tick_at) {
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
  st.ctx = std::move(ctx);
  st.session = std::make_unique<protocol::session>(
    protocol::role::server, st.ctx.options->session, absl::Now());
  st.ctx.stats->active.fetch_add(1, std::memory_order_relaxed);
  // The server's preface and SETTINGS go out at once (docs/protocol.md §2).
  flush(self);
  step(self);
  return {
    [self](io_read_atom, const shared_bytes& batch) {
      auto& s = self->state;
      s.session->on_bytes(batch, absl::Now());
      step(self);
      if (s.inflight < s.ctx.options->max_inflight_requests)
        s.channel->consumed(batch.size());
      else
        s.deferred_consumed += batch.size();
    },
    [self](io_sent_atom, std::uint64_t) { step(self); },
    [self](io_closed_atom, const caf::error& reason) {
      auto& s = self->state;
      if (reason && reason != caf::sec::none)
        s.ctx.log.debug("binary.connection_closed",
                        {{"peer", s.channel->remote_address()},
                         {"reason", caf::to_string(reason)}});
      // Fail what is left: nothing more can be written or read.
      s.session->fail(errc::io_error, "the connection closed");
      s.session->take_events();
      publish_gauges(self);
      if (s.drain_promise) {
        s.drain_promise->deliver(ok_atom_v);
        s.drain_promise.reset();
      }
      self->quit();
    },
    [self](flush_atom) {
      self->state.flush_scheduled = false;
      step(self);
    },
    [self](tick_atom) {
      auto& s = self->state;
      s.tick_at = absl::InfiniteFuture();
      s.session->on_tick(absl::Now());
      step(self);
    },
    [self](drain_atom, caf::timespan) -> caf::result<ok_atom> {
      auto& s = self->state;
      s.session->go_away("server draining");
      step(self);
      if (s.session->closed())
        return ok_atom_v;
      s.drain_promise = self->make_response_promise<ok_atom>();
      return *s.drain_promise;
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
