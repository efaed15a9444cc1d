#include "actors/client_registry.hpp"

#include <string>
#include <utility>

#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>
#include <absl/strings/ascii.h>
#include <absl/strings/str_cat.h>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "runtime/body_codec.hpp"
#include "runtime/error_bridge.hpp"
#include "runtime/type_ids.hpp"
#include "weft/registry.pb.h"

namespace weft {

namespace {

struct client_entry {
  caf::actor connection;
  absl::flat_hash_set<std::string> topics;
};

struct registry_state {
  logger log;
  client_registry_options opts;
  absl::flat_hash_map<std::string, client_entry> clients;
  absl::flat_hash_map<caf::actor_addr, std::string> ids;
  absl::flat_hash_map<std::string, absl::flat_hash_set<std::string>> topics;

  static inline const char* name = "weft.client_registry";
};

using registry_self = caf::stateful_actor<registry_state>*;

/// Client ids and topic names: printable, no spaces, bounded.
absl::Status check_name(const registry_state& st, absl::string_view what,
                        absl::string_view name) {
  if (name.empty() || name.size() > st.opts.max_name)
    return make_status(errc::invalid_argument,
                       absl::StrCat(what, " must be 1..", st.opts.max_name,
                                    " bytes"));
  for (char c : name)
    if (!absl::ascii_isgraph(static_cast<unsigned char>(c)))
      return make_status(errc::invalid_argument,
                         absl::StrCat(what, " must be printable ASCII "
                                            "without spaces"));
  return absl::OkStatus();
}

void leave_all(registry_state& st, const std::string& id) {
  auto found = st.clients.find(id);
  if (found == st.clients.end())
    return;
  for (const auto& topic : found->second.topics) {
    auto t = st.topics.find(topic);
    if (t == st.topics.end())
      continue;
    t->second.erase(id);
    if (t->second.empty())
      st.topics.erase(t);
  }
  found->second.topics.clear();
}

absl::StatusOr<std::uint32_t> join(registry_state& st, const std::string& id,
                                   const std::string& topic) {
  if (auto ok = check_name(st, "a topic", topic); !ok.ok())
    return ok;
  auto found = st.clients.find(id);
  if (found == st.clients.end())
    return make_status(errc::not_found, absl::StrCat("no client '", id, "'"));
  auto& mine = found->second.topics;
  if (!mine.contains(topic) && mine.size() >= st.opts.max_topics_per_client)
    return make_status(errc::limit_exceeded,
                       absl::StrCat("a client follows at most ",
                                    st.opts.max_topics_per_client, " topics"));
  mine.insert(topic);
  auto& subs = st.topics[topic];
  subs.insert(id);
  return static_cast<std::uint32_t>(subs.size());
}

absl::StatusOr<std::uint32_t> leave(registry_state& st, const std::string& id,
                                    const std::string& topic) {
  auto found = st.clients.find(id);
  if (found == st.clients.end())
    return make_status(errc::not_found, absl::StrCat("no client '", id, "'"));
  found->second.topics.erase(topic);
  auto t = st.topics.find(topic);
  if (t == st.topics.end())
    return 0u;
  t->second.erase(id);
  auto left = static_cast<std::uint32_t>(t->second.size());
  if (left == 0)
    st.topics.erase(t);
  return left;
}

/// The client id of the connection that sent the current message.
absl::StatusOr<std::string> sender_id(registry_self self) {
  auto& st = self->state;
  auto found = st.ids.find(caf::actor_cast<caf::actor_addr>(self->current_sender()));
  if (found == st.ids.end())
    return make_status(errc::unavailable,
                       "this route is for clients of a connection");
  return found->second;
}

/// Ids of the form c<digits> are the node's own (one per connection).
bool assigned_form(absl::string_view id) {
  if (id.size() < 2 || id[0] != 'c')
    return false;
  for (char c : id.substr(1))
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c)))
      return false;
  return true;
}

