#pragma once

#include <cstdint>
#include <string>

#include <absl/types/span.h>

#include "weft/wire.pb.h"

namespace weft::protocol {

/// Makes `h` as if default-constructed, like h.Clear(), for a fraction of
/// its cost when only the usual fields are set: Clear() visits every field,
/// the metadata map included, and was three of an echo's costliest calls.
/// `h` holds no unknown fields (decode_header never leaves any).
void reset_header(weft::wire::MessageHeader& h);

/// Parses a MessageHeader's wire bytes into `out` exactly as protobuf's
/// ParseFromArray would (same result, same failures): by hand for the
/// fields a message usually carries, through protobuf when the bytes hold
/// anything else (metadata, status, unknown fields, non-ASCII strings).
/// Unknown fields are dropped: weft neither reads nor forwards them.
/// The hand path skips protobuf's parse set-up, which was most of the
/// cost of a small message's header.
bool decode_header(absl::Span<const std::uint8_t> bytes,
                   weft::wire::MessageHeader& out);

/// Appends `header`'s wire bytes to `out`, byte for byte what protobuf's
/// serialization gives (fields in number order, defaults left out); by
/// hand unless the header has metadata or a status. Unknown fields (from
/// a parsed header) are not written: weft never forwards a received one.
void encode_header(const weft::wire::MessageHeader& header, std::string& out);

/// The same with `id` and `total_size` in place of the header's own: the
/// session's numbering and the body's size, without a copy of the header.
void encode_header(const weft::wire::MessageHeader& header, std::uint32_t id,
                   std::uint64_t total_size, std::string& out);

/// Appends the wire bytes of the header {id, kind REPLY, reply_to,
/// content_type, schema, total_size}: byte for byte what encode_header
/// gives for that header, without building it.
void encode_reply_header(std::uint32_t id, std::uint32_t reply_to,
                         const std::string& content_type,
                         const std::string& schema, std::uint64_t total_size,
                         std::string& out);

} // namespace weft::protocol
