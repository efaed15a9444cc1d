// The HTTP parser choice (docs/architecture.md, "HTTP gateway"): nodejs
// http-parser 2.9.4 (libhttp-parser-dev) against Boost.Beast's basic_parser
// (libboost-dev 1.74), parsing the same pipelined requests, plus a table of
// how each treats the ambiguous-framing cases of issue 6 (outcome 8),
// printed before the timings. Run by hand: build/bench/weft_http_parser_bench.
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <http_parser.h>

namespace {

// A browser-like GET, a small JSON POST and a chunked upload, as a client
// pipelines them on one connection.
const char* const get_request
  = "GET /api/users/42?fields=name,email&page=2 HTTP/1.1\r\n"
    "Host: example.com:8080\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101\r\n"
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
    "Accept-Language: en-US,en;q=0.5\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Cookie: session=0123456789abcdef0123456789abcdef; theme=dark\r\n"
    "Connection: keep-alive\r\n"
    "\r\n";
const char* const post_request = "POST /rpc/echo HTTP/1.1\r\n"
                                 "Host: example.com\r\n"
                                 "Content-Type: application/json\r\n"
                                 "Content-Length: 28\r\n"
                                 "\r\n"
                                 "{\"text\":\"hello, weft world\"}";
const char* const chunked_request = "POST /upload HTTP/1.1\r\n"
                                    "Host: example.com\r\n"
                                    "Transfer-Encoding: chunked\r\n"
                                    "\r\n"
                                    "10\r\n0123456789abcdef\r\n"
                                    "5\r\nhello\r\n"
                                    "0\r\n\r\n";

std::string pipelined(int rounds) {
  std::string out;
  for (int i = 0; i < rounds; ++i) {
    out += get_request;
    out += post_request;
    out += chunked_request;
  }
  return out;
}

// -- nodejs http-parser ------------------------------------------------------

struct hp_counts {
  std::size_t messages = 0;
  std::size_t fields = 0;
  std::size_t body = 0;
};

int hp_on_field(http_parser* p, const char*, std::size_t) {
  ++static_cast<hp_counts*>(p->data)->fields;
  return 0;
}
int hp_on_body(http_parser* p, const char*, std::size_t n) {
  static_cast<hp_counts*>(p->data)->body += n;
  return 0;
}
int hp_on_complete(http_parser* p) {
  ++static_cast<hp_counts*>(p->data)->messages;
  return 0;
}

http_parser_settings hp_settings() {
  http_parser_settings s;
  http_parser_settings_init(&s);
  s.on_header_field = hp_on_field;
  s.on_body = hp_on_body;
  s.on_message_complete = hp_on_complete;
  return s;
}

/// Parses `in`; returns false on a parse error.
bool hp_parse(const std::string& in, hp_counts& counts) {
  static const http_parser_settings settings = hp_settings();
  http_parser parser;
  http_parser_init(&parser, HTTP_REQUEST);
  parser.data = &counts;
  auto n = http_parser_execute(&parser, &settings, in.data(), in.size());
  if (HTTP_PARSER_ERRNO(&parser) != HPE_OK || n != in.size())
    return false;
  // The end of input, as a closed connection would say.
  http_parser_execute(&parser, &settings, nullptr, 0);
  return HTTP_PARSER_ERRNO(&parser) == HPE_OK;
}

// -- Boost.Beast basic_parser ------------------------------------------------

namespace beast = boost::beast;
namespace http = boost::beast::http;

/// Counts what it sees and keeps nothing (like http-parser's callbacks).
class beast_counter : public http::basic_parser<true> {
public:
  std::size_t fields = 0;
  std::size_t body = 0;

private:
  void on_request_impl(http::verb, beast::string_view, beast::string_view,
                       int, beast::error_code&) override {}
  void on_response_impl(int, beast::string_view, int,
                        beast::error_code&) override {}
  void on_field_impl(http::field, beast::string_view, beast::string_view,
                     beast::error_code&) override {
    ++fields;
  }
  void on_header_impl(beast::error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>&,
                         beast::error_code&) override {}
  std::size_t on_body_impl(beast::string_view s, beast::error_code&) override {
    body += s.size();
    return s.size();
  }
  void on_chunk_header_impl(std::uint64_t, beast::string_view,
                            beast::error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view s,
                                 beast::error_code&) override {
    body += s.size();
    return s.size();
  }
  void on_finish_impl(beast::error_code&) override {}
};

/// Parses `in` message by message (a Beast parser takes one message; a new
/// one per message, as a server does). Returns false on a parse error.
bool beast_parse(const std::string& in, std::size_t& messages) {
  std::size_t at = 0;
  while (at < in.size()) {
    beast_counter parser;
    parser.eager(true);
    // Not boost::none: Beast 1.74 compares a Content-Length with an empty
    // optional and then rejects every body ("body limit exceeded").
    parser.body_limit(std::uint64_t{1} << 30);
    beast::error_code ec;
    // put() stops after the header: call it again for the body.
    while (!parser.is_done() && at < in.size()) {
      auto used = parser.put(
        boost::asio::buffer(in.data() + at, in.size() - at), ec);
      if (ec)
        return false;
      at += used;
      if (used == 0)
        break;
    }
    if (!parser.is_done())
      return false;
    ++messages;
  }
  return true;
}

// -- strictness --------------------------------------------------------------

struct framing_case {
  const char* name;
  const char* bytes;
};

const framing_case framing_cases[] = {
  {"valid request (control)", "GET / HTTP/1.1\r\nHost: a\r\n\r\n"},
  {"Content-Length with Transfer-Encoding",
   "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
   "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
  {"duplicate Content-Length, same value",
   "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n"
   "\r\nabc"},
  {"duplicate Content-Length, other value",
   "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n"
   "\r\nabcd"},
  {"Content-Length list \"3, 3\"",
   "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\nabc"},
  {"Content-Length \"+3\"",
   "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\nabc"},
  {"Content-Length \"0x3\"",
   "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x3\r\n\r\nabc"},
  {"Content-Length overflow",
   "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n"
   "\r\nabc"},
  {"chunked not last (\"chunked, gzip\")",
   "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"
   "0\r\n\r\n"},
  {"Transfer-Encoding \"gzip\" alone",
   "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\nabc"},
  {"chunked twice",
   "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
   "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
  {"chunk size not hex",
   "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
   "zz\r\nabc\r\n0\r\n\r\n"},
  {"chunk size overflow",
   "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
   "fffffffffffffffffff\r\nabc\r\n0\r\n\r\n"},
  {"chunk size \"-1\"",
   "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
   "-1\r\nabc\r\n0\r\n\r\n"},
  {"chunk data longer than its size",
   "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
   "2\r\nabc\r\n0\r\n\r\n"},
  {"obs-fold header",
   "GET / HTTP/1.1\r\nHost: a\r\nX-Long: one\r\n two\r\n\r\n"},
  {"bare LF line ends", "GET / HTTP/1.1\nHost: a\n\n"},
  {"bare LF in chunk framing",
   "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
   "3\nabc\n0\n\n"},
  {"HTTP/1.0 with Transfer-Encoding",
   "POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
   "0\r\n\r\n"},
  {"space before colon",
   "GET / HTTP/1.1\r\nHost: a\r\nContent-Length : 0\r\n\r\n"},
  {"NUL in header value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n"},
};

std::string case_bytes(const framing_case& c) {
  // The NUL case needs its length: take it from the known literal.
  std::string s = c.bytes;
  if (std::string{c.name} == "NUL in header value")
    s = std::string{"GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n", 34};
  return s;
}

int hp_pause_after_message(http_parser* p) {
  http_parser_pause(p, 1);
  return 0;
}

/// What a parser makes of the first request in `bytes`: "REJECTS" it,
/// "accepts" it using every byte, or accepts it and leaves bytes over that
/// a server would read as the next request (a desync: smuggling).
const char* verdict(bool complete, std::size_t used, std::size_t size) {
  if (!complete)
    return "REJECTS";
  return used == size ? "accepts" : "accepts+rest";
}

const char* hp_first(const std::string& in) {
  http_parser_settings settings;
  http_parser_settings_init(&settings);
  settings.on_message_complete = hp_pause_after_message;
  http_parser parser;
  http_parser_init(&parser, HTTP_REQUEST);
  auto n = http_parser_execute(&parser, &settings, in.data(), in.size());
  // on_message_complete pauses the parser: paused = the first request is
  // whole.
  return verdict(HTTP_PARSER_ERRNO(&parser) == HPE_PAUSED, n, in.size());
}

const char* beast_first(const std::string& in) {
  beast_counter parser;
  parser.eager(true);
  parser.body_limit(std::uint64_t{1} << 30);
  std::size_t at = 0;
  beast::error_code ec;
  while (!parser.is_done() && at < in.size()) {
    auto used = parser.put(
      boost::asio::buffer(in.data() + at, in.size() - at), ec);
    if (ec || used == 0)
      break;
    at += used;
  }
  return verdict(!ec && parser.is_done(), at, in.size());
}

void print_strictness() {
  std::printf("%-42s %-14s %-14s\n", "case (first request)", "http-parser",
              "beast");
  for (const auto& c : framing_cases) {
    auto bytes = case_bytes(c);
    std::printf("%-42s %-14s %-14s\n", c.name, hp_first(bytes),
                beast_first(bytes));
  }
  std::fflush(stdout);
}

// -- timings -----------------------------------------------------------------

void BM_HttpParser(benchmark::State& state) {
  auto input = pipelined(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    hp_counts counts;
    if (!hp_parse(input, counts))
      state.SkipWithError("parse error");
    benchmark::DoNotOptimize(counts);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations())
                          * static_cast<std::int64_t>(input.size()));
  state.SetItemsProcessed(state.iterations() * state.range(0) * 3);
}
BENCHMARK(BM_HttpParser)->Arg(1)->Arg(32);

void BM_BeastParser(benchmark::State& state) {
  auto input = pipelined(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    std::size_t messages = 0;
    if (!beast_parse(input, messages))
      state.SkipWithError("parse error");
    benchmark::DoNotOptimize(messages);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations())
                          * static_cast<std::int64_t>(input.size()));
  state.SetItemsProcessed(state.iterations() * state.range(0) * 3);
}
BENCHMARK(BM_BeastParser)->Arg(1)->Arg(32);

} // namespace

int main(int argc, char** argv) {
  print_strictness();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
