#include "runtime/cli/listen_command.hpp"

#include <string>

#include <gtest/gtest.h>

namespace weft::cli {
namespace {

using namespace std::string_literals;

TEST(ListenCommandTest, TextKeepsPrintableUtf8AndEscapesControlCharacters) {
  EXPECT_EQ(escape_text("plain text"), "plain text");
  EXPECT_EQ(escape_text("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x99\x82"),
            "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x99\x82");
  EXPECT_EQ(escape_text("a\nb\tc\rd"), "a\\nb\\tc\\rd");
  EXPECT_EQ(escape_text("back\\slash"), "back\\\\slash");
  EXPECT_EQ(escape_text("\x1b[2J\x7f"), "\\x1b[2J\\x7f");
  EXPECT_EQ(escape_text("nul\0!"s), "nul\\x00!");
}

TEST(ListenCommandTest, TextEscapesEveryByteThatIsNotValidUtf8) {
  EXPECT_EQ(escape_text("\xff\xfe"), "\\xff\\xfe");
  EXPECT_EQ(escape_text("\x80x"), "\\x80x") << "a stray continuation byte";
  EXPECT_EQ(escape_text("\xc3"), "\\xc3") << "a sequence cut short";
  EXPECT_EQ(escape_text("\xc0\xaf"), "\\xc0\\xaf") << "an overlong '/'";
  EXPECT_EQ(escape_text("\xed\xa0\x80"), "\\xed\\xa0\\x80") << "a surrogate";
  EXPECT_EQ(escape_text("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80")
    << "beyond U+10FFFF";
  EXPECT_EQ(escape_text("\xc2\x85"), "\\xc2\\x85") << "C1 control NEL";
}

TEST(ListenCommandTest, TextLineIsRouteTabBody) {
  EXPECT_EQ(format_push_line(output_format::text, "chat.said", "text/plain",
                             "hi\nthere"),
            "chat.said\thi\\nthere\n");
  EXPECT_EQ(format_push_line(output_format::text, "a\tb", "", ""), "a\\tb\t\n")
    << "a tab in the route cannot split the columns";
}

TEST(ListenCommandTest, JsonStringEscapesPerJson) {
  EXPECT_EQ(json_string("say \"hi\"\\"), R"("say \"hi\"\\")");
  EXPECT_EQ(json_string("\b\f\n\r\t\x01\x1f\x7f"),
            R"("\b\f\n\r\t\u0001\u001f\u007f")");
  EXPECT_EQ(json_string("caf\xc3\xa9"), "\"caf\xc3\xa9\"");
  EXPECT_EQ(json_string("\xe2\x80\xa8"), R"("\u2028")");
  EXPECT_EQ(json_string("\xc2\x9b"), R"("\u009b")");
  bool lossless = false;
  EXPECT_EQ(json_string("ok", &lossless), R"("ok")");
  EXPECT_TRUE(lossless);
  EXPECT_EQ(json_string("a\xff"
                        "b",
                        &lossless),
            R"("a\ufffdb")");
  EXPECT_FALSE(lossless);
}

TEST(ListenCommandTest, JsonLineHasRouteContentTypeAndBody) {
  EXPECT_EQ(format_push_line(output_format::json, "news", "application/json",
                             R"({"k":1})"),
            R"({"route":"news","content_type":"application/json",)"
            R"("body":"{\"k\":1}"})"
            "\n");
}

TEST(ListenCommandTest, JsonLineAddsBase64WhenTheBodyIsNotUtf8) {
  EXPECT_EQ(format_push_line(output_format::json, "bin",
                             "application/octet-stream", "\x00\xff"s),
            R"({"route":"bin","content_type":"application/octet-stream",)"
            R"("body":"\u0000\ufffd","body_base64":"AP8="})"
            "\n");
}

} // namespace
} // namespace weft::cli
