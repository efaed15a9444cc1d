#include "docs/examples/chat/chat_app.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include <absl/container/flat_hash_map.h>
#include <absl/status/statusor.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/string_view.h>
#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>

#include "examples/chat.pb.h"
#include "runtime/error_bridge.hpp"
#include "runtime/route_handlers.hpp"

namespace weft::examples {

namespace {

namespace pb = weft::examples::chat;

/// Room actors in the pool; a room never moves between them.
constexpr std::size_t room_actors = 4;
/// Lines a room keeps; older ones are dropped.
constexpr std::size_t max_lines = 1000;
/// Limits on what a client may make a room actor hold.
constexpr std::size_t max_name_size = 128;
constexpr std::size_t max_text_size = 4096;
constexpr std::size_t max_members = 1000;
constexpr std::size_t max_rooms_per_actor = 10000;

/// One room: who joined, and its latest lines.
struct room {
  std::vector<std::string> members; // in join order
  std::deque<pb::Line> lines;       // oldest first, at most max_lines
  std::uint64_t last_seq = 0;       // seq of the newest line (0: none yet)

  bool has_member(const std::string& user) const {
    return std::find(members.begin(), members.end(), user) != members.end();
  }
};

/// The state of one room actor: the rooms whose key hashes to it.
struct rooms_state {
  absl::flat_hash_map<std::string, room> rooms;
  static inline const char* name = "weft.examples.chat_room";
};

using room_actor = caf::stateful_actor<rooms_state>;

absl::Status check_name(absl::string_view what, const std::string& value) {
  if (value.empty())
    return make_status(errc::invalid_argument, absl::StrCat(what, " is empty"));
  if (value.size() > max_name_size)
    return make_status(
      errc::invalid_argument,
      absl::StrCat(what, " is longer than ", max_name_size, " bytes"));
  return absl::OkStatus();
}

/// The room named in a request, or not_found.
absl::StatusOr<room*> find_room(room_actor* self, const std::string& name) {
  auto found = self->state.rooms.find(name);
  if (found == self->state.rooms.end())
    return make_status(errc::not_found,
                       absl::StrCat("nobody joined room '", name, "'"));
  return &found->second;
}

absl::StatusOr<pb::JoinReply> join(room_actor* self,
                                   const pb::JoinRequest& req) {
  if (auto st = check_name("room", req.room()); !st.ok())
    return st;
  if (auto st = check_name("user", req.user()); !st.ok())
    return st;
  auto& rooms = self->state.rooms;
  if (!rooms.contains(req.room()) && rooms.size() >= max_rooms_per_actor)
    return make_status(errc::limit_exceeded, "too many rooms");
  auto& r = rooms[req.room()];
  if (!r.has_member(req.user())) {
    if (r.members.size() >= max_members)
      return make_status(errc::limit_exceeded,
                         absl::StrCat("room '", req.room(), "' is full"));
    r.members.push_back(req.user());
  }
  pb::JoinReply reply;
  for (const auto& m : r.members)
    reply.add_members(m);
  return reply;
}

absl::StatusOr<pb::SayReply> say(room_actor* self, const pb::SayRequest& req) {
  auto r = find_room(self, req.room());
  if (!r.ok())
    return r.status();
  if (!(*r)->has_member(req.user()))
    return make_status(errc::permission_denied,
                       absl::StrCat("'", req.user(), "' has not joined room '",
                                    req.room(), "'"));
  if (req.text().size() > max_text_size)
    return make_status(
      errc::limit_exceeded,
      absl::StrCat("a line holds at most ", max_text_size, " bytes"));
  auto& lines = (*r)->lines;
  if (lines.size() == max_lines)
    lines.pop_front();
  auto& line = lines.emplace_back();
  line.set_seq(++(*r)->last_seq);
  line.set_user(req.user());
  line.set_text(req.text());
  pb::SayReply reply;
  reply.set_seq(line.seq());
  return reply;
}

absl::StatusOr<pb::HistoryReply> history(room_actor* self,
                                         const pb::HistoryRequest& req) {
  auto r = find_room(self, req.room());
  if (!r.ok())
    return r.status();
  const auto& lines = (*r)->lines;
  std::size_t n = lines.size();
  if (req.limit() > 0)
    n = std::min<std::size_t>(n, req.limit());
  pb::HistoryReply reply;
  reply.mutable_lines()->Reserve(static_cast<int>(n));
  for (auto i = lines.size() - n; i < lines.size(); ++i)
    *reply.add_lines() = lines[i];
  return reply;
}

/// One actor of the pool "chat.rooms": answers the three routes for the
/// rooms it holds.
caf::behavior room_behavior(room_actor* self) {
  return route_handlers{self}
    .on<pb::JoinRequest, pb::JoinReply>(
      "join",
      [self](const pb::JoinRequest& req, context&) { return join(self, req); })
    .on<pb::SayRequest, pb::SayReply>(
      "say",
      [self](const pb::SayRequest& req, context&) { return say(self, req); })
    .on<pb::HistoryRequest, pb::HistoryReply>(
      "history", [self](const pb::HistoryRequest& req,
                        context&) { return history(self, req); })
    .behavior();
}

} // namespace

blueprint chat_app() {
  route_options rooms;
  rooms.workers = room_actors;
  rooms.dispatch = dispatch_policy::by_key;
  rooms.key = "room";
  blueprint app{"chat"};
  app.actor_pool(
    "chat.rooms",
    [](caf::actor_system& sys) { return sys.spawn(room_behavior); }, rooms);
  app.route_to<pb::JoinRequest, pb::JoinReply>("join", "chat.rooms");
  app.route_to<pb::SayRequest, pb::SayReply>("say", "chat.rooms");
  app.route_to<pb::HistoryRequest, pb::HistoryReply>("history", "chat.rooms");
  return app;
}

} // namespace weft::examples
