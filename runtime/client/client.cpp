#include "runtime/client/client.hpp"

#include <algorithm>
#include <atomic>
#include <deque>
#include <optional>
#include <random>
#include <set>
#include <vector>

#include <absl/container/flat_hash_map.h>
#include <absl/strings/str_cat.h>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/spawn_options.hpp>
#include <caf/stateful_actor.hpp>

#include "runtime/client/client_call.hpp"
#include "runtime/error_bridge.hpp"
#include "runtime/protocol/binary_framer.hpp"
#include "runtime/protocol/flush_to_channel.hpp"
#include "runtime/protocol/wire_format.hpp"
#include "runtime/type_ids.hpp"
#include "weft/registry.pb.h"

namespace weft {

namespace {

using protocol::session_event;

/// Counters the client object reads while its actor updates them.
struct client_status {
  std::atomic<bool> connected{false};
  std::atomic<std::size_t> pending{0};
};

struct call_entry {
  client_call call;
  /// The request's message id once sent; 0 while waiting for a connection.
  std::uint32_t id = 0;
  absl::Time deadline = absl::InfiniteFuture();
};

struct client_state {
  // Non-owning: the reactor pool outlives the client actor (the client
  // object stops the actor before the pool).
  io::reactor_pool* pool = nullptr;
  client_options opts;
  std::shared_ptr<client_status> status;
  std::shared_ptr<io::channel> channel;
  std::unique_ptr<protocol::session> session;
  absl::flat_hash_map<std::uint64_t, call_entry> calls;
  /// Body bytes of the calls in `calls`.
  std::uint64_t pending_bytes = 0;
  absl::flat_hash_map<std::uint32_t, std::uint64_t> by_id;
  /// Calls waiting for a connection, oldest first.
  std::deque<std::uint64_t> waiting;
  std::optional<caf::typed_response_promise<ok_atom>> connect_promise;
  std::vector<caf::typed_response_promise<caf::timespan>> ping_promises;
  absl::Duration backoff;
  bool reconnect_scheduled = false;
  absl::Time tick_at = absl::InfiniteFuture();
  std::minstd_rand rng{std::random_device{}()};
  /// Topics to follow again after a reconnect.
  std::set<std::string> topics;
  /// A connection was ready before: the next ready is a reconnect.
  bool was_ready = false;
  /// Tokens of the client's own calls (renewing its id and topics), from
  /// the top of the token space so they never meet the object's.
  std::uint64_t next_internal_token = ~std::uint64_t{0};

  client_state() = default;
  client_state(const client_state&) = delete;
  client_state& operator=(const client_state&) = delete;

  /// Whatever is still pending when the actor ends fails as cancelled.
  ~client_state() {
    for (auto& [token, entry] : calls)
      if (entry.call.done)
        entry.call.done(make_status(errc::cancelled, "the client was closed"));
    if (channel)
      channel->abort();
    if (status) {
      status->pending = 0;
      status->connected = false;
    }
  }

