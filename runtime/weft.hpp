#pragma once

// The one header an application includes: the node and its life
// (run_node), blueprints with every handler form, middleware and error
// handlers, the request context, pool options, and the client of the
// binary protocol. docs/guide.md walks through it.

#include "runtime/blueprint.hpp"
#include "runtime/body_codec.hpp"
#include "runtime/client/client.hpp"
#include "runtime/context.hpp"
#include "runtime/errc.hpp"
#include "runtime/error_bridge.hpp"
#include "runtime/middleware.hpp"
#include "runtime/node.hpp"
#include "runtime/reply_to.hpp"
#include "runtime/route_handlers.hpp"
#include "runtime/route_options.hpp"
#include "runtime/run_node.hpp"