absl::StatusOr<response> hello(registry_self self, const request& req) {
  auto& st = self->state;
  auto msg = body_codec<weft::wire::ClientHello>::decode(req.body);
  if (!msg.ok())
    return msg.status();
  const auto& wanted = msg->client_id();
  if (auto ok = check_name(st, "a client id", wanted); !ok.ok())
    return ok;
  auto current = sender_id(self);
  if (!current.ok())
    return current.status();
  weft::wire::ClientWelcome welcome;
  welcome.set_client_id(wanted);
  if (*current == wanted)
    return encode_message(welcome);
  // A claimed c<N> would collide with the id connection N gets.
  if (assigned_form(wanted))
    return make_status(errc::invalid_argument,
                       absl::StrCat("client ids of the form c<number> are "
                                    "assigned by the node; '", wanted,
                                    "' cannot be claimed"));
  if (st.clients.contains(wanted))
    return make_status(errc::already_exists,
                       absl::StrCat("client id '", wanted, "' is taken"));
  // Re-key the connection; its topics follow it.
  auto node = st.clients.extract(*current);
  auto entry = std::move(node.mapped());
  for (const auto& topic : entry.topics) {
    auto& subs = st.topics[topic];
    subs.erase(*current);
    subs.insert(wanted);
  }
  st.ids[entry.connection.address()] = wanted;
  // Sent before the reply: the connection learns its id first.
  self->send(entry.connection, client_atom_v, wanted);
  st.clients.emplace(wanted, std::move(entry));
  return encode_message(welcome);
}

absl::StatusOr<response> topic_route(registry_self self, const request& req,
                                     bool subscribe) {
  auto& st = self->state;
  auto msg = body_codec<weft::wire::TopicRequest>::decode(req.body);
  if (!msg.ok())
    return msg.status();
  auto id = sender_id(self);
  if (!id.ok())
    return id.status();
  auto count = subscribe ? join(st, *id, msg->topic())
                         : leave(st, *id, msg->topic());
  if (!count.ok())
    return count.status();
  weft::wire::TopicReply reply;
  reply.set_subscribers(*count);
  return encode_message(reply);
}

caf::behavior client_registry(registry_self self, logger log,
                              client_registry_options opts) {
  self->state.log = std::move(log);
  self->state.opts = opts;
  self->set_down_handler([self](const caf::down_msg& msg) {
    auto& st = self->state;
    auto found = st.ids.find(msg.source);
    if (found == st.ids.end())
      return;
    auto id = found->second;
    st.ids.erase(found);
    leave_all(st, id);
    st.clients.erase(id);
  });
  return {
    [self](client_atom, const std::string& id, const caf::actor& conn) {
      auto& st = self->state;
      if (!conn)
        return;
      self->monitor(conn);
      st.ids[conn.address()] = id;
      st.clients[id] = client_entry{conn, {}};
    },
    [self](request_atom, const request& req) -> caf::result<response> {
      absl::StatusOr<response> result;
      if (req.route == hello_route)
        result = hello(self, req);
      else if (req.route == subscribe_route)
        result = topic_route(self, req, true);
      else if (req.route == unsubscribe_route)
        result = topic_route(self, req, false);
      else
        result = make_status(errc::not_found,
                             absl::StrCat("the registry does not answer '",
                                          req.route, "'"));
      if (!result.ok())
        return to_error(result.status());
      return std::move(*result);
    },
    [self](push_atom, const std::string& id,
           push_message& msg) -> caf::result<ok_atom> {
      auto found = self->state.clients.find(id);
      if (found == self->state.clients.end())
        return make_weft_error(errc::not_found,
                               absl::StrCat("no client '", id, "'"));
      self->send(found->second.connection, push_atom_v, std::move(msg));
      return ok_atom_v;
    },
    [self](broadcast_atom, const push_message& msg) -> std::uint64_t {
      // Bodies are shared, not copied: each connection gets a view.
      for (const auto& [id, entry] : self->state.clients)
        self->send(entry.connection, push_atom_v, msg);
      return self->state.clients.size();
    },
    [self](publish_atom, const std::string& topic,
           const push_message& msg) -> std::uint64_t {
      auto& st = self->state;
      auto t = st.topics.find(topic);
      if (t == st.topics.end())
        return 0;
      std::uint64_t reached = 0;
      for (const auto& id : t->second) {
        auto c = st.clients.find(id);
        if (c == st.clients.end())
          continue;
        self->send(c->second.connection, push_atom_v, msg);
        ++reached;
      }
      return reached;
    },
    [self](join_topic_atom, const std::string& id,
           const std::string& topic) -> caf::result<std::uint32_t> {
      auto n = join(self->state, id, topic);
      if (!n.ok())
        return to_error(n.status());
      return *n;
    },
    [self](leave_topic_atom, const std::string& id,
           const std::string& topic) -> caf::result<std::uint32_t> {
      auto n = leave(self->state, id, topic);
      if (!n.ok())
        return to_error(n.status());
      return *n;
    },
  };
}

} // namespace

caf::actor spawn_client_registry(caf::actor_system& sys, logger log,
                                 client_registry_options opts) {
  return sys.spawn(client_registry, std::move(log), opts);
}

} // namespace weft