  static inline const char* name = "weft.client";
};

using client_self = caf::stateful_actor<client_state>*;

void step(client_self self);

void finish(client_self self, std::uint64_t token, call_result result) {
  auto& st = self->state;
  auto i = st.calls.find(token);
  if (i == st.calls.end())
    return;
  auto entry = std::move(i->second);
  st.calls.erase(i);
  st.pending_bytes -= entry.call.body.size();
  if (entry.id != 0)
    st.by_id.erase(entry.id);
  st.status->pending = st.calls.size();
  if (entry.call.done)
    entry.call.done(std::move(result));
}

/// Puts a call on the wire (or back in the waiting line if it cannot go).
void send_call(client_self self, std::uint64_t token) {
  auto& st = self->state;
  auto i = st.calls.find(token);
  if (i == st.calls.end())
    return;
  auto& entry = i->second;
  weft::wire::MessageHeader header;
  header.set_kind(weft::wire::KIND_REQUEST);
  header.set_route(entry.call.route);
  header.set_priority(entry.call.opts.priority);
  header.set_content_type(entry.call.opts.content_type);
  header.set_schema(entry.call.opts.schema);
  for (const auto& [k, v] : entry.call.opts.metadata)
    (*header.mutable_metadata())[k] = v;
  auto now = absl::Now();
  if (entry.deadline != absl::InfiniteFuture()) {
    auto left = entry.deadline - now;
    if (left <= absl::ZeroDuration()) {
      finish(self, token,
             make_status(errc::deadline_exceeded,
                         "deadline passed before the call could be sent"));
      return;
    }
    header.set_deadline_ms(static_cast<std::uint32_t>(
      std::max<std::int64_t>(1, absl::ToInt64Milliseconds(left))));
  }
  auto id = st.session->send(std::move(header), entry.call.body, now);
  if (!id.ok()) {
    finish(self, token, id.status());
    return;
  }
  entry.id = *id;
  st.by_id[*id] = token;
}

void fail_in_flight(client_self self, const std::string& why) {
  auto& st = self->state;
  std::vector<std::uint64_t> tokens;
  for (const auto& [id, token] : st.by_id)
    tokens.push_back(token);
  std::sort(tokens.begin(), tokens.end());
  for (auto token : tokens)
    finish(self, token, make_status(errc::unavailable, why));
}

void fail_waiting(client_self self, const std::string& why) {
  auto& st = self->state;
  auto waiting = std::move(st.waiting);
  st.waiting.clear();
  for (auto token : waiting)
    finish(self, token, make_status(errc::unavailable, why));
}

void schedule_reconnect(client_self self) {
  auto& st = self->state;
  if (st.reconnect_scheduled)
    return;
  st.reconnect_scheduled = true;
  // Full jitter over [backoff/2, backoff].
  auto ns = absl::ToInt64Nanoseconds(st.backoff);
  std::uniform_int_distribution<std::int64_t> pick{ns / 2, ns};
  auto delay = absl::Nanoseconds(pick(st.rng));
  st.backoff = std::min(st.backoff * 2, st.opts.backoff_max);
  self->delayed_send(self, absl::ToChronoNanoseconds(delay), connect_atom_v,
                     true);
}

/// Blocking connect of the detached actor; ready when SETTINGS arrive.
absl::Status open_connection(client_self self) {
  auto& st = self->state;
  auto max_frame = st.opts.session.local.max_frame_size;
  io::channel_options copts;
  copts.max_unit_bytes = std::max<std::size_t>(
    copts.max_unit_bytes, max_frame + protocol::frame_header_size);
  copts.sent_low_watermark = 128 * 1024;
  auto channel = st.pool->connect(
    st.opts.host, st.opts.port, st.opts.connect_timeout,
    [max_frame] { return std::make_unique<protocol::binary_framer>(max_frame); },
    copts);
  if (!channel.ok())
    return channel.status();
  st.channel = *channel;
  st.session = std::make_unique<protocol::session>(
    protocol::role::client, st.opts.session, absl::Now());
  st.channel->start(caf::actor_cast<caf::actor>(self));
  step(self); // preface and SETTINGS go out at once
  return absl::OkStatus();
}

void flush(client_self self) {
  auto& st = self->state;
  protocol::flush_to_channel(*st.session, *st.channel, 256 * 1024);
}

void on_push(client_self self, session_event& ev) {
  auto& st = self->state;
  if (!st.opts.on_push)
    return;
  push_message msg;
  msg.route = std::move(*ev.header.mutable_route());
  msg.body = std::move(ev.body);
  msg.content_type = std::move(*ev.header.mutable_content_type());
  msg.schema = std::move(*ev.header.mutable_schema());
  msg.priority = ev.header.priority();
  for (auto& [k, v] : *ev.header.mutable_metadata())
    msg.metadata.emplace(k, std::move(v));
  st.opts.on_push(std::move(msg));
}

/// After a reconnect: claims the client id again and renews every topic,
/// ahead of the calls that waited for the connection.
void renew_identity(client_self self) {
  auto& st = self->state;
  auto internal = [&](const std::string& route,
                      const google::protobuf::Message& body) {
    client_call call;
    call.token = st.next_internal_token--;
    call.route = route;
    call.body = payload{shared_bytes::copy_of(body.SerializeAsString())};
    call.opts.content_type = "application/x-protobuf";
    call_entry entry;
    entry.call = std::move(call);
    auto token = entry.call.token;
    st.calls.emplace(token, std::move(entry));
    send_call(self, token);
  };
  if (!st.opts.client_id.empty()) {
    weft::wire::ClientHello hello;
    hello.set_client_id(st.opts.client_id);
    internal("weft.hello", hello);
  }
  for (const auto& topic : st.topics) {
    weft::wire::TopicRequest req;
    req.set_topic(topic);
    internal("weft.subscribe", req);
  }
}

void on_message(client_self self, session_event& ev) {
  auto& st = self->state;
  if (ev.header.kind() == weft::wire::KIND_PUSH) {
    on_push(self, ev);
    return;
  }
  if (ev.header.kind() != weft::wire::KIND_REPLY)
    return; // a server sends no requests
  auto i = st.by_id.find(ev.header.reply_to());
  if (i == st.by_id.end())
    return;
  auto token = i->second;
  const auto& status = ev.header.status();
  if (status.code() != 0) {
    finish(self, token,
           make_status(errc_from_code(status.code()), status.message()));
    return;
  }
  reply r;
  r.body = std::move(ev.body);
  r.content_type = ev.header.content_type();
  r.schema = ev.header.schema();
  for (const auto& [k, v] : ev.header.metadata())
    r.metadata.emplace(k, v);
  finish(self, token, std::move(r));
}

void step(client_self self) {
  auto& st = self->state;
  if (!st.session)
    return;
  for (int round = 0; round < 64; ++round) {
    flush(self);
    auto events = st.session->take_events();
    if (events.empty())
      break;
    for (auto& ev : events) {
      switch (ev.what) {
        case session_event::kind::ready: {
          st.status->connected = true;
          st.backoff = st.opts.backoff_initial;
          if (st.connect_promise) {
            st.connect_promise->deliver(ok_atom_v);
            st.connect_promise.reset();
          }
          if (st.was_ready)
            renew_identity(self);
          st.was_ready = true;
          auto waiting = std::move(st.waiting);
          st.waiting.clear();
          for (auto token : waiting)
            send_call(self, token);
          break;
        }
        case session_event::kind::message:
          on_message(self, ev);
          break;
        case session_event::kind::progress: {
          auto i = st.by_id.find(ev.header.reply_to());
          if (i != st.by_id.end()) {
            auto c = st.calls.find(i->second);
            if (c != st.calls.end() && c->second.call.opts.on_progress)
              c->second.call.opts.on_progress(ev.done, ev.total);
          }
          break;
        }
        case session_event::kind::cancelled:
          if (ev.ours) {
            auto i = st.by_id.find(ev.id);
            if (i != st.by_id.end())
              finish(self, i->second, make_status(ev.code, ev.text));
          }
          break;
        case session_event::kind::begun:
        case session_event::kind::piece:
        case session_event::kind::ended:
          break; // the client streams no bodies (on_bytes has no filter)
        case session_event::kind::pong:
          for (auto& p : st.ping_promises)
            p.deliver(absl::ToChronoNanoseconds(ev.rtt));
          st.ping_promises.clear();
          break;
        case session_event::kind::goaway:
          st.status->connected = false;
          break;
        case session_event::kind::closed: {
          st.status->connected = false;
          auto why = absl::StrCat("connection lost (", to_string(ev.code),
                                  ev.text.empty() ? "" : ": ", ev.text, ")");
          fail_in_flight(self, why);
          for (auto& p : st.ping_promises)
            p.deliver(make_weft_error(errc::unavailable, why));
          st.ping_promises.clear();
          if (st.connect_promise) {
            st.connect_promise->deliver(make_weft_error(
              ev.code == errc::ok ? errc::unavailable : ev.code, why));
            st.connect_promise.reset();
          }
          break;
        }
      }
    }
    flush(self);
  }
  if (st.session->closed()) {
    if (st.channel)
      st.channel->close(); // io_closed follows; then we reconnect
    return;
  }
  auto next = st.session->next_timeout();
  for (const auto& [token, entry] : st.calls)
    if (entry.id == 0)
      next = std::min(next, entry.deadline);
  if (next < st.tick_at) {
    st.tick_at = next;
    auto delay = std::max(absl::ZeroDuration(), next - absl::Now());
    self->delayed_send(self, absl::ToChronoNanoseconds(delay), tick_atom_v);
  }
}

caf::behavior client_actor(client_self self, io::reactor_pool* pool,
                           client_options opts,
                           std::shared_ptr<client_status> status) {
  auto& st = self->state;
  st.pool = pool;
  st.opts = std::move(opts);
  st.status = std::move(status);
  st.backoff = st.opts.backoff_initial;
  return {
    [self](connect_atom) -> caf::result<ok_atom> {
      auto& s = self->state;
      if (s.session && !s.session->closed())
        return ok_atom_v;
      if (auto opened = open_connection(self); !opened.ok())
        return to_error(opened);
      s.connect_promise = self->make_response_promise<ok_atom>();
      return *s.connect_promise;
    },
    [self](connect_atom, bool) {
      // A reconnect attempt scheduled by schedule_reconnect.
      auto& s = self->state;
      s.reconnect_scheduled = false;
      if (s.channel || (s.session && !s.session->closed()))
        return;
      if (auto opened = open_connection(self); !opened.ok()) {
        s.session.reset();
        schedule_reconnect(self);
      }
    },
    [self](client_call& call) {
      auto& s = self->state;
      auto token = call.token;
      if (s.calls.size() >= s.opts.max_pending_calls
          || s.pending_bytes + call.body.size() > s.opts.max_pending_bytes) {
        if (call.done)
          call.done(make_status(
            errc::overloaded,
            absl::StrCat("the client has ", s.calls.size(), " calls and ",
                         s.pending_bytes, " bytes pending")));
        return;
      }
      s.pending_bytes += call.body.size();
      call_entry entry;
      if (call.opts.timeout > absl::ZeroDuration())
        entry.deadline = absl::Now() + call.opts.timeout;
      entry.call = std::move(call);
      s.calls.emplace(token, std::move(entry));
      s.status->pending = s.calls.size();
      if (s.session && s.session->ready() && !s.session->closed()
          && s.status->connected) {
        send_call(self, token);
      } else if (s.opts.reconnect || (s.session && !s.session->closed())) {
        s.waiting.push_back(token);
        if (!s.session || s.session->closed())
          schedule_reconnect(self);
      } else {
        finish(self, token,
               make_status(errc::unavailable, "not connected"));
      }
      step(self);
    },
    [self](join_topic_atom, const std::string& topic) {
      self->state.topics.insert(topic);
    },
    [self](leave_topic_atom, const std::string& topic) {
      self->state.topics.erase(topic);
    },
    [self](cancel_atom, std::uint64_t token) {
      auto& s = self->state;
      auto i = s.calls.find(token);
      if (i == s.calls.end())
        return;
      if (i->second.id != 0 && s.session)
        s.session->cancel(i->second.id, errc::cancelled,
                          "cancelled by the client");
      auto& w = s.waiting;
      w.erase(std::remove(w.begin(), w.end(), token), w.end());
      finish(self, token, make_status(errc::cancelled, "cancelled"));
      step(self);
    },
    [self](ping_atom) -> caf::result<caf::timespan> {
      auto& s = self->state;
      if (!s.session || s.session->closed() || !s.session->ready())
        return make_weft_error(errc::unavailable, "not connected");
      s.session->ping(absl::Now());
      auto promise = self->make_response_promise<caf::timespan>();
      s.ping_promises.push_back(promise);
      step(self);
      return promise;
    },
    [self](io_read_atom, const shared_bytes& batch) {
      auto& s = self->state;
      if (!s.session)
        return;
      s.session->on_bytes(batch, absl::Now());
      step(self);
      if (s.channel)
        s.channel->consumed(batch.size());
    },
    [self](io_sent_atom, std::uint64_t) { step(self); },
    [self](io_closed_atom, const caf::error& reason) {
      auto& s = self->state;
      if (s.session && !s.session->closed()) {
        s.session->fail(errc::io_error,
                        reason ? caf::to_string(reason)
                               : std::string{"the server closed"});
        step(self);
      }
      s.channel = nullptr;
      s.status->connected = false;
      if (!s.opts.reconnect)
        fail_waiting(self, "connection lost and reconnect is off");
      else
        schedule_reconnect(self);
    },
    [self](tick_atom) {
      auto& s = self->state;
      s.tick_at = absl::InfiniteFuture();
      auto now = absl::Now();
      if (s.session)
        s.session->on_tick(now);
      std::vector<std::uint64_t> expired;
      for (const auto& [token, entry] : s.calls)
        if (entry.id == 0 && entry.deadline <= now)
          expired.push_back(token);
      for (auto token : expired) {
        auto& w = s.waiting;
        w.erase(std::remove(w.begin(), w.end(), token), w.end());
        finish(self, token,
               make_status(errc::deadline_exceeded,
                           "deadline passed while waiting for a connection"));
      }
      step(self);
    },
  };
}

} // namespace

struct client::shared {
  std::unique_ptr<caf::actor_system_config> own_config;
  std::unique_ptr<caf::actor_system> own_system;
  std::unique_ptr<io::reactor_pool> own_pool;
  caf::actor_system* system = nullptr;
  caf::actor actor;
  std::shared_ptr<client_status> status;
  std::atomic<std::uint64_t> next_token{1};

