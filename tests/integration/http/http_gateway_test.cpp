// The HTTP/1.1 gateway over loopback (issue 6): real clients (curl,
// python3's http.client), raw sockets for pipelining and every limit and
// ambiguous-framing case (each followed by a normal request on a new
// connection), and a differential check against python3-h11.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <absl/strings/match.h>
#include <absl/strings/str_cat.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "actors/demo_routes.hpp"
#include "examples/hello.pb.h"
#include "runtime/client/client.hpp"
#include "runtime/error_bridge.hpp"
#include "runtime/io/unique_fd.hpp"
#include "runtime/logger.hpp"
#include "runtime/node.hpp"
#include "tests/integration/http/raw_http.hpp"
#include "tests/integration/process.hpp"

namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using weft::testing::child_process;
using weft::testing::connect_to;
using weft::testing::read_until;
using weft::testing::round_trip;
using weft::testing::send_all;

/// Where the test's helper scripts live (tests run from the source root).
const char* const script_dir = "tests/integration/http/";

/// Counts the responses (status lines) in `raw`.
int responses_in(const std::string& raw) {
  int n = 0;
  for (auto at = raw.find("HTTP/1.1 "); at != std::string::npos;
       at = raw.find("HTTP/1.1 ", at + 1))
    ++n;
  return n;
}

class HttpGatewayTest : public ::testing::Test {
protected:
  void SetUp() override {
    start([](weft::node_config&) {});
  }

  void TearDown() override {
    if (node_)
      node_->stop();
    if (!file_path_.empty())
      ::unlink(file_path_.c_str());
  }

  /// Starts a node serving the demo app and the test's routes over HTTP
  /// only, with small limits; `tweak` changes the config first.
  void start(const std::function<void(weft::node_config&)>& tweak) {
    if (node_)
      node_->stop();
    weft::node_config cfg;
    cfg.scheduler_threads = 2;
    cfg.io_threads = 1;
    cfg.tcp_listen = "127.0.0.1:0"; // for the cross-protocol push test
    cfg.http_listen = "127.0.0.1:0";
    cfg.drain_timeout = absl::Seconds(2);
    cfg.http_max_target = 1024;
    cfg.http_max_header_bytes = 4096;
    cfg.http_max_headers = 20;
    cfg.http_max_body = 64 * 1024;
    tweak(cfg);
    auto started = weft::node::start(cfg, weft::logger{weft::log_level::off});
    ASSERT_TRUE(started.ok()) << started.status();
    node_ = std::move(*started);
    ASSERT_TRUE(node_->serve(weft::demo_app(node_->scheduler())).ok());
    weft::blueprint guarded{"guarded"};
    guarded.use(weft::middleware{
      "token",
      [](weft::request& req) -> absl::Status {
        auto t = req.metadata.find("x-token");
        if (t == req.metadata.end() || t->second != "secret")
          return weft::make_status(weft::errc::permission_denied,
                                   "no token");
        req.values["user"] = "ada";
        return absl::OkStatus();
      },
      {}});
    guarded.get("/me", [](const weft::http_request&, weft::context& ctx) {
      return weft::http_response::text(*ctx.value("user"));
    });
    // Blocks its handler actor (never do this outside a test) to pass the
    // handler timeout.
    guarded.get("/slow", [](const weft::http_request&, weft::context&) {
      std::this_thread::sleep_for(1500ms);
      return weft::http_response::text("late");
    });
    // A 3 MiB file, streamed from disk by the gateway.
    // Per process: ctest runs the cases of this suite in parallel.
    file_path_ = absl::StrCat(::testing::TempDir(), "weft_http_download_",
                              ::getpid(), ".bin");
    file_bytes_.clear();
    for (int i = 0; file_bytes_.size() < 3 * 1024 * 1024; ++i)
      file_bytes_ += absl::StrCat(i, ",");
    {
      std::ofstream out{file_path_, std::ios::binary};
      out << file_bytes_;
    }
    guarded.get("/download", [path = file_path_](const weft::http_request&,
                                                 weft::context&)
                  -> absl::StatusOr<weft::http_response> {
      auto body = weft::payload::from_file(path);
      if (!body.ok())
        return body.status();
      return weft::http_response::file(std::move(*body), "text/csv");
    });
    // An asynchronous handler answers through its reply_to.
    guarded.get("/later/{n:int}",
                [](const weft::http_request& req, weft::context&,
                   weft::reply_to<weft::http_response> out) {
                  out.deliver(weft::http_response::text(
                    absl::StrCat("later ", *req.param("n"))).with_status(202));
                });
    weft::route_options small;
    small.max_body_bytes = 16;
    guarded.post(
      "/small",
      [](const weft::http_request& req, weft::context&) {
        return weft::http_response::text(req.text());
      },
      small);
    ASSERT_TRUE(node_->serve(std::move(guarded)).ok());
    ASSERT_TRUE(node_->listen().ok());
    port_ = node_->http_port();
    ASSERT_NE(port_, 0);
  }

