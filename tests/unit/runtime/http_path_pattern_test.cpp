#include "runtime/http_path_pattern.hpp"

#include <gtest/gtest.h>

namespace {

using weft::http_path_pattern;
using params = std::vector<http_path_pattern::param>;

params match(const char* pattern, const char* path, bool& ok) {
  auto p = http_path_pattern::parse(pattern);
  EXPECT_TRUE(p.ok()) << p.status();
  params out;
  ok = p.ok() && p->match(path, out);
  return out;
}

TEST(HttpPathPatternTest, MatchesLiteralsParametersAndWildcards) {
  bool ok = false;
  EXPECT_EQ(match("/users/{id}", "/users/ada%20l", ok),
            (params{{"id", "ada l"}}));
  EXPECT_TRUE(ok);
  EXPECT_EQ(match("/users/{id:int}/posts/{post}", "/users/-7/posts/x", ok),
            (params{{"id", "-7"}, {"post", "x"}}));
  EXPECT_TRUE(ok);
  EXPECT_EQ(match("/files/{*path}", "/files/a/b/c.txt", ok),
            (params{{"path", "a/b/c.txt"}}));
  EXPECT_TRUE(ok);
  EXPECT_EQ(match("/files/{*path}", "/files", ok), (params{{"path", ""}}));
  EXPECT_TRUE(ok);
  match("/", "/", ok);
  EXPECT_TRUE(ok);
}

TEST(HttpPathPatternTest, RejectsPathsThatDoNotFit) {
  bool ok = true;
  match("/users/{id:int}", "/users/abc", ok);
  EXPECT_FALSE(ok);
  match("/users/{id}", "/users/", ok);
  EXPECT_FALSE(ok);
  match("/users/{id}", "/users/1/more", ok);
  EXPECT_FALSE(ok);
  match("/users", "/users/", ok);
  EXPECT_FALSE(ok);
  match("/users/{id}", "/users/%zz", ok);
  EXPECT_FALSE(ok);
  match("/", "/x", ok);
  EXPECT_FALSE(ok);
}

TEST(HttpPathPatternTest, RefusesMalformedPatterns) {
  for (const char* bad : {"users", "/a/{id", "/a/x{id}", "/{*rest}/more",
                          "/{id:float}", "/{1id}", "/{a}/{a}", "/%zz"})
    EXPECT_FALSE(http_path_pattern::parse(bad).ok()) << bad;
}

TEST(HttpPathPatternTest, LiteralsAreMoreSpecificThanParameters) {
  auto literal = http_path_pattern::parse("/users/me");
  auto param = http_path_pattern::parse("/users/{id}");
  auto typed = http_path_pattern::parse("/users/{id:int}");
  auto tail = http_path_pattern::parse("/users/{*rest}");
  EXPECT_GT(literal->specificity(), typed->specificity());
  EXPECT_GT(typed->specificity(), param->specificity());
  EXPECT_GT(param->specificity(), tail->specificity());
}

} // namespace
