// Runs the real `weft` tool against a real `weftd` on a free loopback port:
// bodies, files, --out, errors and their exit codes, ping; `weft listen`
// against a node in this process, which the test makes push; and its usage
// errors, which need no node.

#include <arpa/inet.h>
#include <cstdlib>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <netinet/in.h>
#include <random>
#include <sys/socket.h>
#include <unistd.h>

#include <absl/strings/numbers.h>
#include <absl/strings/str_format.h>
#include <absl/strings/str_split.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "runtime/protocol/checksum.hpp"
#include "runtime/weft.hpp"
#include "tests/integration/process.hpp"

namespace weft {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using weft::testing::bin_path;
using weft::testing::child_options;
using weft::testing::child_process;

/// What one run of `weft` produced.
struct run_result {
  int code = -1;
  std::string out;
  std::string err;
};

/// Runs `weft args...` to completion with `stdin_data` as its stdin.
run_result run_weft(const std::vector<std::string>& args,
                    std::string stdin_data = {}) {
  child_options opts;
  opts.stdin_data = std::move(stdin_data);
  child_process weft{bin_path("weft"), args, std::move(opts)};
  run_result result;
  if (!weft.started())
    return result;
  auto code = weft.wait_exit(60s);
  result.code = code.value_or(-1);
  result.out = weft.stdout_output();
  result.err = weft.output();
  return result;
}

std::string read_whole(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

std::string random_bytes(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 gen{seed};
  std::string bytes(n, '\0');
  for (std::size_t i = 0; i < n; i += 8) {
    auto word = gen();
    for (std::size_t j = 0; j < 8 && i + j < n; ++j)
      bytes[i + j] = static_cast<char>((word >> (8 * j)) & 0xff);
  }
  return bytes;
}

/// The JSON the `sink` route answers for `body`.
std::string sink_json(const std::string& body) {
  auto sum = protocol::checksum::of(
    {}, {reinterpret_cast<const std::uint8_t*>(body.data()), body.size()});
  return absl::StrFormat(R"({"size":%d,"crc64":"%016x"})", body.size(), sum);
}

/// A loopback port with nothing listening: bound (so nobody else takes it
/// while the test runs) but never listened on, so connecting is refused.
class dead_port {
public:
  dead_port() : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof(addr);
    auto* sa = reinterpret_cast<sockaddr*>(&addr);
    if (fd_ >= 0 && ::bind(fd_, sa, len) == 0
        && ::getsockname(fd_, sa, &len) == 0)
      port_ = ntohs(addr.sin_port);
  }
  ~dead_port() {
    if (fd_ >= 0)
      ::close(fd_);
  }
  dead_port(const dead_port&) = delete;
  dead_port& operator=(const dead_port&) = delete;

  std::uint16_t port() const {
    return port_;
  }

private:
  int fd_;
  std::uint16_t port_ = 0;
};

/// Each test gets its own weftd on a free port and a scratch directory.
class WeftCliTest : public ::testing::Test {
protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "weft_cli_XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    weftd_ = std::make_unique<child_process>(
      bin_path("weftd"),
      std::vector<std::string>{"--tcp-listen", "127.0.0.1:0", "--http-listen",
                               "127.0.0.1:0"});
    ASSERT_TRUE(weftd_->started());
    auto line = weftd_->wait_for_line("event=binary.listening", 10s);
    ASSERT_TRUE(line) << weftd_->output();
    auto at = line->find("address=127.0.0.1:");
    ASSERT_NE(at, std::string::npos) << *line;
    auto rest = line->substr(at + std::string{"address=127.0.0.1:"}.size());
    std::string port_text = rest.substr(0, rest.find(' '));
    std::uint32_t port = 0;
    ASSERT_TRUE(absl::SimpleAtoi(port_text, &port)) << *line;
    ASSERT_GT(port, 0u);
    address_ = "127.0.0.1:" + port_text;
  }

  void TearDown() override {
    weftd_.reset();
    std::error_code ignored;
    if (!dir_.empty())
      std::filesystem::remove_all(dir_, ignored);
  }

  std::string write_file(const std::string& name, const std::string& bytes) {
    auto path = dir_ + "/" + name;
    std::ofstream{path, std::ios::binary} << bytes;
    return path;
  }

  std::string dir_;
  std::string address_;
  std::unique_ptr<child_process> weftd_;
};

