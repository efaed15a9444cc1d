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

TEST(CliArgsTest, UnknownCommandNamesTheFourCommands) {
  auto args = parse({"list"});
  EXPECT_THAT(args.status().message(),
              HasSubstr("expected call, ping, schemas or listen"));
}

TEST(CliArgsTest, ListenDefaultsToTextUntilInterrupted) {
  auto args = parse({"listen", "127.0.0.1:7700"});
  ASSERT_TRUE(args.ok()) << args.status();
  EXPECT_EQ(args->command, verb::listen);
  EXPECT_EQ(args->port, 7700);
  EXPECT_TRUE(args->topics.empty());
  EXPECT_EQ(args->client_id, "");
  EXPECT_FALSE(args->count);
  EXPECT_EQ(args->timeout, absl::ZeroDuration());
  EXPECT_EQ(args->format, output_format::text);
}

TEST(CliArgsTest, ListenTakesRepeatedTopicsAndEveryOption) {
  auto args = parse({"listen", "--topic", "news", "127.0.0.1:7700",
                     "--topic=sport", "--topic", "news", "--client-id", "L1",
                     "--count", "2", "--timeout", "1500", "--out-format",
                     "json"});
  ASSERT_TRUE(args.ok()) << args.status();
  EXPECT_EQ(args->topics, (std::vector<std::string>{"news", "sport"}))
    << "a repeated topic is followed once";
  EXPECT_EQ(args->client_id, "L1");
  EXPECT_EQ(args->count, 2u);
  EXPECT_EQ(args->timeout, absl::Milliseconds(1500));
  EXPECT_EQ(args->format, output_format::json);
}

TEST(CliArgsTest, ListenRejectsBadValuesAndForeignFlags) {
  auto format = parse({"listen", "127.0.0.1:7700", "--out-format", "xml"});
  EXPECT_EQ(code_of(format.status()), errc::invalid_argument);
  EXPECT_THAT(format.status().message(),
              HasSubstr("--out-format needs text or json, got 'xml'"));
  auto topic = parse({"listen", "127.0.0.1:7700", "--topic", ""});
  EXPECT_THAT(topic.status().message(), HasSubstr("--topic needs a TOPIC"));
  auto id = parse({"listen", "127.0.0.1:7700", "--client-id="});
  EXPECT_THAT(id.status().message(), HasSubstr("--client-id needs an ID"));
  auto count = parse({"listen", "127.0.0.1:7700", "--count", "0"});
  EXPECT_THAT(count.status().message(), HasSubstr("--count"));
  auto data = parse({"listen", "127.0.0.1:7700", "--data", "x"});
  EXPECT_THAT(data.status().message(),
              HasSubstr("unknown flag --data for weft listen"));
  auto missing = parse({"listen", "--topic", "t"});
  EXPECT_THAT(missing.status().message(),
              HasSubstr("missing HOST:PORT (usage: weft listen"));
  auto extra = parse({"listen", "127.0.0.1:7700", "news"});
  EXPECT_THAT(extra.status().message(), HasSubstr("unexpected argument 'news'"));
}

TEST(CliArgsTest, HelpForListenNamesTheLineFormats) {
  auto args = parse({"listen", "127.0.0.1:7700", "--help"});
  ASSERT_TRUE(args.ok()) << args.status();
  EXPECT_TRUE(args->help);
  EXPECT_EQ(args->command, verb::listen);
  EXPECT_THAT(usage_text(verb::listen), HasSubstr("ROUTE<TAB>BODY"));
  EXPECT_THAT(usage_text(verb::listen), HasSubstr("--out-format F"));
  EXPECT_THAT(usage_text(verb::none), HasSubstr("listen HOST:PORT"));
}

} // namespace
} // namespace weft::cli