  std::string url(const std::string& path) const {
    return absl::StrCat("http://127.0.0.1:", port_, path);
  }

  /// Runs curl with `args`; returns its stdout (empty on failure).
  std::string curl(std::vector<std::string> args) {
    args.insert(args.begin(), {"-sS", "--max-time", "20"});
    child_process p{"/usr/bin/curl", args, weft::testing::child_options{}};
    auto code = p.wait_exit(30s);
    EXPECT_TRUE(code && *code == 0) << p.output();
    return p.stdout_output();
  }

  /// A normal request on a new connection succeeds: the bad one before it
  /// cost only its own connection.
  void expect_server_healthy() {
    auto raw = round_trip(
      port_, "GET /plaintext HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    EXPECT_THAT(raw, StartsWith("HTTP/1.1 200 OK\r\n"));
    EXPECT_THAT(raw, HasSubstr("\r\n\r\nHello, World!"));
  }

  std::unique_ptr<weft::node> node_;
  std::uint16_t port_ = 0;
  std::string file_path_;
  std::string file_bytes_;
};

// -- real clients -------------------------------------------------------------

TEST_F(HttpGatewayTest, CurlGetsTheBenchmarkEndpoints) {
  auto plain = curl({"-i", url("/plaintext")});
  EXPECT_THAT(plain, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(plain, HasSubstr("Content-Type: text/plain\r\n"));
  EXPECT_THAT(plain, HasSubstr("Content-Length: 13\r\n"));
  EXPECT_THAT(plain, HasSubstr("Date: "));
  EXPECT_THAT(plain, HasSubstr("\r\n\r\nHello, World!"));
  EXPECT_EQ(curl({url("/json")}), R"({"message":"Hello, World!"})");
}

TEST_F(HttpGatewayTest, RequestIdIsKeptOrGenerated) {
  auto kept = curl({"-i", "-H", "X-Request-Id: trace-42", url("/json")});
  EXPECT_THAT(kept, HasSubstr("X-Request-Id: trace-42\r\n"));
  auto made = curl({"-i", url("/json")});
  EXPECT_THAT(made, HasSubstr("X-Request-Id: "));
  // A request id with a space is not taken over: a fresh one is made.
  auto odd = curl({"-i", "-H", "X-Request-Id: a b", url("/json")});
  EXPECT_THAT(odd, Not(HasSubstr("X-Request-Id: a b")));
}

TEST_F(HttpGatewayTest, CurlCallsABinaryRouteWithJson) {
  EXPECT_EQ(curl({"-X", "POST", "-H", "Content-Type: application/json",
                  "--data", R"({"name":"Ada"})", url("/rpc/hello.greet")}),
            R"({"text":"Hello, Ada!"})");
  // curl -d says urlencoded: a protobuf route reads it as JSON anyway.
  EXPECT_EQ(curl({"--data", R"({"name":"Zed"})", url("/rpc/hello.greet")}),
            R"({"text":"Hello, Zed!"})");
  auto bad = curl({"-i", "-X", "POST", "-H", "Content-Type: application/json",
                   "--data", "{}", url("/rpc/hello.greet")});
  EXPECT_THAT(bad, StartsWith("HTTP/1.1 400 "));
  EXPECT_THAT(bad, HasSubstr(R"({"code":"invalid_argument","message":"name is empty"})"));
  auto missing = curl({"-i", "-X", "POST", "--data", "{}", url("/rpc/nope")});
  EXPECT_THAT(missing, StartsWith("HTTP/1.1 404 "));
  auto get = curl({"-i", url("/rpc/hello.greet")});
  EXPECT_THAT(get, StartsWith("HTTP/1.1 405 "));
  EXPECT_THAT(get, HasSubstr("Allow: POST\r\n"));
}

TEST_F(HttpGatewayTest, RpcAnswersProtobufInKind) {
  weft::examples::hello::Greet greet;
  greet.set_name("Bob");
  auto body = greet.SerializeAsString();
  auto raw = round_trip(
    port_, absl::StrCat("POST /rpc/hello.greet HTTP/1.1\r\nHost: t\r\n"
                        "Content-Type: application/x-protobuf\r\n"
                        "Content-Length: ", body.size(),
                        "\r\nConnection: close\r\n\r\n", body));
  ASSERT_THAT(raw, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(raw, HasSubstr("Content-Type: application/x-protobuf\r\n"));
  weft::examples::hello::Greeting reply;
  ASSERT_TRUE(reply.ParseFromString(raw.substr(raw.find("\r\n\r\n") + 4)));
  EXPECT_EQ(reply.text(), "Hello, Bob!");
}

TEST_F(HttpGatewayTest, CurlRoutesWithParametersFormsAndBodies) {
  EXPECT_EQ(curl({url("/hello/Ada%20L?greeting=Hi")}), "Hi, Ada L!");
  EXPECT_EQ(curl({url("/items/42")}), R"({"id":42})");
  EXPECT_EQ(curl({url("/files/a/b.txt")}), R"({"path":"a/b.txt"})");
  auto created = curl({"-i", "-H", "Content-Type: application/json",
                       "--data", R"({"n":1})", url("/items")});
  EXPECT_THAT(created, StartsWith("HTTP/1.1 201 Created\r\n"));
  EXPECT_THAT(created, HasSubstr("Location: /items/1\r\n"));
  EXPECT_THAT(created, HasSubstr(R"({"created":{"n":1}})"));
  // JSON objects print their fields in any order.
  auto form = curl({"--data", "a=1&b=x+y%21", url("/form")});
  EXPECT_THAT(form, HasSubstr(R"("a":"1")"));
  EXPECT_THAT(form, HasSubstr(R"("b":"x y!")"));
  auto multipart = curl({"-F", "name=Ada", "-F", "note=hi there", url("/form")});
  EXPECT_THAT(multipart, HasSubstr(R"("name":"Ada")"));
  EXPECT_THAT(multipart, HasSubstr(R"("note":"hi there")"));
  // Expect: 100-continue with a chunked body (curl waits for the 100).
  EXPECT_EQ(curl({"-H", "Expect: 100-continue", "-H",
                  "Transfer-Encoding: chunked", "-H",
                  "Content-Type: text/plain", "--data-binary", "streamed",
                  url("/rpc/echo.fn")}),
            "streamed");
}

TEST_F(HttpGatewayTest, NotFoundAndMethodNotAllowedWithAllow) {
  auto missing = curl({"-i", url("/items/abc")});
  EXPECT_THAT(missing, StartsWith("HTTP/1.1 404 Not Found\r\n"));
  auto wrong = curl({"-i", "-X", "PUT", url("/items/7")});
  EXPECT_THAT(wrong, StartsWith("HTTP/1.1 405 Method Not Allowed\r\n"));
  EXPECT_THAT(wrong, HasSubstr("Allow: DELETE, GET, HEAD, OPTIONS\r\n"));
  auto options = curl({"-i", "-X", "OPTIONS", url("/items/7")});
  EXPECT_THAT(options, StartsWith("HTTP/1.1 204 No Content\r\n"));
  EXPECT_THAT(options, HasSubstr("Allow: DELETE, GET, HEAD, OPTIONS\r\n"));
  auto deleted = curl({"-i", "-X", "DELETE", url("/items/7")});
  EXPECT_THAT(deleted, StartsWith("HTTP/1.1 204 No Content\r\n"));
  EXPECT_THAT(deleted, Not(HasSubstr("Content-Length")));
}

TEST_F(HttpGatewayTest, MiddlewareAppliesToHttpRoutes) {
  EXPECT_THAT(curl({"-i", url("/me")}), StartsWith("HTTP/1.1 403 Forbidden"));
  EXPECT_EQ(curl({"-H", "X-Token: secret", url("/me")}), "ada");
}

/// A binary-protocol client with a claimed client id that records the
/// pushes it receives ("route:body").
class push_recorder {
public:
  push_recorder(weft::node& node, const std::string& client_id) {
    weft::client_options opts;
    opts.port = node.binary_port();
    opts.reconnect = false;
    opts.client_id = client_id;
    opts.on_push = [this](weft::push_message msg) {
      std::lock_guard<std::mutex> guard{mutex_};
      pushes_.push_back(absl::StrCat(msg.route, ":", msg.body.bytes().view()));
      arrived_.notify_all();
    };
    auto c = weft::client::connect(node.system(), node.reactors(), opts);
    EXPECT_TRUE(c.ok()) << c.status();
    if (c.ok())
      client_ = std::move(*c);
  }

  bool connected() const {
    return client_ != nullptr;
  }

  /// The first push, once one arrived (at most 10 s); "" otherwise.
  std::string first() {
    std::unique_lock<std::mutex> lock{mutex_};
    if (!arrived_.wait_for(lock, 10s, [&] { return !pushes_.empty(); }))
      return "";
    return pushes_.front();
  }

private:
  std::mutex mutex_;
  std::condition_variable arrived_;
  std::vector<std::string> pushes_;
  std::unique_ptr<weft::client> client_;
};

TEST_F(HttpGatewayTest, HttpRequestPushesToABinaryClient) {
  push_recorder alice{*node_, "alice"};
  ASSERT_TRUE(alice.connected());
  auto answer = curl({"-i", url("/notify?client_id=alice&text=from%20http")});
  EXPECT_THAT(answer, StartsWith("HTTP/1.1 202 Accepted\r\n"));
  EXPECT_EQ(alice.first(), "demo.notify:from http");
}

/// A text push to `route` with `body`.
weft::push_message text_push(std::string route, const std::string& body) {
  weft::push_message msg;
  msg.route = std::move(route);
  msg.body = weft::payload{weft::shared_bytes::copy_of(body)};
  return msg;
}

TEST_F(HttpGatewayTest, EventStreamCarriesTopicsAndPushesById) {
  auto fd = connect_to(port_);
  ASSERT_TRUE(fd);
  send_all(fd, "GET /events?topic=news HTTP/1.1\r\nHost: t\r\n\r\n");
  auto hello = read_until(fd, "\n\n\r\n");
  ASSERT_THAT(hello, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(hello, HasSubstr("Content-Type: text/event-stream\r\n"));
  EXPECT_THAT(hello, HasSubstr("Transfer-Encoding: chunked\r\n"));
  EXPECT_THAT(hello, HasSubstr("event: weft.hello\n"));
  auto at = hello.find(R"("client_id":")");
  ASSERT_NE(at, std::string::npos) << hello;
  auto id = hello.substr(at + 13, hello.find('"', at + 13) - at - 13);
  // The stream joined its topic before its first event was written.
  auto reached = node_->publish("news", text_push("news.item", "one\ntwo"));
  ASSERT_TRUE(reached.ok()) << reached.status();
  EXPECT_EQ(*reached, 1u);
  auto news = read_until(fd, "data: two\n\n");
  EXPECT_THAT(news, HasSubstr("id: 1\nevent: news.item\ndata: one\ndata: two\n\n"));
  // An HTTP request pushes to the stream's client id (across connections).
  EXPECT_THAT(curl({"-i", url(absl::StrCat("/notify?client_id=", id,
                                          "&text=hi"))}),
              StartsWith("HTTP/1.1 202 "));
  EXPECT_THAT(read_until(fd, "data: hi\n\n"),
              HasSubstr("event: demo.notify\ndata: hi\n\n"));
}

TEST_F(HttpGatewayTest, CurlFollowsAnEventStream) {
  child_process stream{"/usr/bin/curl",
                       {"-sSN", "--max-time", "20", url("/events?topic=tick")},
                       weft::testing::child_options{}};
  // Publish until curl has printed an event (it subscribes when it
  // connects, at a moment the test does not know); bounded in count.
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(node_->publish("tick", text_push("clock", "tock")).ok());
    if (stream.wait_exit(50ms).has_value()
        || absl::StrContains(stream.stdout_output(), "data: tock"))
      break;
  }
  EXPECT_THAT(stream.stdout_output(), HasSubstr("event: weft.hello\n"));
  EXPECT_THAT(stream.stdout_output(), HasSubstr("event: clock\ndata: tock\n"));
}

TEST_F(HttpGatewayTest, AsynchronousHandlerAnswersThroughReplyTo) {
  auto answer = curl({"-i", "-H", "X-Token: secret", url("/later/7")});
  EXPECT_THAT(answer, StartsWith("HTTP/1.1 202 Accepted\r\n"));
  EXPECT_THAT(answer, HasSubstr("\r\n\r\nlater 7"));
}

TEST_F(HttpGatewayTest, HelloPushesToABinaryClientAfterADelay) {
  push_recorder bob{*node_, "bob"};
  ASSERT_TRUE(bob.connected());
  auto asked = std::chrono::steady_clock::now();
  auto answer = curl({"-i", url("/hello?client_id=bob&delay_ms=400")});
  EXPECT_THAT(answer, StartsWith("HTTP/1.1 202 Accepted\r\n"));
  EXPECT_THAT(answer, HasSubstr(R"("client_id":"bob")"));
  EXPECT_EQ(bob.first(), "demo.hello:Hello, bob!");
  // The delay started once the request arrived, after `asked`.
  EXPECT_GE(std::chrono::steady_clock::now() - asked, 400ms);
  EXPECT_THAT(curl({"-i", url("/hello")}),
              StartsWith("HTTP/1.1 400 Bad Request\r\n"));
}

/// The expected body of GET /stream?chunks=N&size=B.
std::string stream_body(int chunks, int size) {
  std::string out;
  for (int i = 0; i < chunks; ++i)
    out.append(static_cast<std::size_t>(size), static_cast<char>('a' + i % 26));
  return out;
}

TEST_F(HttpGatewayTest, CurlReadsAChunkedStreamFromAHandler) {
  auto head = curl(
    {"-sSN", "-D", "-", "-o", "/dev/null", url("/stream?chunks=2&size=3")});
  EXPECT_THAT(head, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(head, HasSubstr("Transfer-Encoding: chunked\r\n"));
  EXPECT_THAT(head, HasSubstr("Content-Type: text/plain\r\n"));
  // 4 MiB through a 256 KiB window: written as curl takes it.
  auto body = curl({"-N", url("/stream?chunks=64&size=65536")});
  EXPECT_EQ(body.size(), 64u * 65536u);
  EXPECT_TRUE(body == stream_body(64, 65536));
  // A handler error before the head is an ordinary error answer.
  EXPECT_THAT(curl({"-i", url("/stream?chunks=-1")}),
              StartsWith("HTTP/1.1 400 Bad Request\r\n"));
}

/// This process's resident memory in KiB (the node runs in it).
long resident_kib() {
  std::ifstream status{"/proc/self/status"};
  std::string line;
  while (std::getline(status, line))
    if (absl::StartsWith(line, "VmRSS:"))
      return std::atol(line.c_str() + 6);
  return 0;
}

TEST_F(HttpGatewayTest, SlowReaderCostsItsStreamNotMemory) {
  auto fd = connect_to(port_);
  ASSERT_TRUE(fd);
  // 400 x 64 KiB = 25 MiB, far more than the socket buffers hold.
  send_all(fd, "GET /stream?chunks=400&size=65536 HTTP/1.1\r\nHost: t\r\n\r\n"
               "GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n");
  auto before = resident_kib();
  // The client reads nothing for a while: the handler must wait.
  std::this_thread::sleep_for(1s);
  auto during = resident_kib();
  EXPECT_LT(during - before, 12 * 1024) << "KiB grew while the client slept";
  auto all = read_until(fd, "Hello, World!", 30s);
  auto body_at = all.find("\r\n\r\n");
  ASSERT_NE(body_at, std::string::npos);
  // Unchunk and compare.
  std::string body;
  auto at = body_at + 4;
  for (int chunks = 0; chunks < 100000; ++chunks) {
    auto eol = all.find("\r\n", at);
    ASSERT_NE(eol, std::string::npos);
    auto n = std::stoul(all.substr(at, eol - at), nullptr, 16);
    at = eol + 2;
    if (n == 0)
      break;
    body += all.substr(at, n);
    at += n + 2;
  }
  EXPECT_TRUE(body == stream_body(400, 65536)) << body.size();
  // The pipelined request after the stream is answered after it.
  EXPECT_THAT(all.substr(at), HasSubstr("HTTP/1.1 200 OK\r\n"));
}

TEST_F(HttpGatewayTest, StreamToHeadAndHttp10Clients) {
  auto head = round_trip(port_, "HEAD /stream HTTP/1.1\r\nHost: t\r\n\r\n"
                                "GET /plaintext HTTP/1.1\r\nHost: t\r\n"
                                "Connection: close\r\n\r\n");
  EXPECT_THAT(head, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_EQ(responses_in(head), 2) << head;
  EXPECT_THAT(head, HasSubstr("\r\n\r\nHTTP/1.1 200 OK\r\n"));
  // HTTP/1.0 knows no chunks: the body is raw and ends with the connection.
  auto old = round_trip(port_, "GET /stream?chunks=2&size=3 HTTP/1.0\r\n\r\n");
  EXPECT_THAT(old, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(old, Not(HasSubstr("Transfer-Encoding")));
  EXPECT_THAT(old, Not(HasSubstr("Content-Length")));
  EXPECT_THAT(old, ::testing::EndsWith("\r\n\r\naaabbb"));
}

TEST_F(HttpGatewayTest, CurlFollowsHandlerEventsAndResumes) {
  auto all = curl({"-N", "-i", url("/countdown?from=3")});
  EXPECT_THAT(all, HasSubstr("Content-Type: text/event-stream\r\n"));
  EXPECT_THAT(all, HasSubstr("Cache-Control: no-cache\r\n"));
  EXPECT_THAT(all, HasSubstr("\r\n\r\nid: 3\nevent: count\ndata: 3\n\n"
                             "id: 2\nevent: count\ndata: 2\n\n"
                             "id: 1\nevent: count\ndata: 1\n\n"));
  EXPECT_EQ(curl({"-N", "-H", "Last-Event-ID: 3", url("/countdown?from=3")}),
            "id: 2\nevent: count\ndata: 2\n\nid: 1\nevent: count\ndata: 1\n\n");
}

TEST_F(HttpGatewayTest, ConnectionsAreAnnouncedOnTheEventBus) {
  // Shared with the subscriber: an event may still arrive after the test
  // body returns, while the node lives on in the fixture.
  struct record_state {
    std::mutex mutex;
    std::condition_variable arrived;
    std::vector<weft::event> seen;
  };
  auto state = std::make_shared<record_state>();
  auto& mutex = state->mutex;
  auto& arrived = state->arrived;
  auto& seen = state->seen;
  auto record = [state](const weft::event& ev) {
    std::lock_guard<std::mutex> guard{state->mutex};
    if (ev.attribute("protocol") == "http")
      state->seen.push_back(ev);
    state->arrived.notify_all();
  };
  for (auto name :
       {weft::lifecycle::connection_opened, weft::lifecycle::connection_closed})
    ASSERT_TRUE(node_->events().on(name, record).ok());
  EXPECT_EQ(curl({url("/health")}), R"({"status":"ok"})");
  std::unique_lock<std::mutex> lock{mutex};
  ASSERT_TRUE(arrived.wait_for(lock, 10s, [&] { return seen.size() >= 2; }));
  // The bus may hand the two to the subscriber in either order.
  auto opened = seen[0].name == "connection.opened" ? seen[0] : seen[1];
  auto closed = seen[0].name == "connection.opened" ? seen[1] : seen[0];
  EXPECT_EQ(opened.name, "connection.opened");
  EXPECT_EQ(closed.name, "connection.closed");
  EXPECT_EQ(opened.attribute("connection"), closed.attribute("connection"));
  EXPECT_THAT(std::string{opened.attribute("peer")}, StartsWith("127.0.0.1:"));
  EXPECT_THAT(std::string{opened.attribute("client")}, StartsWith("c"));
  EXPECT_EQ(closed.attribute("reason"), "");
}

TEST_F(HttpGatewayTest, HealthAndReadiness) {
  EXPECT_EQ(curl({url("/health")}), R"({"status":"ok"})");
  EXPECT_EQ(curl({url("/ready")}), R"({"ready":true})");
}

TEST_F(HttpGatewayTest, PythonHttpClientFeatures) {
  child_process py{"/usr/bin/python3",
                   {absl::StrCat(script_dir, "http_client_check.py"),
                    absl::StrCat(port_)},
                   weft::testing::child_options{}};
  auto code = py.wait_exit(60s);
  ASSERT_TRUE(code.has_value()) << py.output();
  EXPECT_EQ(*code, 0) << py.stdout_output() << py.output();
}

// -- raw sockets ---------------------------------------------------------------

TEST_F(HttpGatewayTest, PipelinedResponsesComeInOrder) {
  std::string batch;
  for (int i = 0; i < 40; ++i)
    batch += absl::StrCat("GET /items/", i, " HTTP/1.1\r\nHost: t\r\n\r\n");
  batch += "GET /json HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
  auto raw = round_trip(port_, batch);
  ASSERT_EQ(responses_in(raw), 41) << raw;
  std::size_t at = 0;
  for (int i = 0; i < 40; ++i) {
    auto found = raw.find(absl::StrCat("{\"id\":", i, "}"), at);
    ASSERT_NE(found, std::string::npos) << "response " << i << " out of order";
    at = found;
  }
  EXPECT_THAT(raw.substr(at), HasSubstr(R"({"message":"Hello, World!"})"));
}

TEST_F(HttpGatewayTest, FileBodyIsStreamedInOrder) {
  auto raw = round_trip(
    port_, "GET /download HTTP/1.1\r\nHost: t\r\nX-Token: secret\r\n\r\n"
           "HEAD /download HTTP/1.1\r\nHost: t\r\nX-Token: secret\r\n\r\n"
           "GET /json HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    30s);
  ASSERT_THAT(raw, StartsWith("HTTP/1.1 200 OK\r\n"));
  auto length = absl::StrCat("Content-Length: ", file_bytes_.size(), "\r\n");
  EXPECT_THAT(raw, HasSubstr(length));
  auto body_at = raw.find("\r\n\r\n") + 4;
  ASSERT_GE(raw.size(), body_at + file_bytes_.size());
  EXPECT_TRUE(raw.compare(body_at, file_bytes_.size(), file_bytes_) == 0);
  // Then the HEAD (headers only) and the JSON, in order.
  auto rest = raw.substr(body_at + file_bytes_.size());
  EXPECT_THAT(rest, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(rest, HasSubstr(length));
  EXPECT_TRUE(absl::EndsWith(rest, R"({"message":"Hello, World!"})")) << rest.substr(0, 300);
}

TEST_F(HttpGatewayTest, HeadHasHeadersButNoBody) {
  auto raw = round_trip(
    port_, "HEAD /json HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  EXPECT_THAT(raw, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(raw, HasSubstr("Content-Length: 27\r\n"));
  EXPECT_TRUE(absl::EndsWith(raw, "\r\n\r\n")) << raw;
}

TEST_F(HttpGatewayTest, Http10ClosesUnlessKeepAlive) {
  auto raw = round_trip(port_, "GET /json HTTP/1.0\r\n\r\n");
  EXPECT_THAT(raw, HasSubstr("Connection: close\r\n"));
  auto kept = round_trip(port_,
                         "GET /json HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
                         "GET /json HTTP/1.0\r\n\r\n");
  EXPECT_EQ(responses_in(kept), 2);
  EXPECT_THAT(kept, HasSubstr("Connection: keep-alive\r\n"));
}

TEST_F(HttpGatewayTest, ChunkedRequestBody) {
  auto raw = round_trip(
    port_, "POST /rpc/echo.fn HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\n"
           "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
           "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: x\r\n\r\n");
  EXPECT_THAT(raw, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(raw, HasSubstr("\r\n\r\nhello world"));
}

TEST_F(HttpGatewayTest, ExpectContinueIsAnsweredBeforeTheBody) {
  // The client sends the head only and waits for 100 Continue (no timing:
  // the answer must come before any body byte is sent).
  auto fd = connect_to(port_);
  ASSERT_TRUE(fd);
  send_all(fd, "POST /rpc/echo.fn HTTP/1.1\r\nHost: t\r\nContent-Type: a/b\r\n"
               "Content-Length: 5\r\nExpect: 100-continue\r\n\r\n");
  auto interim = read_until(fd, "\r\n\r\n");
  EXPECT_EQ(interim, "HTTP/1.1 100 Continue\r\n\r\n");
  send_all(fd, "hello");
  auto final_answer = read_until(fd, "hello");
  EXPECT_THAT(final_answer, StartsWith("HTTP/1.1 200 OK\r\n"));
}

TEST_F(HttpGatewayTest, HalfClosedClientStillGetsItsAnswers) {
  auto raw = round_trip(port_,
                        "GET /items/1 HTTP/1.1\r\nHost: t\r\n\r\n"
                        "GET /items/2 HTTP/1.1\r\nHost: t\r\n\r\n",
                        10s, true);
  EXPECT_EQ(responses_in(raw), 2) << raw;
  EXPECT_THAT(raw, HasSubstr(R"({"id":2})"));
  EXPECT_THAT(raw, Not(HasSubstr("<timeout>")));
}

struct bad_case {
  const char* name;
  std::string bytes;
  int status;
};

std::vector<bad_case> bad_cases() {
  const std::string post = "POST /rpc/echo.fn HTTP/1.1\r\nHost: t\r\n";
  return {
    {"content length with transfer encoding",
     post + "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
     400},
    {"duplicate content length",
     post + "Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc", 400},
    {"content length list", post + "Content-Length: 3, 3\r\n\r\nabc", 400},
    {"invalid content length", post + "Content-Length: +3\r\n\r\nabc", 400},
    {"chunked not last",
     post + "Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", 400},
    {"gzip then chunked",
     post + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501},
    {"gzip alone", post + "Transfer-Encoding: gzip\r\n\r\nabc", 400},
    {"chunked twice",
     post + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
            "0\r\n\r\n",
     400},
    {"bad chunk size", post + "Transfer-Encoding: chunked\r\n\r\nzz\r\n", 400},
    {"overflowing chunk size",
     post + "Transfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\n", 400},
    {"obs-fold", "GET /json HTTP/1.1\r\nHost: t\r\nX-A: 1\r\n 2\r\n\r\n", 400},
    {"bare LF", "GET /json HTTP/1.1\nHost: t\n\n", 400},
    {"space before colon", "GET /json HTTP/1.1\r\nHost : t\r\n\r\n", 400},
    {"HTTP/1.0 with transfer encoding",
     "POST /rpc/echo.fn HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
     400},
    {"garbage", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400},
    {"target too long",
     absl::StrCat("GET /", std::string(2000, 'a'), " HTTP/1.1\r\n\r\n"), 414},
    {"request line without end", absl::StrCat("GET /", std::string(8000, 'a')),
     414},
    {"header too large",
     absl::StrCat("GET /json HTTP/1.1\r\nX-Big: ", std::string(5000, 'b'),
                  "\r\n\r\n"),
     431},
    {"too many headers", [] {
       std::string s = "GET /json HTTP/1.1\r\n";
       for (int i = 0; i < 30; ++i)
         s += absl::StrCat("X-", i, ": v\r\n");
       return s + "\r\n";
     }(),
     431},
    {"body too large", post + "Content-Length: 1000000\r\n\r\n", 413},
    {"route body too large",
     "POST /small HTTP/1.1\r\nHost: t\r\nX-Token: secret\r\n"
     "Content-Length: 17\r\n\r\n",
     413},
    {"chunked body too large",
     post + "Transfer-Encoding: chunked\r\n\r\n20000\r\n"
            + std::string(70000, 'x'),
     413},
    {"unsupported version", "GET /json HTTP/1.9\r\nHost: t\r\n\r\n", 400},
    {"malformed version", "GET /json HTTP/2.0\r\nHost: t\r\n\r\n", 400},
  };
}

TEST_F(HttpGatewayTest, AmbiguousFramingAndLimitsCostOneConnection) {
  for (const auto& c : bad_cases()) {
    SCOPED_TRACE(c.name);
    auto raw = round_trip(port_, c.bytes);
    EXPECT_THAT(raw, StartsWith(absl::StrCat("HTTP/1.1 ", c.status, " ")))
      << raw;
    EXPECT_THAT(raw, HasSubstr("Connection: close\r\n"));
    EXPECT_EQ(responses_in(raw), 1) << raw;
    expect_server_healthy();
  }
}

TEST_F(HttpGatewayTest, OversizedBodyIsRefusedWithoutReadingIt) {
  // 100 MB announced, none sent: the answer comes from the head alone.
  auto raw = round_trip(port_,
                        "POST /rpc/echo.fn HTTP/1.1\r\nHost: t\r\n"
                        "Content-Length: 100000000\r\n"
                        "Expect: 100-continue\r\n\r\n");
  EXPECT_THAT(raw, StartsWith("HTTP/1.1 413 "));
  EXPECT_THAT(raw, Not(HasSubstr("100 Continue")));
  expect_server_healthy();
}

TEST_F(HttpGatewayTest, SlowHeadIsTimedOut) {
  start([](weft::node_config& cfg) {
    cfg.http_header_timeout = absl::Milliseconds(300);
  });
  auto raw = round_trip(port_, "GET /json HTTP/1.1\r\nHost: t\r\n", 20s);
  EXPECT_THAT(raw, StartsWith("HTTP/1.1 408 "));
  expect_server_healthy();
}

TEST_F(HttpGatewayTest, SlowBodyIsTimedOut) {
  start([](weft::node_config& cfg) {
    cfg.http_body_rate_grace = absl::Milliseconds(300);
    cfg.http_min_body_rate = 1000;
  });
  auto raw = round_trip(port_,
                        "POST /rpc/echo.fn HTTP/1.1\r\nHost: t\r\n"
                        "Content-Length: 50000\r\n\r\nabc",
                        20s);
  EXPECT_THAT(raw, StartsWith("HTTP/1.1 408 "));
  expect_server_healthy();
}

TEST_F(HttpGatewayTest, SlowHandlerIsAnsweredGatewayTimeout) {
  start([](weft::node_config& cfg) {
    cfg.handler_timeout = absl::Milliseconds(300);
  });
  // The 504 comes at the handler timeout; the late answer is dropped and
  // the connection goes on with the next request.
  auto raw = round_trip(port_,
                        "GET /slow HTTP/1.1\r\nHost: t\r\nX-Token: secret\r\n\r\n"
                        "GET /json HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
                        20s);
  EXPECT_THAT(raw, StartsWith("HTTP/1.1 504 Gateway Timeout\r\n"));
  EXPECT_THAT(raw, HasSubstr(R"("code":"deadline_exceeded")"));
  EXPECT_THAT(raw, HasSubstr(R"({"message":"Hello, World!"})"));
  EXPECT_THAT(raw, Not(HasSubstr("late")));
}

TEST_F(HttpGatewayTest, ZeroTimeoutsAreOff) {
  start([](weft::node_config& cfg) {
    cfg.http_header_timeout = absl::ZeroDuration();
    cfg.http_idle_timeout = absl::ZeroDuration();
    cfg.http_min_body_rate = 0;
    cfg.handler_timeout = absl::ZeroDuration();
  });
  auto raw = round_trip(port_,
                        "GET /json HTTP/1.1\r\nHost: t\r\n\r\n"
                        "GET /items/5 HTTP/1.1\r\nHost: t\r\n"
                        "Connection: close\r\n\r\n");
  EXPECT_EQ(responses_in(raw), 2) << raw;
  EXPECT_THAT(raw, HasSubstr(R"({"id":5})"));
}

TEST_F(HttpGatewayTest, IdleKeepAliveConnectionCloses) {
  start([](weft::node_config& cfg) {
    cfg.http_idle_timeout = absl::Milliseconds(300);
  });
  auto raw = round_trip(port_, "GET /json HTTP/1.1\r\nHost: t\r\n\r\n", 20s);
  EXPECT_THAT(raw, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(raw, Not(HasSubstr("<timeout>")));
  expect_server_healthy();
}

TEST_F(HttpGatewayTest, ReadyTurnsFalseWhileDraining) {
  auto raw = round_trip(
    port_, "GET /ready HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  EXPECT_THAT(raw, HasSubstr(R"({"ready":true})"));
  // A request whose head is half sent when the drain starts is still read
  // and answered: readiness is already false, and the answer closes.
  auto fd = connect_to(port_);
  ASSERT_TRUE(fd);
  send_all(fd, "GET /ready HTTP/1.1\r\nHost: t\r\n");
  // One full exchange on another connection after it: the one reactor
  // (io_threads 1) read the half head first, so its connection has it
  // before the drain reaches it.
  expect_server_healthy();
  std::thread drainer{[this] { (void)node_->drain(); }};
  // The drain has begun once the listener refuses new connections (it
  // turns readiness off first); bounded wait.
  bool refused = false;
  for (int i = 0; i < 1000 && !refused; ++i) {
    refused = !connect_to(port_);
    if (!refused)
      std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(refused);
  send_all(fd, "\r\n");
  auto answer = read_until(fd, "");
  drainer.join();
  EXPECT_THAT(answer, StartsWith("HTTP/1.1 503 "));
  EXPECT_THAT(answer, HasSubstr("Connection: close\r\n"));
  EXPECT_THAT(answer, HasSubstr(R"({"ready":false})"));
}

TEST_F(HttpGatewayTest, DifferentialAgainstH11) {
  child_process py{"/usr/bin/python3",
                   {absl::StrCat(script_dir, "h11_differential.py"),
                    absl::StrCat(port_)},
                   weft::testing::child_options{}};
  auto code = py.wait_exit(120s);
  ASSERT_TRUE(code.has_value()) << py.output();
  if (*code == 77)
    GTEST_SKIP() << "python3-h11 is not installed";
  EXPECT_EQ(*code, 0) << py.stdout_output() << py.output();
}

} // namespace