TEST_F(WeftCliTest, EchoWithDataPrintsTheBodyAndExitsZero) {
  auto r = run_weft({"call", address_, "echo", "--data", "hi"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "hi");
  EXPECT_THAT(r.err, IsEmpty());
}

TEST_F(WeftCliTest, BodyComesFromStdinWithoutDataOrFile) {
  auto r = run_weft({"call", address_, "echo", "--priority", "0", "--meta",
                     "trace=abc", "--content-type", "text/plain"},
                    "from stdin\n");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "from stdin\n");
}

TEST_F(WeftCliTest, FileThroughSinkMatchesSizeAndChecksum) {
  auto body = random_bytes(5 * 1024 * 1024, 1);
  auto path = write_file("five.bin", body);
  auto r = run_weft({"call", address_, "sink", "--file", path});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, sink_json(body));
  EXPECT_THAT(r.err, IsEmpty()) << "no progress bar without a terminal";
}

TEST_F(WeftCliTest, OutWritesTheExactBytesOfALargeEcho) {
  // 20 MiB is above the client's 8 MiB spill threshold: the reply arrives
  // in a temporary file and is copied to --out piece by piece.
  auto body = random_bytes(20 * 1024 * 1024, 2);
  auto in = write_file("twenty.bin", body);
  auto out = dir_ + "/reply.bin";
  auto r = run_weft(
    {"call", address_, "echo", "--file", in, "--out", out, "--priority", "3"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, IsEmpty());
  EXPECT_THAT(r.err, IsEmpty()) << "no progress bar without a terminal";
  auto written = read_whole(out);
  EXPECT_EQ(written.size(), body.size());
  EXPECT_TRUE(written == body) << "the reply differs from the request";
}

TEST_F(WeftCliTest, UnknownRouteExitsOneWithNotFound) {
  auto r = run_weft({"call", address_, "no-such-route", "--data", "x"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("error: not_found (2): "));
  EXPECT_THAT(r.out, IsEmpty());
}

TEST_F(WeftCliTest, SchemasListsTheDemoRoutesWithTheirTypes) {
  auto r = run_weft({"schemas", address_});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("echo "));
  EXPECT_THAT(r.out, HasSubstr("sink "));
  EXPECT_THAT(r.out, HasSubstr("echo.fn "));
  EXPECT_THAT(r.out, HasSubstr("weft.routes "));
  auto at = r.out.find("hello.greet ");
  ASSERT_NE(at, std::string::npos) << r.out;
  auto line = r.out.substr(at, r.out.find('\n', at) - at);
  EXPECT_THAT(line, HasSubstr("weft.examples.hello.Greet -> "
                              "weft.examples.hello.Greeting"));
  EXPECT_THAT(line, HasSubstr("(function, 1 worker)"));
}

TEST_F(WeftCliTest, JsonCallIsConvertedThroughTheRouteSchema) {
  auto r = run_weft({"call", address_, "hello.greet", "--json",
                     R"({"name":"Ada"})"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "{\"text\":\"Hello, Ada!\"}\n");
  auto bad = run_weft({"call", address_, "hello.greet", "--json",
                       R"({"nom":"Ada"})"});
  EXPECT_EQ(bad.code, 1);
  EXPECT_THAT(bad.err, HasSubstr("error: invalid_argument (1): "));
  auto empty = run_weft({"call", address_, "hello.greet", "--json", "{}"});
  EXPECT_EQ(empty.code, 1);
  EXPECT_THAT(empty.err, HasSubstr("name is empty"));
}

TEST_F(WeftCliTest, OneMillisecondTimeoutOnALargeUploadIsDeadlineExceeded) {
  // 32 MiB cannot cross loopback, be checksummed and answered in 1 ms: the
  // client's deadline (or the node's, whichever fires first) ends the call.
  auto path = write_file("big.bin", random_bytes(32 * 1024 * 1024, 3));
  auto r
    = run_weft({"call", address_, "sink", "--file", path, "--timeout", "1"});
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_THAT(r.err, HasSubstr("error: deadline_exceeded (6): "));
  EXPECT_THAT(r.out, IsEmpty());
}

TEST_F(WeftCliTest, ConnectionLostMidTransferExitsThree) {
  // A node that logs each MiB it receives (debug), so that the test can
  // kill it in the middle of a 3 GiB upload (a sparse file: fast to read).
  child_process node{bin_path("weftd"),
                     {"--tcp-listen", "127.0.0.1:0", "--http-listen", "",
                      "--log-level", "debug",
                      "--max-message-size", "4294967295", "--spill-dir", dir_}};
  auto line = node.wait_for_line("event=binary.listening", 10s);
  ASSERT_TRUE(line) << node.output();
  auto at = line->find("address=");
  ASSERT_NE(at, std::string::npos);
  auto address = line->substr(at + 8, line->find(' ', at) - at - 8);
  auto path = dir_ + "/sparse.bin";
  std::ofstream{path, std::ios::binary}.close();
  std::filesystem::resize_file(path, 3ull << 30);
  child_process cli{bin_path("weft"), {"call", address, "sink", "--file", path}};
  ASSERT_TRUE(node.wait_for_line("event=binary.receiving", 20s))
    << node.output();
  node.signal(SIGKILL);
  auto code = cli.wait_exit(20s);
  ASSERT_TRUE(code.has_value()) << cli.output();
  EXPECT_EQ(*code, 3) << cli.output();
  EXPECT_THAT(cli.output(), HasSubstr("unavailable"));
}

TEST_F(WeftCliTest, PingCountTwoPrintsTwoRoundTripsAndASummary) {
  auto r = run_weft({"ping", address_, "--count", "2", "--interval", "10"});
  EXPECT_EQ(r.code, 0) << r.err;
  std::vector<std::string> rtt_lines;
  for (absl::string_view line : absl::StrSplit(r.out, '\n'))
    if (line.find("seq=") != absl::string_view::npos
        && line.find(" ms") != absl::string_view::npos)
      rtt_lines.emplace_back(line);
  ASSERT_EQ(rtt_lines.size(), 2u) << r.out;
  EXPECT_THAT(rtt_lines[0], HasSubstr("seq=1 time="));
  EXPECT_THAT(rtt_lines[1], HasSubstr("seq=2 time="));
  EXPECT_THAT(r.out, HasSubstr("2 pings sent, 2 pongs received, 0% lost"));
  EXPECT_THAT(r.out, HasSubstr("rtt min/avg/max = "));
}

/// `weft listen` against a node started in this process: the demo weftd
/// has no route that pushes, so the test pushes through the node's API.
class WeftListenTest : public ::testing::Test {
protected:
  void SetUp() override {
    node_config cfg;
    cfg.scheduler_threads = 2;
    cfg.io_threads = 1;
    cfg.tcp_listen = "127.0.0.1:0";
    cfg.drain_timeout = absl::Seconds(2);
    auto started = node::start(cfg, logger{log_level::off});
    ASSERT_TRUE(started.ok()) << started.status();
    node_ = std::move(*started);
    auto listening = node_->listen();
    ASSERT_TRUE(listening.ok()) << listening;
    address_ = "127.0.0.1:" + std::to_string(node_->binary_port());
  }

  void TearDown() override {
    if (node_)
      node_->stop();
  }

  /// Starts `weft listen ADDRESS args...` with stdout captured.
  std::unique_ptr<child_process> start_listen(std::vector<std::string> args) {
    args.insert(args.begin(), {"listen", address_});
    return std::make_unique<child_process>(bin_path("weft"), args,
                                           child_options{});
  }

  static push_message text_push(std::string route, std::string body) {
    push_message msg;
    msg.route = std::move(route);
    msg.body = payload{shared_bytes::copy_of(body)};
    msg.content_type = "text/plain";
    return msg;
  }

  std::unique_ptr<node> node_;
  std::string address_;
};

TEST_F(WeftListenTest, PushToTheClientIdIsPrintedAsAnEscapedTextLine) {
  auto cli = start_listen({"--client-id", "L1", "--count", "1"});
  ASSERT_TRUE(cli->wait_for_line("listening as L1", 10s)) << cli->output();
  ASSERT_TRUE(
    node_->push("L1", text_push("note", "hi\tthere\n\x01\xff")).ok());
  auto code = cli->wait_exit(10s);
  ASSERT_TRUE(code.has_value()) << cli->output();
  EXPECT_EQ(*code, 0) << cli->output();
  EXPECT_EQ(cli->stdout_output(), "note\thi\\tthere\\n\\x01\\xff\n");
}

TEST_F(WeftListenTest, TopicPublishesWithCountTwoArePrintedAsJsonLines) {
  auto cli = start_listen({"--topic", "news", "--topic", "sport", "--count",
                           "2", "--out-format", "json"});
  ASSERT_TRUE(cli->wait_for_line("listening", 10s)) << cli->output();
  EXPECT_THAT(cli->output(), HasSubstr("topics: news, sport"));
  auto first = node_->publish("news", text_push("news", "first"));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*first, 1u);
  auto second = node_->publish("sport", text_push("sport", "say \"hi\""));
  ASSERT_TRUE(second.ok()) << second.status();
  auto code = cli->wait_exit(10s);
  ASSERT_TRUE(code.has_value()) << cli->output();
  EXPECT_EQ(*code, 0) << cli->output();
  EXPECT_EQ(cli->stdout_output(),
            R"({"route":"news","content_type":"text/plain","body":"first"})"
            "\n"
            R"({"route":"sport","content_type":"text/plain",)"
            R"("body":"say \"hi\""})"
            "\n");
}

