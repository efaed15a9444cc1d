// weft_load: the load generator of the binary-protocol benchmarks. Raw
// sockets and runtime/protocol's codec (not weft::client), own epoll loops,
// so it costs the same against weftd and against the references.
//
//   weft_load MODE --port N [options]        (see usage() below)
//
// Each mode prints one line of key=value results on stdout.

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <absl/strings/numbers.h>

#include "tests/bench/bench_wire.hpp"
#include "tests/bench/load_options.hpp"
#include "weft/wire.pb.h"

namespace {

void usage() {
  std::fputs(
    "usage: weft_load MODE --port N [options]\n"
    "modes:\n"
    "  echo    ping-pong: --route echo --size B --conns N --inflight K\n"
    "          --threads T --warmup S --duration S --priority P\n"
    "          --body TEXT: TEXT as every request's body instead of --size\n"
    "          bytes, for a route that is not an echo (e.g. --route\n"
    "          node.work --body 50); replies of any size are accepted\n"
    "  upload  one chunked request of --bulk B bytes to --route (sink),\n"
    "          with an URGENT --size B echo every --urgent-interval-ms MS\n"
    "          to --urgent-route (echo); --uploads N: N such uploads\n"
    "          in turn, their echoes pooled, MB/s over all of them;\n"
    "          --bulk 0 --duration S: the echoes alone (idle baseline)\n"
    "  idle    --conns N --server-pid PID --settle S: server VmRSS per\n"
    "          idle connection\n"
    "  rawtcp  --bulk B: raw loopback TCP copy with 64 KiB writes\n"
    "all: --max-seconds S bounds the run\n",
    stderr);
}

/// The hand-written header encoding must match protobuf's byte for byte.
bool self_check() {
  weft::wire::MessageHeader header;
  header.set_id(12345);
  header.set_route("echo");
  header.set_priority(weft::wire::PRIORITY_BULK);
  header.set_total_size(1ull << 30);
  std::string expected;
  header.SerializeToString(&expected);
  std::vector<std::uint8_t> mine;
  weft::bench::encode_request_header(12345, "echo", 3, 1ull << 30, mine);
  return std::string(mine.begin(), mine.end()) == expected;
}

bool parse_double(const char* text, double& out) {
  return absl::SimpleAtod(text, &out);
}

template <class T>
bool parse_int(const char* text, T& out) {
  std::uint64_t x = 0;
  if (!absl::SimpleAtoi(text, &x))
    return false;
  out = static_cast<T>(x);
  return true;
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage();
    return 2;
  }
  if (!self_check()) {
    std::fputs("weft_load: header encoding differs from protobuf's\n", stderr);
    return 1;
  }
  weft::bench::load_options opt;
  opt.mode = argv[1];
  for (int i = 2; i < argc; i += 2) {
    std::string flag = argv[i];
    if (i + 1 >= argc) {
      usage();
      return 2;
    }
    const char* v = argv[i + 1];
    bool ok = true;
    if (flag == "--port")
      ok = parse_int(v, opt.port);
    else if (flag == "--route")
      opt.route = v;
    else if (flag == "--body")
      opt.body = v;
    else if (flag == "--size")
      ok = parse_int(v, opt.size);
    else if (flag == "--conns")
      ok = parse_int(v, opt.conns);
    else if (flag == "--inflight")
      ok = parse_int(v, opt.inflight);
    else if (flag == "--threads")
      ok = parse_int(v, opt.threads);
    else if (flag == "--warmup")
      ok = parse_double(v, opt.warmup_s);
    else if (flag == "--duration")
      ok = parse_double(v, opt.duration_s);
    else if (flag == "--priority")
      ok = parse_int(v, opt.priority);
    else if (flag == "--bulk")
      ok = parse_int(v, opt.bulk);
    else if (flag == "--uploads")
      ok = parse_int(v, opt.uploads) && opt.uploads > 0;
    else if (flag == "--urgent-interval-ms")
      ok = parse_double(v, opt.urgent_interval_ms);
    else if (flag == "--urgent-route")
      opt.urgent_route = v;
    else if (flag == "--server-pid")
      ok = parse_int(v, opt.server_pid);
    else if (flag == "--settle")
      ok = parse_double(v, opt.settle_s);
    else if (flag == "--max-seconds")
      ok = parse_double(v, opt.max_s);
    else
      ok = false;
    if (!ok) {
      std::fprintf(stderr, "weft_load: bad option %s %s\n", flag.c_str(), v);
      usage();
      return 2;
    }
  }
  if (opt.body)
    opt.size = opt.body->size();
  if (opt.threads == 0 || opt.conns == 0 || opt.inflight == 0) {
    usage();
    return 2;
  }
  if (opt.mode == "echo")
    return weft::bench::run_echo(opt);
  if (opt.mode == "upload")
    return weft::bench::run_upload(opt);
  if (opt.mode == "idle")
    return weft::bench::run_idle(opt);
  if (opt.mode == "rawtcp")
    return weft::bench::run_rawtcp(opt);
  usage();
  return 2;
}
