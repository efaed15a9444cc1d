#include "gateways/http/http_connection_actor.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <optional>

#include <absl/strings/ascii.h>
#include <absl/strings/match.h>
#include <absl/strings/numbers.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/str_split.h>
#include <absl/strings/strip.h>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>
#include <caf/sec.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/event_bus.hpp"
#include "gateways/connection_events.hpp"
#include "gateways/http/date_cache.hpp"
#include "gateways/http/request_reader.hpp"
#include "gateways/http/response_writer.hpp"
#include "gateways/http/status_codes.hpp"
#include "runtime/body_codec.hpp"
#include "runtime/error_bridge.hpp"
#include "runtime/http_request.hpp"
#include "runtime/http_stream.hpp"
#include "runtime/route_dispatcher.hpp"
#include "runtime/run_function_handler.hpp"
#include "runtime/sse_event.hpp"
#include "runtime/type_ids.hpp"

namespace weft::http {

namespace {

/// The prefix of the route-call endpoint: POST /rpc/<route>.
constexpr absl::string_view rpc_prefix = "/rpc/";

/// The request id's header, as a metadata key (lower case).
constexpr const char* request_id_key = "x-request-id";

/// A request id a client may choose: 1-128 visible ASCII characters.
bool acceptable_request_id(absl::string_view id) {
  if (id.empty() || id.size() > 128)
    return false;
  for (char c : id)
    if (c <= 0x20 || c >= 0x7f)
      return false;
  return true;
}

/// Where a request goes, decided from its head.
enum class target_kind {
  /// Answered by the connection (built-ins, 404, 405, OPTIONS).
  local,
  /// POST /rpc/<route>: any route, body in its content type.
  rpc,
  /// A route declared with blueprint::http.
  http_route,
  /// GET /events: the connection becomes a Server-Sent Events stream.
  events,
};

/// One request of the connection, from its head until its response is
/// written. Responses leave in the order the requests came.
struct exchange {
  std::uint64_t seq = 0;
  bool ready = false;
  /// HEAD: headers as for GET, no body.
  bool head_only = false;
  bool close_after = false;
  bool keep_alive_10 = false;
  /// A 100 Continue is owed once this exchange is at the front.
  bool continue_owed = false;
  target_kind kind = target_kind::local;
  /// rpc: the route takes a protobuf request (decided with the head).
  bool typed_rpc = false;
  /// local: the answer decided from the head.
  int local_status = 0;
  std::string local_type;
  std::string local_body;
  std::string allow;
  /// X-Request-Id: the client's (when a sane one was sent) or ours.
  std::string request_id;
  /// rpc / http_route: the route's full name and the path parameters.
  std::string route;
  std::vector<http_path_pattern::param> params;
  /// events: the topics to follow (?topic=a&topic=b).
  std::vector<std::string> topics;
  /// The handler's answer must come by then (504 after).
  absl::Time deadline = absl::InfiniteFuture();
  std::optional<dispatch_ticket> ticket;
  /// The serialized response, once ready.
  std::vector<shared_bytes> out;
  /// A file body, streamed after `out` in slices as the socket takes them
  /// (never read whole into memory); `file_sent` bytes are queued so far.
  std::optional<payload> file;
  std::uint64_t file_sent = 0;
  /// HTTP/1.0: a streamed body is written raw and ends with the connection.
  bool http10 = false;
  /// A streamed response (runtime/http_stream.hpp): after its head in
  /// `out`, chunks come as (http_chunk_atom, ...) from the stream's writer
  /// until it ends or aborts the stream.
  bool stream = false;
  /// An event stream: an idle one gets keep-alive comments.
  bool stream_events = false;
  /// HEAD, or a status without a body: chunks are acknowledged, not sent.
  bool stream_bodyless = false;
  /// The writer ended (or aborted) the stream.
  bool stream_done = false;
  bool stream_abort = false;
  /// Framed chunks waiting for the exchange to reach the front.
  std::vector<shared_bytes> stream_chunks;
  /// Acknowledgements owed to the writer (chunk sizes): delivered once the
  /// chunk is written and the socket's queue is low, so that the writer's
  /// window bounds what a slow client makes this connection hold.
  std::vector<std::pair<caf::response_promise, std::uint64_t>> acks;
};

struct http_connection_state {
  std::shared_ptr<io::channel> channel;
  http_connection_context ctx;
  std::unique_ptr<request_reader> reader;
  route_dispatcher dispatcher;
  std::shared_ptr<const route_index> index;
  date_cache dates;
  std::string client_id;
  /// Bytes read and not yet parsed (a head must be whole for the parser).
  std::string in;
  std::deque<exchange> exchanges;
  std::uint64_t next_seq = 0;
  /// No more requests are read: a response closes the connection, the
  /// node drains, or the input was bad.
  bool stop_reading = false;
  /// The request being read asked for the connection to close after it.
  bool last_request = false;
  /// The request being read has its exchange (the last one): its head
  /// arrived, its body has not.
  bool reading = false;
  bool close_requested = false;
  /// The connection carries an event stream (GET /events): pushes are
  /// written as events; nothing more is read.
  bool streaming = false;
  std::uint64_t event_seq = 0;
  absl::Time last_stream_write;
  /// When the current request's first byte, its body's start and the last
  /// activity happened (for the header, body-rate and idle timeouts).
  absl::Time request_started = absl::InfiniteFuture();
  absl::Time body_started = absl::InfiniteFuture();
  /// Next check of the body's rate.
  absl::Time body_check_at = absl::InfiniteFuture();
  absl::Time last_activity;
  /// While a read is handled: the time it arrived, which the requests it
  /// completes share (one clock read per read instead of four per request:
  /// about 1.5% of the CPU of the plaintext benchmark). Otherwise
  /// InfiniteFuture; now_of() then reads the clock.
  absl::Time read_time = absl::InfiniteFuture();
  absl::Time tick_at = absl::InfiniteFuture();
  std::optional<caf::typed_response_promise<ok_atom>> drain_promise;