TEST_F(WeftListenTest, ATakenClientIdExitsOne) {
  client_options opts;
  opts.port = node_->binary_port();
  opts.reconnect = false;
  opts.client_id = "taken";
  auto holder = client::connect(node_->system(), node_->reactors(), opts);
  ASSERT_TRUE(holder.ok()) << holder.status();
  auto cli = start_listen({"--client-id", "taken", "--timeout", "5000"});
  auto code = cli->wait_exit(20s);
  ASSERT_TRUE(code.has_value()) << cli->output();
  EXPECT_EQ(*code, 1) << cli->output();
  EXPECT_THAT(cli->output(), HasSubstr("error: already_exists"));
  EXPECT_THAT(cli->output(), Not(HasSubstr("listening")));
  EXPECT_THAT(cli->stdout_output(), IsEmpty());
}

TEST_F(WeftListenTest, ALostConnectionExitsThree) {
  auto cli = start_listen({"--topic", "news"});
  ASSERT_TRUE(cli->wait_for_line("listening", 10s)) << cli->output();
  node_->stop();
  auto code = cli->wait_exit(20s);
  ASSERT_TRUE(code.has_value()) << cli->output();
  EXPECT_EQ(*code, 3) << cli->output();
  EXPECT_THAT(cli->output(),
              HasSubstr("connection to " + address_ + " lost"));
}

