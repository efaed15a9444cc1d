#include "runtime/cli/schemas_command.hpp"

#include <gtest/gtest.h>

namespace weft::cli {
namespace {

using weft::wire::RouteInfo;
using weft::wire::RouteListing;

RouteInfo route(std::string name, std::string request, std::string reply,
                std::string form, std::uint32_t workers = 0,
                std::string dispatch = {}) {
  RouteInfo info;
  info.set_route(std::move(name));
  info.set_request_type(std::move(request));
  info.set_reply_type(std::move(reply));
  info.set_form(std::move(form));
  info.set_workers(workers);
  info.set_dispatch(std::move(dispatch));
  return info;
}

TEST(SchemasCommandTest, ColumnsAreAlignedAndDetailsListed) {
  RouteListing listing;
  *listing.add_routes() = route("chat.say", "chat.SayRequest", "chat.Said",
                                "pool", 4, "by_key:room");
  *listing.add_routes() = route("echo", "bytes", "bytes", "function");
  *listing.add_routes() = route("kv.get", "json", "json", "pool", 1,
                                "round_robin");
  EXPECT_EQ(format_route_listing(listing),
            "chat.say  chat.SayRequest -> chat.Said  (pool, 4 workers, "
            "by_key:room)\n"
            "echo      bytes           -> bytes      (function)\n"
            "kv.get    json            -> json       (pool, 1 worker, "
            "round_robin)\n");
}

TEST(SchemasCommandTest, RouteWithoutDetailsHasNoParentheses) {
  RouteListing listing;
  *listing.add_routes() = route("a", "bytes", "bytes", "");
  EXPECT_EQ(format_route_listing(listing), "a  bytes -> bytes\n");
}

TEST(SchemasCommandTest, EmptyListingPrintsNothing) {
  EXPECT_EQ(format_route_listing(RouteListing{}), "");
}

TEST(SchemasCommandTest, ControlCharactersFromTheNodeAreMasked) {
  RouteListing listing;
  *listing.add_routes() = route("a\x1b[2Jb", "x\ny", "bytes", "async");
  EXPECT_EQ(format_route_listing(listing),
            "a?[2Jb  x?y -> bytes  (async)\n");
}

} // namespace
} // namespace weft::cli