  http_connection_state() = default;
  http_connection_state(const http_connection_state&) = delete;
  http_connection_state& operator=(const http_connection_state&) = delete;

  ~http_connection_state() {
    if (ctx.stats)
      ctx.stats->active.fetch_sub(1, std::memory_order_relaxed);
  }

  static inline const char* name = "weft.http.connection";
};

/// The current read's time while one is handled, else the clock.
absl::Time now_of(const http_connection_state& st) {
  return st.read_time != absl::InfiniteFuture() ? st.read_time : absl::Now();
}

using connection_self = caf::stateful_actor<http_connection_state>*;

void process_input(connection_self self);
void write_ready(connection_self self);

/// Parses requests held back by the pipelining bound, once answers freed
/// room for them.
void resume_reading(connection_self self) {
  auto& st = self->state;
  if (!st.in.empty() && !st.stop_reading
      && st.exchanges.size() < st.ctx.options->limits.max_pipelined)
    process_input(self);
}

exchange* find_exchange(http_connection_state& st, std::uint64_t seq) {
  if (st.exchanges.empty() || seq < st.exchanges.front().seq)
    return nullptr;
  auto at = seq - st.exchanges.front().seq;
  if (at >= st.exchanges.size())
    return nullptr;
  return &st.exchanges[at];
}

/// Serializes a response into `ex` and marks it ready.
void finish_exchange(connection_self self, exchange& ex, response_head head,
                     shared_bytes body,
                     std::optional<payload> file = std::nullopt) {
  auto& st = self->state;
  head.content_length = file ? file->size() : body.size();
  head.close = head.close || ex.close_after;
  head.keep_alive_10 = ex.keep_alive_10;
  head.request_id = ex.request_id;
  ex.out.clear();
  ex.out.push_back(
    shared_bytes::copy_of(write_head(head, st.dates.at(now_of(st)))));
  bool no_body = head.status < 200 || head.status == 204 || head.status == 304;
  if (!ex.head_only && !no_body && !body.empty())
    ex.out.push_back(std::move(body));
  if (!ex.head_only && !no_body && file && file->size() > 0)
    ex.file = std::move(file);
  ex.ready = true;
  ex.ticket.reset();
  st.ctx.stats->responses.fetch_add(1, std::memory_order_relaxed);
}

void finish_with_error(connection_self self, exchange& ex, errc code,
                       absl::string_view message, int status = 0) {
  response_head head;
  head.status = status != 0 ? status : status_of(code);
  head.content_type = json_content_type;
  head.allow = ex.allow;
  finish_exchange(self, ex, head,
                  shared_bytes::copy_of(error_json(code, message)));
}

/// The head of a streamed response arrived (runtime/http_stream.hpp): it
/// is written once `ex` is at the front, then the chunks as they come.
void start_response_stream(connection_self self, exchange& ex,
                           response_head head, bool events) {
  bool no_body = head.status < 200 || head.status == 204 || head.status == 304;
  if (ex.http10) {
    head.until_close = true;
    ex.close_after = true;
  } else {
    head.chunked = true;
  }
  // Chunks that came before the head were framed as chunks already.
  auto early = std::move(ex.stream_chunks);
  finish_exchange(self, ex, head, {});
  ex.stream = true;
  ex.stream_events = events;
  ex.stream_bodyless = ex.head_only || no_body;
  if (!ex.stream_bodyless)
    ex.stream_chunks = std::move(early);
  if (ex.stream_bodyless)
    ex.stream_done = true;
}

/// The handler's answer (or failure) for exchange `seq`.
/// Turns the handler's answer into exchange `ex`'s response (written in
/// order by write_ready).
void answer_exchange(connection_self self, exchange& ex,
                     absl::StatusOr<response> result) {
  auto& st = self->state;
  if (ex.ticket)
    st.dispatcher.finish(*ex.ticket, result);
  if (!result.ok()) {
    finish_with_error(self, ex, code_of(result.status()),
                      result.status().message());
    return;
  }
  auto& rsp = *result;
  response_head head;
  if (auto s = rsp.metadata.find(http_status_key); s != rsp.metadata.end()) {
    int code = 0;
    if (absl::SimpleAtoi(s->second, &code) && code >= 200 && code <= 599)
      head.status = code;
    else
      head.status = 500;
  }
  head.content_type = rsp.content_type;
  head.extra = &rsp.metadata;
  if (auto m = rsp.metadata.find(http_stream_key); m != rsp.metadata.end()) {
    start_response_stream(self, ex, head, m->second == "events");
    return;
  }
  if (rsp.body.is_file())
    finish_exchange(self, ex, head, {}, std::move(rsp.body));
  else
    finish_exchange(self, ex, head, rsp.body.bytes());
}

/// A handler actor answered request `seq`.
void on_answer(connection_self self, std::uint64_t seq,
               absl::StatusOr<response> result) {
  auto& st = self->state;
  auto* ex = find_exchange(st, seq);
  if (!ex || ex->ready)
    return; // timed out (504 sent) or the connection is closing
  answer_exchange(self, *ex, std::move(result));
  write_ready(self);
  resume_reading(self);
}

/// Copies the head's headers into the request's metadata (lower-case names,
/// repeated ones joined with ", ").
void add_headers(std::map<std::string, std::string>& metadata,
                 const request_head& head) {
  for (const auto& [name, value] : head.headers) {
    auto [at, fresh] = metadata.emplace(name, value);
    if (!fresh)
      absl::StrAppend(&at->second, ", ", value);
  }
}

/// The media type of a Content-Type, lower-cased, without parameters.
std::string media_type(absl::string_view content_type) {
  return absl::AsciiStrToLower(absl::StripAsciiWhitespace(
    content_type.substr(0, content_type.find(';'))));
}

/// Sends the completed request of `ex` to its route's handler.
void dispatch(connection_self self, exchange& ex, request_reader& reader) {
  auto& st = self->state;
  auto& head = reader.head();
  request req;
  req.route = ex.route;
  req.peer = st.channel->remote_address();
  req.client_id = st.client_id;
  req.connection_id = st.channel->id();
  req.message_id = static_cast<std::uint32_t>(ex.seq);
  req.deadline_ns = ex.deadline == absl::InfiniteFuture()
                      ? 0
                      : absl::ToUnixNanos(ex.deadline);
  auto& body = reader.body();
  if (ex.kind == target_kind::rpc) {
    auto type = media_type(head.content_type);
    // A protobuf route reads anything but protobuf as JSON (so that
    // `curl -d`, which says urlencoded, works); no content type means JSON.
    if (type.empty() || (ex.typed_rpc && type != protobuf_content_type))
      type = json_content_type;
    if (type == json_content_type && body.empty())
      body = "{}";
    req.content_type = std::move(type);
  } else {
    req.content_type = head.content_type;
    auto target = absl::string_view{head.target};
    auto q = target.find('?');
    req.metadata[http_method_key] = head.method == "HEAD" ? "GET" : head.method;
    req.metadata[http_path_key] = std::string{target.substr(0, q)};
    if (q != absl::string_view::npos)
      req.metadata[http_query_key] = std::string{target.substr(q + 1)};
    for (auto& [name, value] : ex.params)
      req.metadata[absl::StrCat(http_param_prefix, name)] = std::move(value);
  }
  add_headers(req.metadata, head);
  req.metadata[request_id_key] = ex.request_id;
  req.body = payload{shared_bytes::copy_of(body)};
  st.ctx.stats->requests.fetch_add(1, std::memory_order_relaxed);
  dispatch_ticket ticket;
  if (auto ready = st.dispatcher.prepare(req, ticket); !ready.ok()) {
    absl::StatusOr<response> result = std::move(ready);
    st.dispatcher.finish(ticket, result);
    finish_with_error(self, ex, code_of(result.status()),
                      result.status().message());
    return;
  }
  if (ticket.runs_on_edge()) {
    // route_options::run_on_edge: answered here, without a hand-off;
    // process_input writes the answers in order once it parsed the read.
    background_tasks later;
    auto result
      = run_function_handler(self, *ticket.binding()->spec, req, later);
    ex.ticket.emplace(std::move(ticket));
    answer_exchange(self, ex, std::move(result));
    if (!later.empty())
      submit_background(self->system(), later);
    return;
  }
  // A reference into the route's binding, which the ticket keeps alive:
  // a copy would bump the handler actor's shared reference count.
  const auto& worker = ticket.worker();
  ex.ticket.emplace(std::move(ticket));
  auto seq = ex.seq;
  // No CAF timeout (CAF 0.17 keeps each in its clock until it expires): the
  // tick answers 504 at the deadline and the late answer is dropped.
  self
    ->request(worker, caf::duration{caf::infinite}, request_atom_v,
              std::move(req))
    .then(
      [self, seq](response& rsp) { on_answer(self, seq, std::move(rsp)); },
      [self, seq](caf::error& err) { on_answer(self, seq, to_status(err)); });
}

/// Answers a built-in endpoint or decides where the request goes, from its
/// head. Returns the body limit, or 0 to answer from the head at once.
std::uint64_t route_head(connection_self self, exchange& ex,
                         const request_head& head) {
  auto& st = self->state;
  const auto& limits = st.ctx.options->limits;
  auto target = absl::string_view{head.target};
  auto path = target.substr(0, target.find('?'));
  const auto& method = head.method;
  bool get_like = method == "GET" || method == "HEAD";
  auto local = [&](int status, std::string type, std::string body) {
    ex.kind = target_kind::local;
    ex.local_status = status;
    ex.local_type = std::move(type);
    ex.local_body = std::move(body);
  };
  if (path.empty() || path[0] != '/') {
    if (method == "OPTIONS" && target == "*")
      local(204, "", "");
    else
      local(400, json_content_type,
            error_json(errc::invalid_argument,
                       "the request target must be a path"));
    return limits.max_body_bytes;
  }
  if (path == "/health" && get_like) {
    local(200, json_content_type, R"({"status":"ok"})");
    return limits.max_body_bytes;
  }
  if (path == "/events" && method == "GET") {
    if (!st.ctx.registry) {
      local(503, json_content_type,
            error_json(errc::unavailable, "no event streams on this node"));
      return limits.max_body_bytes;
    }
    ex.kind = target_kind::events;
    auto q = target.find('?');
    if (q != absl::string_view::npos) {
      auto query = parse_urlencoded(target.substr(q + 1));
      if (query.ok())
        for (auto& [k, v] : *query)
          if (k == "topic" && !v.empty())
            ex.topics.push_back(std::move(v));
    }
    return limits.max_body_bytes;
  }
  if (path == "/ready" && get_like) {
    bool draining = st.ctx.draining && st.ctx.draining->load();
    if (draining)
      local(503, json_content_type, R"({"ready":false})");
    else
      local(200, json_content_type, R"({"ready":true})");
    return limits.max_body_bytes;
  }
  const route_binding* binding = nullptr;
  if (absl::StartsWith(path, rpc_prefix)) {
    std::string route;
    if (!percent_decode(path.substr(rpc_prefix.size()), route, false))
      route.clear();
    if (method != "POST") {
      ex.allow = "POST";
      local(405, json_content_type,
            error_json(errc::invalid_argument, "use POST to call a route"));
      return limits.max_body_bytes;
    }
    ex.kind = target_kind::rpc;
    const auto& table = st.dispatcher.table();
    if (table)
      if (auto r = table->routes.find(route); r != table->routes.end())
        binding = r->second.get();
    ex.typed_rpc = binding && binding->spec->request_prototype;
    ex.route = std::move(route);
  } else {
    if (!st.index || st.index->table() != st.dispatcher.table())
      st.index = st.ctx.indexes->get(st.dispatcher.table());
    auto found = st.index->find(method, path);
    if (!found.route) {
      if (found.allow.empty()) {
        local(404, json_content_type,
              error_json(errc::not_found,
                         absl::StrCat("no route for ", method, " ", path)));
      } else if (method == "OPTIONS") {
        ex.allow = std::move(found.allow);
        local(204, "", "");
      } else {
        ex.allow = std::move(found.allow);
        local(405, json_content_type,
              error_json(errc::invalid_argument,
                         absl::StrCat(method, " is not allowed on ", path)));
      }
      return limits.max_body_bytes;
    }
    ex.kind = target_kind::http_route;
    binding = found.route;
    ex.route = binding->name;
    ex.params = std::move(found.params);
  }
  ex.deadline = now_of(st) + st.ctx.options->handler_timeout;
  if (binding && binding->spec->options.max_body_bytes > 0)
    return binding->spec->options.max_body_bytes;
  return limits.max_body_bytes;
}

/// Answers a bad request (malformed, over a limit, too slow) and stops
/// reading: the connection closes once it is written.
void reject(connection_self self, int status, absl::string_view reason) {
  auto& st = self->state;
  st.ctx.stats->rejected.fetch_add(1, std::memory_order_relaxed);
  st.ctx.log.debug("http.rejected", {{"peer", st.channel->remote_address()},
                                     {"status", status},
                                     {"reason", reason}});
  st.stop_reading = true;
  st.body_started = absl::InfiniteFuture();
  st.body_check_at = absl::InfiniteFuture();
  // The request being read has its exchange once its head arrived: answer
  // in its place (earlier responses still go first).
  if (!st.reading) {
    st.exchanges.emplace_back();
    st.exchanges.back().seq = st.next_seq++;
  }
  st.reading = false;
  auto& ex = st.exchanges.back();
  ex.continue_owed = false;
  ex.close_after = true;
  ex.head_only = false;
  auto code = status == 413   ? errc::limit_exceeded
              : status == 431 ? errc::header_too_large
              : status == 408 ? errc::deadline_exceeded
                              : errc::protocol_error;
  finish_with_error(self, ex, code, reason, status);
  st.in.clear();
}

/// Answers an exchange decided from its head (built-ins, 404, 405).
void finish_local(connection_self self, exchange& ex) {
  response_head head;
  head.status = ex.local_status;
  head.content_type = ex.local_type;
  head.allow = ex.allow;
  finish_exchange(self, ex, head, shared_bytes::copy_of(ex.local_body));
}

/// The head of a request arrived: decide where it goes and how much body
/// it may have.
void on_head(connection_self self) {
  auto& st = self->state;
  auto& reader = *st.reader;
  auto& head = reader.head();
  st.exchanges.emplace_back();
  st.reading = true;
  auto& ex = st.exchanges.back();
  ex.seq = st.next_seq++;
  ex.head_only = head.method == "HEAD";
  for (const auto& [name, value] : head.headers)
    if (name == request_id_key && acceptable_request_id(value))
      ex.request_id = value;
  if (ex.request_id.empty())
    ex.request_id = absl::StrCat(st.ctx.id_prefix, "-",
                                 absl::Hex(st.channel->id()), "-",
                                 absl::Hex(ex.seq));
  ex.keep_alive_10 = head.version == 10 && head.keep_alive;
  ex.http10 = head.version == 10;
  if (!head.keep_alive || st.last_request) {
    ex.close_after = true;
    st.last_request = true;
  }
  auto max_body = route_head(self, ex, head);
  // Refused from its head, with a body the client waits to send: answer at
  // once and close rather than read a body nobody wants.
  bool has_body = head.chunked || head.content_length.value_or(0) > 0;
  if (ex.kind == target_kind::local && ex.local_status >= 400 && has_body
      && head.expect_continue) {
    ex.close_after = true;
    st.stop_reading = true;
    st.reading = false;
    finish_local(self, ex);
    return;
  }
  reader.read_body(max_body);
  if (reader.current() == request_reader::state::need_more) {
    st.body_started = absl::Now();
    st.body_check_at = st.body_started + st.ctx.options->limits.body_rate_grace;
    if (head.expect_continue)
      ex.continue_owed = true;
  }
}

/// The whole request is read: answer it or send it to its handler.
void on_complete(connection_self self) {
  auto& st = self->state;
  auto& ex = st.exchanges.back();
  st.reading = false;
  ex.continue_owed = false;
  if (ex.kind == target_kind::local)
    finish_local(self, ex);
  else if (ex.kind == target_kind::events)
    ex.ready = true; // the stream starts once it is at the front
  else
    dispatch(self, ex, *st.reader);
  st.reader->next();
  st.request_started = absl::InfiniteFuture();
  st.body_started = absl::InfiniteFuture();
  st.body_check_at = absl::InfiniteFuture();
  if (st.last_request)
    st.stop_reading = true;
}

/// Parses what was read, as far as the pipelining bound allows.
void process_input(connection_self self) {
  auto& st = self->state;
  auto& reader = *st.reader;
  std::size_t parsed = 0;
  const auto max_pipelined = st.ctx.options->limits.max_pipelined;
  for (int rounds = 0; rounds < 1024 && !st.stop_reading; ++rounds) {
    if (reader.current() == request_reader::state::need_more
        && !reader.started() && st.exchanges.size() >= max_pipelined)
      break; // back-pressure: the client waits for answers
    auto rest = absl::string_view{st.in}.substr(parsed);
    if (rest.empty())
      break;
    if (!reader.started())
      st.request_started = now_of(st);
    auto used = reader.feed(rest);
    parsed += used;
    auto now_state = reader.current();
    if (now_state == request_reader::state::head) {
      on_head(self);
      if (st.stop_reading)
        break; // answered from the head
      now_state = reader.current();
    }
    if (now_state == request_reader::state::complete) {
      on_complete(self);
      continue;
    }
    if (now_state == request_reader::state::failed) {
      reject(self, reader.error_status(), reader.error_reason());
      break;
    }
    if (used == 0)
      break; // the rest of a head or body is still to come
  }
  // After a rejection `in` is empty and the connection closes.
  auto used = std::min(parsed, st.in.size());
  st.in.erase(0, used);
  if (used > 0)
    st.channel->consumed(used);
  write_ready(self);
}

/// One chunk of a chunked response body.
shared_bytes chunk_of(absl::string_view text) {
  return shared_bytes::copy_of(
    absl::StrCat(absl::Hex(text.size()), "\r\n", text, "\r\n"));
}

void arm_timer(connection_self self);

/// Writes `text` to the event stream as one chunk.
void stream_write(connection_self self, absl::string_view text) {
  auto& st = self->state;
  std::vector<shared_bytes> slices;
  slices.push_back(chunk_of(text));
  st.channel->send(std::move(slices));
  st.last_stream_write = absl::Now();
}

/// Ends the event stream (the last chunk), if one runs.
void end_stream(connection_self self) {
  auto& st = self->state;
  if (!st.streaming)
    return;
  st.streaming = false;
  std::vector<shared_bytes> slices;
  slices.push_back(shared_bytes::copy_of("0\r\n\r\n"));
  st.channel->send(std::move(slices));
}

/// The exchange of GET /events reached the front: answers with the
/// stream's head and a first event naming the client id, then registers
/// the connection with the registry (for pushes by id, topics, broadcasts).
void start_stream(connection_self self, exchange& ex,
                  std::vector<shared_bytes>& batch) {
  auto& st = self->state;
  st.streaming = true;
  st.stop_reading = true;
  std::map<std::string, std::string> extra{{"cache-control", "no-cache"}};
  response_head head;
  head.content_type = "text/event-stream";
  head.chunked = true;
  head.request_id = ex.request_id;
  head.extra = &extra;
  batch.push_back(
    shared_bytes::copy_of(write_head(head, st.dates.at(absl::Now()))));
  batch.push_back(chunk_of(absl::StrCat(
    "event: weft.hello\ndata: {\"client_id\":\"", st.client_id, "\"}\n\n")));
  st.last_stream_write = absl::Now();
  st.ctx.stats->responses.fetch_add(1, std::memory_order_relaxed);
  self->send(st.ctx.registry, client_atom_v, st.client_id,
             caf::actor_cast<caf::actor>(self));
  // anon_send: the registry's answer (a count) is not wanted here.
  for (const auto& topic : ex.topics)
    caf::anon_send(st.ctx.registry, join_topic_atom_v, st.client_id, topic);
}

/// A push for this connection's client: one event of the stream.
void on_push(connection_self self, const push_message& msg) {
  auto& st = self->state;
  if (!st.streaming || st.close_requested)
    return;
  if (st.channel->bytes_queued() > st.ctx.options->limits.max_stream_backlog) {
    st.ctx.log.warn("http.slow_consumer",
                    {{"peer", st.channel->remote_address()},
                     {"queued", st.channel->bytes_queued()}});
    st.streaming = false;
    st.close_requested = true;
    st.channel->close();
    return;
  }
  sse_event ev;
  ev.id = absl::StrCat(++st.event_seq);
  ev.event = msg.route;
  ev.data = std::string{msg.body.bytes().view()};
  auto event = encode_sse(ev);
  if (!event.ok()) {
    ev.event.clear(); // a route name that is not one line
    event = encode_sse(ev);
  }
  if (event.ok())
    stream_write(self, *event);
}

/// Bytes of file body queued in the reactor ahead of the socket: enough to
/// keep it busy between two io_sent, little enough to stay small.
constexpr std::size_t file_write_ahead = 512 * 1024;
constexpr std::size_t file_slice = 128 * 1024;

/// Adds slices of `ex`'s file body to `batch` while the reactor holds less
/// than file_write_ahead; true once the whole file is queued. A file that
/// cannot be read any more ends the connection (its length was promised).
bool queue_file(connection_self self, exchange& ex,
                std::vector<shared_bytes>& batch) {
  auto& st = self->state;
  std::uint64_t queued = st.channel->bytes_queued();
  for (const auto& b : batch)
    queued += b.size();
  auto size = ex.file->size();
  for (int slices = 0; slices < 64 && ex.file_sent < size
                       && queued < file_write_ahead;
       ++slices) {
    auto n = static_cast<std::size_t>(
      std::min<std::uint64_t>(file_slice, size - ex.file_sent));
    auto slice = ex.file->read(ex.file_sent, n);
    if (!slice.ok() || slice->size() != n) {
      st.ctx.log.warn("http.file_read_failed",
                      {{"peer", st.channel->remote_address()},
                       {"error", slice.ok() ? "short read"
                                            : slice.status().message()}});
      st.close_requested = true;
      st.channel->abort();
      return false;
    }
    ex.file_sent += n;
    queued += n;
    batch.push_back(std::move(*slice));
  }
  if (ex.file_sent < size)
    return false;
  ex.file.reset();
  return true;
}

/// Acknowledges the chunks of the streamed response at the front once the
/// socket's queue is low (the writer may then send more).
void acknowledge_stream(connection_self self) {
  auto& st = self->state;
  if (st.exchanges.empty())
    return;
  auto& front = st.exchanges.front();
  if (!front.stream || front.acks.empty() || !front.stream_chunks.empty()
      || st.channel->bytes_queued()
           > st.ctx.options->channel.sent_low_watermark)
    return;
  for (auto& [promise, bytes] : front.acks)
    promise.deliver(bytes);
  front.acks.clear();
}

/// A chunk (or the end) of the streamed response of exchange `seq`, from
/// its writer; answered with the chunk's size once it is written and the
/// socket's queue is low (see acknowledge_stream).
caf::result<std::uint64_t> on_stream_chunk(connection_self self,
                                           std::uint64_t seq,
                                           shared_bytes& data,
                                           std::uint8_t kind) {
  auto& st = self->state;
  auto* ex = find_exchange(st, seq);
  if (!ex || st.close_requested || ex->stream_done
      || (ex->ready && !ex->stream))
    return make_weft_error(errc::unavailable, "the stream is over");
  if (st.channel->bytes_queued() > st.ctx.options->limits.max_stream_backlog) {
    st.ctx.log.warn("http.slow_consumer",
                    {{"peer", st.channel->remote_address()},
                     {"queued", st.channel->bytes_queued()}});
    st.close_requested = true;
    st.channel->close();
    return make_weft_error(errc::unavailable, "the client reads too slowly");
  }
  auto n = data.size();
  if (kind == 0) {
    if (n > 0 && !(ex->stream && ex->stream_bodyless)) {
      if (ex->http10) {
        ex->stream_chunks.push_back(std::move(data));
      } else {
        ex->stream_chunks.push_back(
          shared_bytes::copy_of(absl::StrCat(absl::Hex(n), "\r\n")));
        ex->stream_chunks.push_back(std::move(data));
        ex->stream_chunks.push_back(shared_bytes::copy_of("\r\n"));
      }
    }
  } else {
    ex->stream_done = true;
    ex->stream_abort = kind != 1;
  }
  auto promise = self->make_response_promise();
  ex->acks.emplace_back(promise, n);
  write_ready(self);
  return promise;
}

/// The connection ends: every writer waiting for an acknowledgement learns
/// that the client is gone.
void fail_stream_acks(http_connection_state& st) {
  for (auto& ex : st.exchanges) {
    for (auto& [promise, bytes] : ex.acks)
      promise.deliver(
        make_weft_error(errc::unavailable, "the connection closed"));
    ex.acks.clear();
  }
}

/// Writes the responses that are ready at the front, in order.
void write_ready(connection_self self) {
  auto& st = self->state;
  std::vector<shared_bytes> batch;
  bool close = false;
  while (!st.exchanges.empty()) {
    auto& front = st.exchanges.front();
    if (!front.ready) {
      if (front.continue_owed) {
        front.continue_owed = false;
        batch.push_back(shared_bytes::copy_of("HTTP/1.1 100 Continue\r\n\r\n"));
      }
      break;
    }
    if (front.kind == target_kind::events) {
      start_stream(self, front, batch);
      st.exchanges.clear(); // nothing is read after a stream's request
      break;
    }
    for (auto& slice : front.out)
      batch.push_back(std::move(slice));
    front.out.clear();
    if (front.stream) {
      for (auto& chunk : front.stream_chunks)
        batch.push_back(std::move(chunk));
      front.stream_chunks.clear();
      st.last_stream_write = absl::Now();
      if (!front.stream_done) {
        if (front.stream_events)
          arm_timer(self); // keep-alive comments while it is idle
        break;             // more chunks to come; later responses wait
      }
      if (front.stream_abort) {
        // Cut off: the client sees the body end without its last chunk.
        front.close_after = true;
        st.stop_reading = true;
      } else if (!front.stream_bodyless && !front.http10) {
        batch.push_back(shared_bytes::copy_of("0\r\n\r\n"));
      }
      for (auto& [promise, bytes] : front.acks)
        promise.deliver(bytes);
    }
    if (front.file && !queue_file(self, front, batch))
      break; // the rest of the file goes once the socket took this much
    close = front.close_after;
    st.exchanges.pop_front();
    if (close)
      break;
  }
  if (!batch.empty())
    st.channel->send(std::move(batch));
  acknowledge_stream(self);
  if (st.streaming) {
    arm_timer(self); // keep-alive comments
    return;
  }
  if (close || (st.stop_reading && st.exchanges.empty())) {
    if (!st.close_requested) {
      st.close_requested = true;
      st.exchanges.clear();
      st.channel->close();
    }
    // Everything is answered: the drain need not wait for the socket's
    // linger (the client's FIN).
    if (st.drain_promise) {
      st.drain_promise->deliver(ok_atom_v);
      st.drain_promise.reset();
    }
    return;
  }
  // The idle timer starts once the last answer is out.
  if (st.exchanges.empty()) {
    st.last_activity = now_of(st);
    arm_timer(self);
  }
}

/// Re-arms the timer for the earliest deadline of the connection.
void arm_timer(connection_self self) {
  auto& st = self->state;
  const auto& limits = st.ctx.options->limits;
  auto next = absl::InfiniteFuture();
  if (st.close_requested)
    return;
  if (st.reader->started() && st.body_started == absl::InfiniteFuture())
    next = std::min(next, st.request_started + limits.header_timeout);
  next = std::min(next, st.body_check_at);
  bool events_front = !st.exchanges.empty() && st.exchanges.front().stream
                      && st.exchanges.front().stream_events
                      && !st.exchanges.front().stream_done;
  if (st.streaming || events_front)
    next = std::min(next, st.last_stream_write + limits.stream_keepalive);
  else if (st.exchanges.empty() && !st.reader->started())
    next = std::min(next, st.last_activity + limits.idle_timeout);

  for (const auto& ex : st.exchanges)
    if (!ex.ready)
      next = std::min(next, ex.deadline);
  if (next == absl::InfiniteFuture() || next >= st.tick_at)
    return;
  st.tick_at = next;
  auto delay = std::max(absl::ZeroDuration(), next - absl::Now())
               + absl::Milliseconds(1);
  self->delayed_send(self, absl::ToChronoNanoseconds(delay), tick_atom_v);
}

void on_tick(connection_self self) {
  auto& st = self->state;
  st.tick_at = absl::InfiniteFuture();
  if (st.close_requested)
    return;
  auto now = absl::Now();
  const auto& limits = st.ctx.options->limits;
  if (st.reader->started() && st.body_started == absl::InfiniteFuture()
      && now - st.request_started >= limits.header_timeout) {
    reject(self, 408, "request head not received in time");
    write_ready(self);
    return;
  }
  if (now >= st.body_check_at) {
    auto elapsed = now - st.body_started;
    auto want = absl::ToDoubleSeconds(elapsed)
                * static_cast<double>(limits.min_body_rate);
    if (static_cast<double>(st.reader->body().size()) < want) {
      reject(self, 408, "request body arrives too slowly");
      write_ready(self);
      return;
    }
    st.body_check_at = now + absl::Seconds(1);
  }
  if (st.streaming) {
    if (now - st.last_stream_write >= limits.stream_keepalive)
      stream_write(self, ": keep-alive\n\n");
    arm_timer(self);
    return;
  }
  if (!st.exchanges.empty() && st.exchanges.front().stream
      && st.exchanges.front().stream_events && !st.exchanges.front().stream_done
      && now - st.last_stream_write >= limits.stream_keepalive)
    stream_write(self, ": keep-alive\n\n");
  if (st.exchanges.empty() && !st.reader->started()
      && now - st.last_activity >= limits.idle_timeout) {
    st.stop_reading = true;
    write_ready(self); // closes: nothing is pending
    return;
  }
  for (auto& ex : st.exchanges) {
    if (!ex.ready && ex.ticket && now >= ex.deadline) {
      auto ticket = std::move(ex.ticket);
      ex.ticket.reset();
      absl::StatusOr<response> late
        = make_status(errc::deadline_exceeded, "the handler took too long");
      st.dispatcher.finish(*ticket, late);
      finish_with_error(self, ex, errc::deadline_exceeded,
                        late.status().message());
    }
  }
  write_ready(self);
  arm_timer(self);
}

caf::behavior connection(connection_self self,
                         std::shared_ptr<io::channel> channel,
                         http_connection_context ctx) {
  auto& st = self->state;
  st.channel = std::move(channel);
  st.ctx = std::move(ctx);
  st.dispatcher.update(st.ctx.routes);
  st.dispatcher.set_home(st.channel->home_index());
  st.reader = std::make_unique<request_reader>(st.ctx.options->limits);
  st.client_id = absl::StrCat("c", st.channel->id());
  st.last_activity = absl::Now();
  st.ctx.stats->active.fetch_add(1, std::memory_order_relaxed);
  emit_connection_event(self->system(), lifecycle::connection_opened,
                        *st.channel, "http", st.client_id);
  arm_timer(self);
  return {
    [self](io_read_atom, const shared_bytes& batch) {
      auto& s = self->state;
      s.last_activity = absl::Now();
      if (s.stop_reading) {
        s.channel->consumed(batch.size());
        return;
      }
      auto view = batch.view();
      s.in.append(view.data(), view.size());
      // Bytes stay "unconsumed" for the reactor until parsed, so a client
      // that pipelines past max_pipelined is pushed back by TCP.
      s.read_time = s.last_activity;
      process_input(self);
      arm_timer(self);
      s.read_time = absl::InfiniteFuture();
    },
    // The reactor's queue fell low: the next slices of a file body.
    [self](io_sent_atom, std::uint64_t) { write_ready(self); },
    [self](io_eof_atom) {
      // The client sent all it will: answer what was read, then close. A
      // request cut short by the EOF gets no answer.
      auto& s = self->state;
      s.stop_reading = true;
      if (s.reading) {
        s.exchanges.pop_back();
        s.reading = false;
      }
      end_stream(self);
      write_ready(self);
    },
    [self](push_atom, const push_message& msg) { on_push(self, msg); },
    [self](http_chunk_atom, std::uint64_t seq, shared_bytes& data,
           std::uint8_t kind) -> caf::result<std::uint64_t> {
      return on_stream_chunk(self, seq, data, kind);
    },
    [self](routes_atom, const route_table_ref& ref) {
      self->state.dispatcher.update(ref.ptr);
    },
    [self](tick_atom) { on_tick(self); },
    [self](io_closed_atom, const caf::error& reason) {
      auto& s = self->state;
      if (reason && reason != caf::sec::none)
        s.ctx.log.debug("http.connection_closed",
                        {{"peer", s.channel->remote_address()},
                         {"reason", caf::to_string(reason)}});
      emit_connection_event(self->system(), lifecycle::connection_closed,
                            *s.channel, "http", s.client_id,
                            close_reason(reason));
      fail_stream_acks(s);
      if (s.drain_promise) {
        s.drain_promise->deliver(ok_atom_v);
        s.drain_promise.reset();
      }
      self->quit();
    },
    [self](drain_atom, caf::timespan) -> caf::result<ok_atom> {
      auto& s = self->state;
      end_stream(self);
      // Streamed responses end cleanly; their writers learn it from their
      // next chunk's answer.
      for (auto& ex : s.exchanges)
        if (ex.stream)
          ex.stream_done = true;
      if (s.reader->started() && !s.stop_reading) {
        // A request is on its way in: it is read to its end and answered
        // (GET /ready then says 503), and its answer closes the connection.
        s.last_request = true;
        if (s.reading)
          s.exchanges.back().close_after = true;
      } else {
        // Requests already read are answered; nothing more is read, and
        // the last response closes the connection.
        s.stop_reading = true;
        if (!s.exchanges.empty())
          s.exchanges.back().close_after = true;
      }
      s.drain_promise = self->make_response_promise<ok_atom>();
      auto promise = *s.drain_promise;
      write_ready(self);
      return promise;
    },
  };
}

} // namespace

caf::actor spawn_http_connection(caf::actor_system& sys,
                                 std::shared_ptr<io::channel> channel,
                                 http_connection_context ctx) {
  return sys.spawn(connection, std::move(channel), std::move(ctx));
}

} // namespace weft::http