TEST_F(WeftListenTest, TimeoutWithoutPushesExitsZero) {
  auto cli = start_listen({"--topic", "quiet", "--timeout", "300"});
  auto code = cli->wait_exit(20s);
  ASSERT_TRUE(code.has_value()) << cli->output();
  EXPECT_EQ(*code, 0) << cli->output();
  EXPECT_THAT(cli->output(), HasSubstr("listening on " + address_
                                       + " (client id assigned by the "
                                         "node), topics: quiet"));
  EXPECT_THAT(cli->stdout_output(), IsEmpty());
}

TEST_F(WeftListenTest, InterruptExitsZero) {
  auto cli = start_listen({"--client-id", "L2"});
  ASSERT_TRUE(cli->wait_for_line("listening as L2", 10s)) << cli->output();
  cli->signal(SIGINT);
  auto code = cli->wait_exit(20s);
  ASSERT_TRUE(code.has_value()) << cli->output();
  EXPECT_EQ(*code, 0) << cli->output();
}

TEST(WeftCliUsageTest, UnknownFlagExitsTwoNamingIt) {
  auto r = run_weft({"call", "127.0.0.1:7700", "echo", "--bogus", "1"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("--bogus"));
}

TEST(WeftCliUsageTest, BadHostPortExitsTwoNamingIt) {
  for (std::string bad : {"localhost", "127.0.0.1:", "127.0.0.1:0",
                          "127.0.0.1:70000", ":7700", "host:port"}) {
    auto r = run_weft({"call", bad, "echo", "--data", "x"});
    EXPECT_EQ(r.code, 2) << bad;
    EXPECT_THAT(r.err, HasSubstr("bad address '" + bad + "'")) << bad;
  }
}

TEST(WeftCliUsageTest, MissingArgumentsExitTwo) {
  auto none = run_weft({});
  EXPECT_EQ(none.code, 2);
  EXPECT_THAT(none.err, HasSubstr("missing command"));
  auto no_route = run_weft({"call", "127.0.0.1:7700"});
  EXPECT_EQ(no_route.code, 2);
  EXPECT_THAT(no_route.err, HasSubstr("missing ROUTE"));
  auto both = run_weft({"call", "127.0.0.1:7700", "echo", "--data", "x",
                        "--file", "/etc/hostname"});
  EXPECT_EQ(both.code, 2);
  EXPECT_THAT(both.err, HasSubstr("exclusive"));
  auto bad_priority
    = run_weft({"call", "127.0.0.1:7700", "echo", "--priority", "4"});
  EXPECT_EQ(bad_priority.code, 2);
  EXPECT_THAT(bad_priority.err, HasSubstr("--priority"));
}

TEST(WeftCliUsageTest, MisusedJsonAndSchemasExitTwo) {
  auto json_and_data = run_weft({"call", "127.0.0.1:7700", "echo", "--json",
                                 "{}", "--data", "x"});
  EXPECT_EQ(json_and_data.code, 2);
  EXPECT_THAT(json_and_data.err, HasSubstr("--json and --data are exclusive"));
  auto json_and_file = run_weft({"call", "127.0.0.1:7700", "echo", "--json",
                                 "{}", "--file", "/etc/hostname"});
  EXPECT_EQ(json_and_file.code, 2);
  EXPECT_THAT(json_and_file.err, HasSubstr("--json and --file are exclusive"));
  auto json_and_type = run_weft({"call", "127.0.0.1:7700", "echo", "--json",
                                 "{}", "--content-type", "text/plain"});
  EXPECT_EQ(json_and_type.code, 2);
  EXPECT_THAT(json_and_type.err, HasSubstr("--content-type"));
  auto no_address = run_weft({"schemas"});
  EXPECT_EQ(no_address.code, 2);
  EXPECT_THAT(no_address.err, HasSubstr("missing HOST:PORT"));
  auto extra = run_weft({"schemas", "127.0.0.1:7700", "echo"});
  EXPECT_EQ(extra.code, 2);
  EXPECT_THAT(extra.err, HasSubstr("unexpected argument 'echo'"));
  auto call_flag = run_weft({"schemas", "127.0.0.1:7700", "--json", "{}"});
  EXPECT_EQ(call_flag.code, 2);
  EXPECT_THAT(call_flag.err, HasSubstr("--json"));
  auto bad_timeout = run_weft({"schemas", "127.0.0.1:7700", "--timeout", "x"});
  EXPECT_EQ(bad_timeout.code, 2);
  EXPECT_THAT(bad_timeout.err, HasSubstr("--timeout"));
}

TEST(WeftCliUsageTest, HelpPrintsUsageAndExitsZero) {
  auto general = run_weft({"--help"});
  EXPECT_EQ(general.code, 0);
  EXPECT_THAT(general.out, HasSubstr("usage: weft COMMAND"));
  auto call = run_weft({"call", "--help"});
  EXPECT_EQ(call.code, 0);
  EXPECT_THAT(call.out, HasSubstr("usage: weft call HOST:PORT ROUTE"));
  auto ping = run_weft({"ping", "--help"});
  EXPECT_EQ(ping.code, 0);
  EXPECT_THAT(ping.out, HasSubstr("--count N"));
  auto schemas = run_weft({"schemas", "--help"});
  EXPECT_EQ(schemas.code, 0);
  EXPECT_THAT(schemas.out, HasSubstr("usage: weft schemas HOST:PORT"));
  auto listen = run_weft({"listen", "--help"});
  EXPECT_EQ(listen.code, 0);
  EXPECT_THAT(listen.out, HasSubstr("usage: weft listen HOST:PORT"));
}

TEST(WeftCliUsageTest, NothingListeningExitsThree) {
  dead_port nobody;
  ASSERT_NE(nobody.port(), 0);
  auto address = "127.0.0.1:" + std::to_string(nobody.port());
  auto call = run_weft({"call", address, "echo", "--data", "x"});
  EXPECT_EQ(call.code, 3);
  EXPECT_THAT(call.err, HasSubstr("error: "));
  auto ping = run_weft({"ping", address, "--count", "1"});
  EXPECT_EQ(ping.code, 3);
  auto listen = run_weft({"listen", address, "--timeout", "1000"});
  EXPECT_EQ(listen.code, 3);
}

TEST(WeftCliUsageTest, MissingFileExitsTwoNamingIt) {
  auto r = run_weft({"call", "127.0.0.1:7700", "sink", "--file",
                     "/nonexistent/weft-cli-test.bin"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("/nonexistent/weft-cli-test.bin"));
}

} // namespace
} // namespace weft
