#pragma once

#include "runtime/blueprint.hpp"

namespace weft::examples {

/// The key-value store example: routes kv.get, kv.put (with an optional
/// compare-and-set on the key's version) and kv.delete
/// (schemas/examples/kv.proto), served by the pool "kv.shards" of four
/// shard actors. Requests are dispatched by their `key` field, so each key
/// lives in exactly one shard, which applies its requests one at a time.
/// The data is in memory only. Build it in main (or a test) and hand it to
/// node::serve.
blueprint kv_app();

} // namespace weft::examples
