#include "runtime/cli/cli_args.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "runtime/error_bridge.hpp"

namespace weft::cli {
namespace {

using ::testing::HasSubstr;

absl::StatusOr<cli_args> parse(std::vector<std::string> args) {
  return cli_args::parse(args);
}

TEST(CliArgsTest, JsonIsTheBodyAndLeavesTheContentTypeUnset) {
  auto args = parse({"call", "127.0.0.1:7700", "chat.say", "--json",
                     R"({"text":"hi"})"});
  ASSERT_TRUE(args.ok()) << args.status();
  EXPECT_EQ(args->command, verb::call);
  EXPECT_EQ(args->route, "chat.say");
  EXPECT_EQ(args->json, R"({"text":"hi"})");
  EXPECT_FALSE(args->data);
  EXPECT_FALSE(args->content_type);
}

TEST(CliArgsTest, JsonExcludesDataFileAndContentType) {
  auto with_data = parse({"call", "127.0.0.1:7700", "r", "--json", "{}",
                          "--data", "x"});
  EXPECT_EQ(code_of(with_data.status()), errc::invalid_argument);
  EXPECT_THAT(with_data.status().message(), HasSubstr("--json and --data"));
  auto with_file = parse({"call", "127.0.0.1:7700", "r", "--file",
                          "/etc/hostname", "--json={}"});
  EXPECT_THAT(with_file.status().message(), HasSubstr("--json and --file"));
  auto with_type = parse({"call", "127.0.0.1:7700", "r", "--json", "{}",
                          "--content-type", "text/plain"});
  EXPECT_THAT(with_type.status().message(), HasSubstr("--content-type"));
}

TEST(CliArgsTest, ContentTypeIsKeptWhenGiven) {
  auto args = parse({"call", "127.0.0.1:7700", "r", "--content-type",
                     "text/plain", "--data", "x"});
  ASSERT_TRUE(args.ok()) << args.status();
  EXPECT_EQ(args->content_type, "text/plain");
}

TEST(CliArgsTest, SchemasTakesAnAddressAndATimeout) {
  auto args = parse({"schemas", "[::1]:7700", "--timeout", "250"});
  ASSERT_TRUE(args.ok()) << args.status();
  EXPECT_EQ(args->command, verb::schemas);
  EXPECT_EQ(args->host, "::1");
  EXPECT_EQ(args->port, 7700);
  EXPECT_EQ(args->timeout, absl::Milliseconds(250));
}

TEST(CliArgsTest, SchemasRejectsCallFlagsAndExtraArguments) {
  auto missing = parse({"schemas"});
  EXPECT_THAT(missing.status().message(),
              HasSubstr("missing HOST:PORT (usage: weft schemas"));
  auto extra = parse({"schemas", "127.0.0.1:7700", "echo"});
  EXPECT_THAT(extra.status().message(), HasSubstr("unexpected argument 'echo'"));
  auto json = parse({"schemas", "127.0.0.1:7700", "--json", "{}"});
  EXPECT_THAT(json.status().message(), HasSubstr("unknown flag --json"));
  auto zero = parse({"schemas", "127.0.0.1:7700", "--timeout", "0"});
  EXPECT_THAT(zero.status().message(), HasSubstr("--timeout"));
}

TEST(CliArgsTest, HelpForSchemasNamesTheLineFormat) {
  auto args = parse({"schemas", "--help"});
  ASSERT_TRUE(args.ok()) << args.status();
  EXPECT_TRUE(args->help);
  EXPECT_THAT(usage_text(verb::schemas),
              HasSubstr("ROUTE  REQUEST_TYPE -> REPLY_TYPE"));
  EXPECT_THAT(usage_text(verb::none), HasSubstr("schemas HOST:PORT"));
  EXPECT_THAT(usage_text(verb::call), HasSubstr("--json TEXT"));
}

TEST(CliArgsTest, UnknownCommandNamesTheThreeCommands) {
  auto args = parse({"list"});
  EXPECT_THAT(args.status().message(),
              HasSubstr("expected call, ping or schemas"));
}

} // namespace
} // namespace weft::cli
