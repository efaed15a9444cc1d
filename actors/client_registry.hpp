#pragma once

#include <cstddef>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "runtime/logger.hpp"

namespace weft {

/// The built-in routes the registry answers (schemas/weft/registry.proto).
inline constexpr const char* hello_route = "weft.hello";
inline constexpr const char* subscribe_route = "weft.subscribe";
inline constexpr const char* unsubscribe_route = "weft.unsubscribe";

/// Limits of the client registry.
struct client_registry_options {
  /// Longest client id or topic name, in bytes.
  std::size_t max_name = 256;
  /// Topics one client may follow at once.
  std::size_t max_topics_per_client = 1024;
};

/// Spawns a node's client registry: which connection actor serves which
/// client id, and which clients follow which topic. It answers
///   (client_atom, std::string id, actor connection): a connection opened
///     (watched: it leaves when the connection ends);
///   (request_atom, request) -> response for the routes weft.hello (claim
///     an id: already_exists if another connection has it),
///     weft.subscribe and weft.unsubscribe (a TopicRequest), sent by a
///     connection on behalf of its client;
///   (push_atom, std::string client_id, push_message) -> ok_atom
///     (not_found for an unknown client);
///   (broadcast_atom, push_message) -> uint64_t clients reached;
///   (publish_atom, std::string topic, push_message) -> uint64_t reached;
///   (join_topic_atom | leave_topic_atom, std::string client_id,
///     std::string topic) -> uint32_t subscribers afterwards.
/// Each push goes to the connection as (push_atom, push_message); a
/// connection whose client does not read enough is closed by its own actor
/// (slow consumer), which never slows the registry or other clients.
caf::actor spawn_client_registry(caf::actor_system& sys, logger log,
                                 client_registry_options opts = {});

} // namespace weft
