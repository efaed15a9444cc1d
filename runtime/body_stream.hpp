#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include <absl/status/status.h>
#include <absl/status/statusor.h>
#include <absl/types/span.h>
#include <caf/fwd.hpp>

#include "runtime/request.hpp"

namespace weft {

/// Takes one request's body piece by piece, in order, for a streaming route
/// (blueprint::stream_route): a large upload is used as it arrives instead
/// of being held in memory or spilled to a file first.
class body_consumer {
public:
  virtual ~body_consumer() = default;

  /// The next bytes of the body. They are not checked yet: only finish()
  /// says the body arrived whole with its checksum. An error ends the
  /// request with it at once (the client gets it, the rest is not read).
  virtual absl::Status write(absl::Span<const std::uint8_t> bytes) = 0;

  /// The whole body arrived and was checked: the answer. A consumer
  /// destroyed without finish() was aborted (the client cancelled, a
  /// deadline passed, the checksum did not match, the connection was lost):
  /// its destructor undoes what write() did.
  virtual absl::StatusOr<response> finish() = 0;
};

/// Makes the consumer of one request: `head` is the request without its
/// body, `total` the body's size in bytes. An error answers the request.
using body_consumer_factory
  = std::function<absl::StatusOr<std::unique_ptr<body_consumer>>(
    const request& head, std::uint64_t total)>;

/// Spawns a handler actor that feeds request bodies to consumers made by
/// `make`: streamed ones (route_options::stream_body) piece by piece as
/// the connection receives them, acknowledging each so the sender may send
/// more; whole ones (request_atom, request_batch) from memory, or from a
/// spill file 1 MiB per step, with the actor's other messages between.
caf::actor spawn_body_stream_handler(caf::actor_system& sys,
                                     body_consumer_factory make);

} // namespace weft
