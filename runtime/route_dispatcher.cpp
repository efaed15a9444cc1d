#include "runtime/route_dispatcher.hpp"

#include <algorithm>
#include <exception>
#include <string>

#include <absl/strings/str_cat.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include "runtime/body_codec.hpp"
#include "runtime/error_bridge.hpp"

namespace weft {

namespace {

using google::protobuf::internal::WireFormatLite;

/// A protobuf route received JSON: encode it through the route's schema.
absl::Status json_to_protobuf(const schema_registry& schemas,
                              const route_spec& spec, request& req) {
  auto bytes = typed_body(req.body);
  if (!bytes.ok())
    return bytes.status();
  auto binary = schemas.json_to_binary(spec.request_type, bytes->view());
  if (!binary.ok())
    return make_status(code_of(binary.status()),
                       absl::StrCat("the JSON body does not match ",
                                    spec.request_type, ": ",
                                    binary.status().message()));
  req.body = payload{shared_bytes::copy_of(*binary)};
  req.content_type = protobuf_content_type;
  req.schema = spec.request_type;
  return absl::OkStatus();
}

/// The reply of a request that came as JSON, printed as JSON. A reply
/// that is not of the declared type is left as the handler made it.
void protobuf_to_json(const schema_registry& schemas, const route_spec& spec,
                      response& rsp) {
  if (!spec.reply_prototype || rsp.content_type != protobuf_content_type)
    return;
  auto bytes = typed_body(rsp.body);
  if (!bytes.ok())
    return;
  auto json = schemas.binary_to_json(spec.reply_type, bytes->view());
  if (!json.ok())
    return;
  rsp.body = payload{shared_bytes::copy_of(*json)};
  rsp.content_type = json_content_type;
  rsp.schema = spec.reply_type;
}

/// The key of a keyed route's request.
std::string request_key(const route_binding& route, const request& req) {
  if (route.key_field > 0) {
    if (req.body.is_file())
      return {}; // a spilled body is not read at the edge (documented)
    return key_of(req.body.bytes().view(), route.key_field);
  }
  auto i = req.metadata.find(route.spec->options.key);
  return i == req.metadata.end() ? std::string{} : i->second;
}

/// FNV-1a (64 bit): the same on every node and every run, so that a key
/// keeps its worker index across the nodes of a cluster (absl::Hash is
/// seeded per process).
std::uint64_t stable_hash(absl::string_view key) {
  std::uint64_t h = 14695981039346656037ull;
  for (char c : key) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

/// `unsettled` places taken on `unsettled_worker` of this route's pool are
/// not in its counts yet (route_dispatcher::count_in_batches).
std::size_t pick_worker(const route_binding& route, const request& req,
                        std::size_t unsettled_worker, std::int64_t unsettled,
                        std::size_t home) {
  auto n = route.workers.size();
  if (n == 1)
    return 0;
  switch (route.spec->options.dispatch) {
    case dispatch_policy::round_robin:
      return route.load->next();
    case dispatch_policy::least_loaded:
      return route.load->least_loaded(unsettled_worker, unsettled);
    case dispatch_policy::by_key:
      return static_cast<std::size_t>(stable_hash(request_key(route, req))
                                      % n);
    case dispatch_policy::same_core:
      return home % n;
  }
  return 0;
}

absl::Status failure_of_exception(absl::string_view where) {
  try {
    throw;
  } catch (const std::exception& e) {
    return make_status(errc::handler_failed,
                       absl::StrCat(where, " threw: ", e.what()));
  } catch (...) {
    return make_status(errc::handler_failed, absl::StrCat(where, " threw"));
  }
}

} // namespace

// -- dispatch_ticket ------------------------------------------------------------

dispatch_ticket::dispatch_ticket(dispatch_ticket&& other) noexcept
  : binding_(std::exchange(other.binding_, nullptr)),
    owner_(std::exchange(other.owner_, nullptr)),
    table_version_(other.table_version_),
    worker_(other.worker_),
    holds_place_(std::exchange(other.holds_place_, false)),
    ran_(other.ran_),
    json_reply_(other.json_reply_),
    schemas_(std::move(other.schemas_)),
    kept_(std::move(other.kept_)) {
}

dispatch_ticket& dispatch_ticket::operator=(dispatch_ticket&& other) noexcept {
  if (this != &other) {
    unpin();
    binding_ = std::exchange(other.binding_, nullptr);
    owner_ = std::exchange(other.owner_, nullptr);
    table_version_ = other.table_version_;
    worker_ = other.worker_;
    holds_place_ = std::exchange(other.holds_place_, false);
    ran_ = other.ran_;
    json_reply_ = other.json_reply_;
    schemas_ = std::move(other.schemas_);
    kept_ = std::move(other.kept_);
  }
  return *this;
}

dispatch_ticket::~dispatch_ticket() {
  unpin();
}

void dispatch_ticket::release() noexcept {
  if (holds_place_) {
    holds_place_ = false;
    if (owner_->batched_)
      owner_->count(binding_->load.get(), worker_, -1);
    else
      binding_->load->release(worker_);
  }
}

void dispatch_ticket::bind(route_dispatcher* owner,
                           const route_binding* binding) noexcept {
  unpin();
  ++owner->tickets_;
  owner_ = owner;
  table_version_ = owner->table_->version;
  binding_ = binding;
}

void dispatch_ticket::unpin() noexcept {
  if (owner_) {
    // The pool place first: it lives in the binding, which may go with
    // the table.
    release();
    std::exchange(owner_, nullptr)->unpin(table_version_);
    binding_ = nullptr;
  }
}

// -- route_dispatcher ---------------------------------------------------------

route_dispatcher::route_dispatcher(std::shared_ptr<const route_table> table)
  : table_(std::move(table)) {
}

route_dispatcher::~route_dispatcher() {
  settle();
}

void route_dispatcher::update(std::shared_ptr<const route_table> table) {
  if (!table || (table_ && table->version <= table_->version))
    return;
  settle(); // the old table, and the pools in it, may go now
  // Requests in flight finish against the table they came with.
  if (tickets_ > 0) {
    if (!retired_)
      retired_ = std::make_unique<std::vector<retired_table>>();
    retired_->push_back({std::move(table_), tickets_});
  }
  table_ = std::move(table);
  tickets_ = 0;
}

void route_dispatcher::unpin(std::uint64_t version) noexcept {
  if (table_ && table_->version == version) {
    --tickets_;
    return;
  }
  if (!retired_)
    return;
  for (auto i = retired_->begin(); i != retired_->end(); ++i) {
    if (i->table->version == version) {
      if (--i->tickets == 0) {
        settle(); // before the table's pools go
        retired_->erase(i);
        if (retired_->empty())
          retired_.reset();
      }
      return;
    }
  }
}

void route_dispatcher::count_in_batches(bool on) noexcept {
  if (!on)
    settle();
  batched_ = on;
}

void route_dispatcher::count(pool_load* load, std::size_t worker,
                             std::int32_t n) {
  if (load != pending_load_ || worker != pending_worker_) {
    settle();
    pending_load_ = load;
    pending_worker_ = static_cast<std::uint32_t>(worker);
  }
  pending_ += n;
}

std::int64_t route_dispatcher::unsettled(const pool_load* load) const noexcept {
  return load == pending_load_ ? pending_ : 0;
}

void route_dispatcher::settle() noexcept {
  if (pending_ != 0)
    pending_load_->adjust(pending_worker_, pending_);
  pending_ = 0;
  pending_load_ = nullptr;
}

absl::Status route_dispatcher::prepare(request& req,
                                       dispatch_ticket& ticket) {
  if (!table_)
    return make_status(errc::unavailable, "the node serves no routes yet");
  auto found = table_->routes.find(req.route);
  if (found == table_->routes.end())
    return make_status(errc::not_found,
                       absl::StrCat("no route '", req.route, "'"));
  ticket.bind(this, found->second.get());
  const auto& route = *ticket.binding_;
  for (const auto& mw : route.middlewares) {
    ++ticket.ran_;
    if (!mw->before)
      continue;
    absl::Status st;
    try {
      st = mw->before(req);
    } catch (...) {
      st = failure_of_exception(absl::StrCat("middleware '", mw->name, "'"));
    }
    if (!st.ok())
      return st;
  }
  if (route.workers.empty())
    return make_status(errc::unavailable,
                       absl::StrCat("route '", route.name, "' is down: ",
                                    route.down_reason));
  if (route.spec->request_prototype && req.content_type == json_content_type) {
    if (auto st = json_to_protobuf(*table_->schemas, *route.spec, req);
        !st.ok())
      return st;
    ticket.json_reply_ = true;
    ticket.schemas_ = table_->schemas;
  }
  auto waiting = unsettled(route.load.get());
  auto worker = pick_worker(route, req, pending_worker_, waiting, home_);
  auto admitted = batched_ ? route.load->admits(waiting)
                           : route.load->try_acquire(worker);
  if (!admitted)
    return make_status(errc::overloaded,
                       absl::StrCat("route '", route.name, "' has ",
                                    route.spec->options.max_queue,
                                    " requests in flight"));
  if (batched_)
    count(route.load.get(), worker, 1);
  ticket.worker_ = worker;
  ticket.holds_place_ = true;
  bool needs_request = !route.error_handlers.empty();
  for (const auto& mw : route.middlewares)
    needs_request = needs_request || static_cast<bool>(mw->after);
  if (needs_request) {
    ticket.kept_ = std::make_unique<request>(req);
    ticket.kept_->body = payload{}; // the hooks never see the body
  }
  return absl::OkStatus();
}

void route_dispatcher::finish(dispatch_ticket& ticket,
                              absl::StatusOr<response>& result) const {
  ticket.release();
  const auto* route = ticket.binding_;
  if (!route)
    return;
  static const request no_request; // immutable: safe to share
  const request& req = ticket.kept_ ? *ticket.kept_ : no_request;
  for (auto i = ticket.ran_; i-- > 0;) {
    const auto& mw = *route->middlewares[i];
    if (!mw.after)
      continue;
    try {
      mw.after(req, result);
    } catch (...) {
      result = failure_of_exception(
        absl::StrCat("middleware '", mw.name, "'"));
    }
  }
  if (!result.ok()) {
    for (const auto& handler : route->error_handlers) {
      absl::StatusOr<response> handled;
      try {
        handled = (*handler)(req, result.status());
      } catch (...) {
        handled = failure_of_exception("an error handler");
      }
      result = std::move(handled);
      if (result.ok())
        break;
    }
  }
  if (result.ok() && ticket.json_reply_ && ticket.schemas_)
    protobuf_to_json(*ticket.schemas_, *route->spec, *result);
}

std::string key_of(absl::string_view bytes, int field) {
  google::protobuf::io::CodedInputStream in{
    reinterpret_cast<const std::uint8_t*>(bytes.data()),
    static_cast<int>(bytes.size())};
  std::string key;
  for (;;) {
    auto tag = in.ReadTag();
    if (tag == 0)
      break;
    auto number = static_cast<int>(WireFormatLite::GetTagFieldNumber(tag));
    auto type = WireFormatLite::GetTagWireType(tag);
    if (number != field) {
      if (!WireFormatLite::SkipField(&in, tag))
        break;
      continue;
    }
    switch (type) {
      case WireFormatLite::WIRETYPE_LENGTH_DELIMITED: {
        std::uint32_t size = 0;
        if (!in.ReadVarint32(&size) || !in.ReadString(&key, static_cast<int>(size)))
          return {};
        break;
      }
      case WireFormatLite::WIRETYPE_VARINT: {
        std::uint64_t v = 0;
        if (!in.ReadVarint64(&v))
          return {};
        key = std::to_string(v);
        break;
      }
      case WireFormatLite::WIRETYPE_FIXED64: {
        std::uint64_t v = 0;
        if (!in.ReadLittleEndian64(&v))
          return {};
        key = std::to_string(v);
        break;
      }
      case WireFormatLite::WIRETYPE_FIXED32: {
        std::uint32_t v = 0;
        if (!in.ReadLittleEndian32(&v))
          return {};
        key = std::to_string(v);
        break;
      }
      default:
        if (!WireFormatLite::SkipField(&in, tag))
          return key;
    }
  }
  return key;
}

} // namespace weft