  ~shared() {
    if (actor) {
      caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
      caf::scoped_actor self{*system};
      self->wait_for(actor);
      actor = nullptr;
    }
    if (own_pool)
      own_pool->stop();
    own_pool.reset();
    own_system.reset();
    own_config.reset();
  }
};

client::client(passkey, std::shared_ptr<shared> state)
  : state_(std::move(state)) {
}

client::~client() = default;

namespace {

/// Spawns the client actor on `sys` and waits for its first connection.
absl::Status start_client_actor(caf::actor_system& sys, io::reactor_pool& pool,
                                const client_options& opts, caf::actor& actor,
                                std::shared_ptr<client_status>& status) {
  status = std::make_shared<client_status>();
  actor = sys.spawn<caf::detached>(client_actor, &pool, opts, status);
  caf::error failure;
  caf::scoped_actor self{sys};
  self
    ->request(actor,
              absl::ToChronoNanoseconds(opts.connect_timeout + absl::Seconds(5)),
              connect_atom_v)
    .receive([](ok_atom) {}, [&](caf::error& err) { failure = err; });
  return to_status(failure);
}

/// Claims `id` (if any) on a freshly connected client: connecting fails if
/// the server refuses it (taken, or denied by middleware).
absl::StatusOr<std::unique_ptr<client>>
claim_id(std::unique_ptr<client> c, const std::string& id) {
  if (id.empty())
    return c;
  weft::wire::ClientHello hello;
  hello.set_client_id(id);
  call_options opts;
  opts.content_type = "application/x-protobuf";
  opts.timeout = absl::Seconds(10);
  auto r = c->call_sync(
    "weft.hello", payload{shared_bytes::copy_of(hello.SerializeAsString())},
    opts);
  if (!r.ok())
    return r.status();
  return c;
}

} // namespace

absl::StatusOr<std::unique_ptr<client>> client::connect(client_options opts) {
  auto state = std::make_shared<shared>();
  state->own_config = std::make_unique<caf::actor_system_config>();
  state->own_config->set("scheduler.max-threads", std::size_t{2});
  state->own_config->add_message_types<caf::id_block::weft>();
  state->own_system = std::make_unique<caf::actor_system>(*state->own_config);
  io::reactor_options io_opts;
  io_opts.threads = std::max<std::size_t>(1, opts.io_threads);
  auto pool = io::reactor_pool::start(*state->own_system, io_opts);
  if (!pool.ok())
    return pool.status();
  state->own_pool = std::move(*pool);
  state->system = state->own_system.get();
  if (auto st = start_client_actor(*state->system, *state->own_pool, opts,
                                   state->actor, state->status);
      !st.ok())
    return st;
  return claim_id(std::make_unique<client>(passkey{}, std::move(state)),
                  opts.client_id);
}

absl::StatusOr<std::unique_ptr<client>>
client::connect(caf::actor_system& sys, io::reactor_pool& pool,
                client_options opts) {
  auto state = std::make_shared<shared>();
  state->system = &sys;
  if (auto st = start_client_actor(sys, pool, opts, state->actor,
                                   state->status);
      !st.ok())
    return st;
  return claim_id(std::make_unique<client>(passkey{}, std::move(state)),
                  opts.client_id);
}

std::uint64_t client::call(const std::string& route, payload body,
                           call_options opts,
                           std::function<void(call_result)> done) {
  client_call c;
  c.token = state_->next_token.fetch_add(1, std::memory_order_relaxed);
  c.route = route;
  c.body = std::move(body);
  c.opts = std::move(opts);
  c.done = std::move(done);
  auto token = c.token;
  caf::anon_send(state_->actor, std::move(c));
  return token;
}

pending_call client::call(const std::string& route, payload body,
                          call_options opts) {
  // shared_ptr: the promise is set by the callback on the client's thread
  // while the caller holds its future.
  auto promise = std::make_shared<std::promise<call_result>>();
  pending_call result;
  result.result = promise->get_future();
  result.token = call(route, std::move(body), std::move(opts),
                      [promise](call_result r) {
                        promise->set_value(std::move(r));
                      });
  return result;
}

call_result client::call_sync(const std::string& route, payload body,
                              call_options opts) {
  return call(route, std::move(body), std::move(opts)).result.get();
}

void client::cancel(std::uint64_t token) {
  caf::anon_send(state_->actor, cancel_atom_v, token);
}

absl::StatusOr<absl::Duration> client::ping(absl::Duration timeout) {
  caf::scoped_actor self{*state_->system};
  absl::StatusOr<absl::Duration> result
    = make_status(errc::deadline_exceeded, "no pong in time");
  self->request(state_->actor, absl::ToChronoNanoseconds(timeout), ping_atom_v)
    .receive([&](caf::timespan rtt) { result = absl::FromChrono(rtt); },
             [&](caf::error& err) { result = to_status(err); });
  return result;
}

absl::Status client::subscribe(const std::string& topic) {
  weft::wire::TopicRequest req;
  req.set_topic(topic);
  call_options opts;
  opts.content_type = "application/x-protobuf";
  auto r = call_sync("weft.subscribe",
                     payload{shared_bytes::copy_of(req.SerializeAsString())},
                     opts);
  if (!r.ok())
    return r.status();
  caf::anon_send(state_->actor, join_topic_atom_v, topic);
  return absl::OkStatus();
}

absl::Status client::unsubscribe(const std::string& topic) {
  caf::anon_send(state_->actor, leave_topic_atom_v, topic);
  weft::wire::TopicRequest req;
  req.set_topic(topic);
  call_options opts;
  opts.content_type = "application/x-protobuf";
  return call_sync("weft.unsubscribe",
                   payload{shared_bytes::copy_of(req.SerializeAsString())},
                   opts)
    .status();
}

bool client::connected() const {
  return state_->status->connected.load();
}

std::size_t client::pending() const {
  return state_->status->pending.load();
}

} // namespace weft
