#pragma once

// Every message type and atom that crosses weft's actors is declared here,
// once, so the whole message vocabulary can be audited in one place. The node
// registers the block with `cfg.add_message_types<caf::id_block::weft>()`.

#include <caf/atom.hpp>
#include <caf/type_id.hpp>

#include "runtime/drain_report.hpp"

CAF_BEGIN_TYPE_ID_BLOCK(weft, caf::first_custom_type_id)

/// (drain_atom, timespan budget) -> ok_atom: finish in-flight work in time.
CAF_ADD_ATOM(weft, weft, drain_atom, "drain")
/// (join_drain_atom, actor): the actor takes part in the node's drain.
CAF_ADD_ATOM(weft, weft, join_drain_atom, "joindrain")
/// A positive acknowledgement without a payload.
CAF_ADD_ATOM(weft, weft, ok_atom, "ok")

CAF_ADD_TYPE_ID(weft, (weft::drain_report))

CAF_END_TYPE_ID_BLOCK(weft)
