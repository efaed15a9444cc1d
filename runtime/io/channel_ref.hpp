#pragma once

#include <cstdint>
#include <memory>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/meta/type_name.hpp>

namespace weft::io {

class channel;

/// Carries a channel to the listener's owner in
/// `(io_accepted_atom, channel_ref)`. A process-local handle: it cannot be
/// serialized (a remote node gets an empty ref), and prints as its id.
struct channel_ref {
  /// shared_ptr: the channel is shared by its reactor and its owner actor.
  std::shared_ptr<channel> ptr;
  /// ptr->id(), kept here so that printing needs no complete channel type.
  std::uint64_t id = 0;
};

/// Prints the id only; see channel_ref.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, channel_ref& x) {
  return f(caf::meta::type_name("channel_ref"), x.id);
}

} // namespace weft::io

// The shared_ptr never leaves the process; CAF skips it when serializing.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(weft::io::channel_ref)
