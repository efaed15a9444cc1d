#include "gateways/http/route_index.hpp"
#include "gateways/http/route_index_cache.hpp"

#include <memory>
#include <string>

#include <gtest/gtest.h>

namespace {

using weft::http::route_index;

/// A table with HTTP routes (no handler actors: the index needs none).
std::shared_ptr<const weft::route_table>
table_of(std::initializer_list<std::pair<const char*, const char*>> routes) {
  auto table = std::make_shared<weft::route_table>();
  for (const auto& [method, path] : routes) {
    auto spec = std::make_shared<weft::route_spec>();
    spec->name = std::string{method} + " " + path;
    spec->http_method = method;
    spec->http_path = path;
    auto binding = std::make_shared<weft::route_binding>();
    binding->name = spec->name;
    binding->spec = spec;
    table->routes.emplace(binding->name, binding);
  }
  return table;
}

TEST(RouteIndexTest, PrefersLiteralsThenTypedThenPlainThenWildcards) {
  route_index index{table_of({{"GET", "/u/{*rest}"},
                              {"GET", "/u/{name}"},
                              {"GET", "/u/{id:int}"},
                              {"GET", "/u/me"}})};
  EXPECT_EQ(index.find("GET", "/u/me").route->name, "GET /u/me");
  EXPECT_EQ(index.find("GET", "/u/42").route->name, "GET /u/{id:int}");
  EXPECT_EQ(index.find("GET", "/u/ada").route->name, "GET /u/{name}");
  EXPECT_EQ(index.find("GET", "/u/a/b").route->name, "GET /u/{*rest}");
}

TEST(RouteIndexTest, LiteralPathsMatchAsThePatternsWould) {
  route_index index{table_of({{"GET", "/a/b/{*rest}"},
                              {"GET", "/a/b"},
                              {"POST", "/a/b"},
                              {"GET", "/a/{x}"}})};
  EXPECT_EQ(index.find("GET", "/a/b").route->name, "GET /a/b");
  EXPECT_EQ(index.find("HEAD", "/a/b").route->name, "GET /a/b");
  EXPECT_EQ(index.find("POST", "/a/b").route->name, "POST /a/b");
  // Encoded, the same path reaches the same route through the patterns.
  EXPECT_EQ(index.find("GET", "/a/%62").route->name, "GET /a/b");
  auto put = index.find("PUT", "/a/b");
  EXPECT_EQ(put.route, nullptr);
  EXPECT_EQ(put.allow, "GET, HEAD, OPTIONS, POST");
  EXPECT_EQ(index.find("GET", "/a/c").route->name, "GET /a/{x}");
}

TEST(RouteIndexTest, HeadFindsGetAndOtherMethodsListAllow) {
  route_index index{table_of({{"GET", "/items/{id:int}"},
                              {"DELETE", "/items/{id:int}"},
                              {"POST", "/items"}})};
  auto head = index.find("HEAD", "/items/3");
  ASSERT_NE(head.route, nullptr);
  EXPECT_EQ(head.params.front().second, "3");
  auto put = index.find("PUT", "/items/3");
  EXPECT_EQ(put.route, nullptr);
  EXPECT_EQ(put.allow, "DELETE, GET, HEAD, OPTIONS");
  auto missing = index.find("GET", "/nothing");
  EXPECT_EQ(missing.route, nullptr);
  EXPECT_TRUE(missing.allow.empty());
}

TEST(RouteIndexTest, CacheBuildsOncePerTableAndKeepsTheNewest) {
  weft::http::route_index_cache cache;
  auto older = table_of({{"GET", "/a"}});
  auto newer = std::make_shared<weft::route_table>(*table_of({{"GET", "/b"}}));
  newer->version = 2;
  auto first = cache.get(older);
  EXPECT_EQ(cache.get(older), first);
  auto second = cache.get(newer);
  EXPECT_NE(second, first);
  EXPECT_EQ(cache.get(newer), second);
  EXPECT_NE(cache.get(older), second); // an older table gets its own
  EXPECT_EQ(cache.get(newer), second);
}

} // namespace
