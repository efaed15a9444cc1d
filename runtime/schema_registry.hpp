#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include <absl/container/flat_hash_map.h>
#include <absl/status/statusor.h>
#include <absl/strings/string_view.h>

namespace google::protobuf {
class Descriptor;
class MessageFactory;
} // namespace google::protobuf

namespace weft {

/// The protobuf message types a node knows by name, and the conversion of
/// their bodies between JSON and protobuf binary with protobuf's own JSON
/// utilities (google/protobuf/util/json_util.h).
///
/// Only types of the generated pool (messages compiled into the program,
/// `T::descriptor()`) are held. JSON is written with protobuf's defaults:
/// lowerCamelCase field names (`json_name`, not the .proto names), fields
/// at their default value left out, enums by name, 64-bit integers and
/// bytes as strings. JSON input accepts both the lowerCamelCase and the
/// .proto names and rejects unknown fields.
///
/// Thread-safety: add() is for the owner while it wires the node up, before
/// the registry is shared; after that it is read-only and every const
/// method may be called from any thread at once. A plain object owned by
/// the node: no globals, no static registration.
class schema_registry {
public:
  /// The default limit of an input body: 16 MiB.
  static constexpr std::size_t default_max_bytes = 16 * 1024 * 1024;

  /// An empty registry whose conversions refuse inputs (JSON text or
  /// binary bytes) larger than `max_bytes`.
  explicit schema_registry(std::size_t max_bytes = default_max_bytes);

  /// Registers `d` and, recursively, every message type its fields
  /// reference (map values included; the synthetic map-entry types
  /// themselves are not registered). Registering a type twice is harmless.
  /// A null descriptor or one from another pool than the generated one is
  /// ignored: find() will not know it. Owner only, before sharing.
  void add(const google::protobuf::Descriptor* d);

  /// Registers `d` (and, recursively, the types its fields reference) from
  /// a pool of its own: the schemas a worker node announced, rebuilt on a
  /// gateway that was built without them (docs/architecture.md,
  /// "Distribution"). `factory` makes messages of that pool; `owner` keeps
  /// the pool and the factory alive as long as this registry. A type name
  /// registered already keeps its first descriptor. Owner only, before
  /// sharing.
  void add_dynamic(const google::protobuf::Descriptor* d,
                   google::protobuf::MessageFactory* factory,
                   std::shared_ptr<const void> owner);

  /// The registered type named `full_name` (e.g. "weft.wire.RouteInfo"), or
  /// nullptr when unknown. Points into the generated pool, which lives as
  /// long as the program. Any thread.
  const google::protobuf::Descriptor* find(absl::string_view full_name) const;

  /// The full names of every registered type, sorted. Any thread.
  std::vector<std::string> type_names() const;

  /// The largest input a conversion accepts, in bytes.
  std::size_t max_bytes() const noexcept {
    return max_bytes_;
  }

  /// Parses `json` as a `type` message and returns its binary encoding.
  /// Errors: not_found for an unregistered type; limit_exceeded (checked
  /// before parsing) for JSON over max_bytes(); invalid_argument, with
  /// protobuf's message, for malformed JSON or JSON that does not match the
  /// schema (unknown field, wrong value type). Any thread.
  absl::StatusOr<std::string> json_to_binary(absl::string_view type,
                                             absl::string_view json) const;

  /// Parses `bytes` as a binary `type` message and returns it as JSON (see
  /// the class comment for the format). Errors: not_found for an
  /// unregistered type; limit_exceeded for bytes over max_bytes();
  /// invalid_argument for bytes that are not a valid `type` message. Any
  /// thread.
  absl::StatusOr<std::string> binary_to_json(absl::string_view type,
                                             absl::string_view bytes) const;

private:
  std::size_t max_bytes_;
  struct entry {
    /// Non-owning: of the generated pool, which outlives us, or of a pool
    /// that `owners_` keeps alive.
    const google::protobuf::Descriptor* type = nullptr;
    /// Makes messages of `type` (the generated factory, or a dynamic one).
    google::protobuf::MessageFactory* factory = nullptr;
  };

  void add_with(const google::protobuf::Descriptor* d,
                google::protobuf::MessageFactory* factory);

  absl::flat_hash_map<std::string, entry> types_;
  /// shared_ptr: a rebuilt pool is shared by the router's tables (each has
  /// a registry) and the route specs that point into it.
  std::vector<std::shared_ptr<const void>> owners_;
};

} // namespace weft
