#include "docs/examples/kv/kv_app.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

#include <absl/container/flat_hash_map.h>
#include <absl/status/statusor.h>
#include <absl/strings/str_cat.h>
#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>

#include "examples/kv.pb.h"
#include "runtime/error_bridge.hpp"
#include "runtime/body_codec.hpp"
#include "runtime/push_message.hpp"
#include "runtime/route_handlers.hpp"

namespace weft::examples {

namespace {

namespace pb = weft::examples::kv;

/// Shard actors in the pool; a key never moves between them.
constexpr std::size_t shard_actors = 4;
/// Limits on what a client may make a shard hold.
constexpr std::size_t max_key_size = 256;
constexpr std::size_t max_value_size = 1024 * 1024;
constexpr std::size_t max_keys_per_shard = 100000;

/// A stored value and the version its last put gave it.
struct entry {
  std::string value;
  std::uint64_t version = 0;
};

/// The state of one shard actor: the keys that hash to it.
struct shard_state {
  absl::flat_hash_map<std::string, entry> entries;
  /// The last version this shard handed out. Every put takes the next
  /// one, so a key's versions only grow, even across a delete.
  std::uint64_t last_version = 0;
  static inline const char* name = "weft.examples.kv_shard";
};

using shard_actor = caf::stateful_actor<shard_state>;

absl::Status check_key(const std::string& key) {
  if (key.empty())
    return make_status(errc::invalid_argument, "the key is empty");
  if (key.size() > max_key_size)
    return make_status(
      errc::invalid_argument,
      absl::StrCat("a key is at most ", max_key_size, " bytes"));
  return absl::OkStatus();
}

absl::StatusOr<pb::GetReply> get(shard_actor* self, const pb::GetRequest& req) {
  if (auto st = check_key(req.key()); !st.ok())
    return st;
  pb::GetReply reply;
  auto found = self->state.entries.find(req.key());
  if (found != self->state.entries.end()) {
    reply.set_found(true);
    reply.set_value(found->second.value);
    reply.set_version(found->second.version);
  }
  return reply;
}

/// The compare-and-set condition of `req`, checked against `current`
/// (nullptr: the key does not exist).
absl::Status check_expected(const pb::PutRequest& req, const entry* current) {
  if (!req.has_expected_version())
    return absl::OkStatus();
  auto want = req.expected_version();
  if (!current && want != 0)
    return make_status(errc::failed_precondition,
                       absl::StrCat("key '", req.key(), "' does not exist, ",
                                    "expected version ", want));
  if (current && current->version != want)
    return make_status(errc::failed_precondition,
                       absl::StrCat("key '", req.key(), "' is at version ",
                                    current->version, ", not ", want));
  return absl::OkStatus();
}

/// The topic of a key's watchers.
std::string watch_topic(const std::string& key) {
  return absl::StrCat("kv:", key);
}

/// Tells the watchers of `change.key()` (if any) what happened.
void notify(const context& ctx, const pb::KeyChanged& change) {
  push_message msg;
  msg.route = "kv.changed";
  msg.body = encode_message(change).body;
  msg.content_type = protobuf_content_type;
  msg.schema = pb::KeyChanged::descriptor()->full_name();
  ctx.publish(watch_topic(change.key()), std::move(msg));
}

absl::StatusOr<pb::PutReply> put(shard_actor* self, const pb::PutRequest& req,
                                 const context& ctx) {
  if (auto st = check_key(req.key()); !st.ok())
    return st;
  if (req.value().size() > max_value_size)
    return make_status(
      errc::limit_exceeded,
      absl::StrCat("a value is at most ", max_value_size, " bytes"));
  auto& st = self->state;
  auto found = st.entries.find(req.key());
  auto* current = found == st.entries.end() ? nullptr : &found->second;
  if (auto ok = check_expected(req, current); !ok.ok())
    return ok;
  if (!current) {
    if (st.entries.size() >= max_keys_per_shard)
      return make_status(errc::limit_exceeded, "the store is full");
    current = &st.entries[req.key()];
  }
  current->value = req.value();
  current->version = ++st.last_version;
  pb::KeyChanged change;
  change.set_key(req.key());
  change.set_value(req.value());
  change.set_version(current->version);
  notify(ctx, change);
  pb::PutReply reply;
  reply.set_version(current->version);
  return reply;
}

absl::StatusOr<pb::DeleteReply> erase(shard_actor* self,
                                      const pb::DeleteRequest& req,
                                      const context& ctx) {
  if (auto st = check_key(req.key()); !st.ok())
    return st;
  pb::DeleteReply reply;
  reply.set_existed(self->state.entries.erase(req.key()) > 0);
  if (reply.existed()) {
    pb::KeyChanged change;
    change.set_key(req.key());
    change.set_deleted(true);
    notify(ctx, change);
  }
  return reply;
}

/// Subscribes the caller to the key's changes, then answers its current
/// state: the subscription is queued at the registry before any later
/// change of the key (all of which this actor makes) is published.
absl::StatusOr<pb::WatchReply> watch(shard_actor* self,
                                     const pb::WatchRequest& req,
                                     const context& ctx) {
  if (auto st = check_key(req.key()); !st.ok())
    return st;
  ctx.subscribe(watch_topic(req.key()));
  pb::GetRequest get_req;
  get_req.set_key(req.key());
  auto current = get(self, get_req);
  if (!current.ok())
    return current.status();
  pb::WatchReply reply;
  *reply.mutable_current() = std::move(*current);
  return reply;
}

/// One actor of the pool "kv.shards": answers the three routes for the
/// keys it holds.
caf::behavior shard_behavior(shard_actor* self) {
  return route_handlers{self}
    .on<pb::GetRequest, pb::GetReply>(
      "get",
      [self](const pb::GetRequest& req, context&) { return get(self, req); })
    .on<pb::PutRequest, pb::PutReply>(
      "put",
      [self](const pb::PutRequest& req, context& ctx) {
        return put(self, req, ctx);
      })
    .on<pb::DeleteRequest, pb::DeleteReply>(
      "delete",
      [self](const pb::DeleteRequest& req, context& ctx) {
        return erase(self, req, ctx);
      })
    .on<pb::WatchRequest, pb::WatchReply>(
      "watch",
      [self](const pb::WatchRequest& req, context& ctx) {
        return watch(self, req, ctx);
      })
    .behavior();
}

} // namespace

blueprint kv_app() {
  route_options shards;
  shards.workers = shard_actors;
  shards.dispatch = dispatch_policy::by_key;
  shards.key = "key";
  blueprint app{"kv"};
  app.actor_pool(
    "kv.shards",
    [](caf::actor_system& sys) { return sys.spawn(shard_behavior); }, shards);
  app.route_to<pb::GetRequest, pb::GetReply>("get", "kv.shards");
  app.route_to<pb::PutRequest, pb::PutReply>("put", "kv.shards");
  app.route_to<pb::DeleteRequest, pb::DeleteReply>("delete", "kv.shards");
  app.route_to<pb::WatchRequest, pb::WatchReply>("watch", "kv.shards");
  return app;
}

} // namespace weft::examples
