// libFuzzer target: arbitrary bytes into a session (server or client), cut
// into pieces, with the virtual clock advancing, requests answered and
// output taken. Checks that nothing crashes and that the session's memory
// stays within its limits. Input layout: tests/fuzz/session_fuzz.hpp.
//
// Also compiled into weft_fuzz_replay_session (any compiler), which runs it
// over tests/fuzz/corpus/session.

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <unistd.h>

#include <google/protobuf/stubs/logging.h>

#include "runtime/protocol/session.hpp"
#include "tests/fuzz/session_fuzz.hpp"
#include "tests/unit/runtime/protocol/session_pair.hpp"

#define WEFT_FUZZ_CHECK(cond)                                                  \
  do {                                                                         \
    if (!(cond)) {                                                             \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__,         \
                   __LINE__, #cond);                                           \
      std::abort();                                                            \
    }                                                                          \
  } while (false)

namespace {

using weft::protocol::session;
using weft::protocol::session_event;
using weft::protocol::session_options;

/// A private spill directory for the whole run (a fuzz process runs many
/// inputs; each session removes its own files).
const std::string& spill_dir() {
  // A plain array, not the string: atexit handlers run after the
  // destructors of statics constructed later.
  static char made[] = "/tmp/weft-fuzz-XXXXXX";
  static const std::string dir = [] {
    if (::mkdtemp(made) == nullptr)
      return std::string{"/tmp"};
    std::atexit([] { ::rmdir(made); });
    return std::string{made};
  }();
  return dir;
}

/// A tiny deterministic generator for cuts and clock steps.
struct lcg {
  std::uint64_t x;
  std::uint32_t next() {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<std::uint32_t>(x >> 33);
  }
};

void check_invariants(const session& s, const session_options& opt) {
  auto st = s.stats();
  WEFT_FUZZ_CHECK(st.inbound_memory <= opt.memory_budget);
  WEFT_FUZZ_CHECK(st.open_inbound <= opt.local.max_concurrent_messages);
  if (s.closed()) {
    WEFT_FUZZ_CHECK(st.open_inbound == 0);
    WEFT_FUZZ_CHECK(st.inbound_memory == 0);
    WEFT_FUZZ_CHECK(st.queued_outbound == 0);
    WEFT_FUZZ_CHECK(st.awaiting_reply == 0);
    WEFT_FUZZ_CHECK(s.next_timeout() == absl::InfiniteFuture());
  }
}

/// Streams the bodies of every chunked request, or of none: the inputs
/// whose flags have the top bit set fuzz the streamed way of receiving.
class all_or_none final : public weft::protocol::body_stream_filter {
public:
  explicit all_or_none(bool on) : on_(on) {
  }

  bool streams(const weft::wire::MessageHeader&) const override {
    return on_;
  }

private:
  bool on_;
};

/// A streamed request between its `begun` and its end, as its owner sees it.
struct open_stream {
  std::uint32_t id = 0;
  std::uint64_t total = 0;
  std::uint64_t received = 0;
};

/// Answers requests (exercising the outbound side) and checks events.
void handle_events(session& s, absl::Time now, lcg& rng, bool& saw_closed,
                   std::vector<open_stream>& streams) {
  auto find = [&](std::uint32_t id) {
    return std::find_if(streams.begin(), streams.end(),
                        [id](const open_stream& o) { return o.id == id; });
  };
  for (auto& ev : s.take_events()) {
    WEFT_FUZZ_CHECK(!saw_closed); // nothing after closed
    switch (ev.what) {
      case session_event::kind::closed:
        saw_closed = true;
        break;
      case session_event::kind::message:
        WEFT_FUZZ_CHECK(ev.body.size() == ev.header.total_size());
        if (ev.header.kind() == weft::wire::KIND_REQUEST) {
          auto reply = weft::protocol::testing::reply_to(ev.id);
          auto size = rng.next() % 3 == 0 ? 40'000u : rng.next() % 100;
          (void) s.send(reply,
                        weft::payload{weft::shared_bytes{
                          std::vector<std::uint8_t>(size, 0x5a)}},
                        now);
        }
        break;
      case session_event::kind::progress:
        WEFT_FUZZ_CHECK(ev.done <= ev.total);
        break;
      case session_event::kind::begun:
        WEFT_FUZZ_CHECK(find(ev.id) == streams.end());
        streams.push_back({ev.id, ev.total, 0});
        break;
      case session_event::kind::piece: {
        auto open = find(ev.id);
        WEFT_FUZZ_CHECK(open != streams.end());
        open->received += ev.body.size();
        WEFT_FUZZ_CHECK(ev.body.size() > 0);
        WEFT_FUZZ_CHECK(open->received == ev.done);
        WEFT_FUZZ_CHECK(open->received <= open->total);
        // Most pieces are used at once; some never are.
        if (rng.next() % 8 != 0)
          s.piece_consumed(ev.id, ev.body.size(), now);
        break;
      }
      case session_event::kind::ended: {
        auto open = find(ev.id);
        WEFT_FUZZ_CHECK(open != streams.end());
        WEFT_FUZZ_CHECK(open->received == open->total);
        streams.erase(open);
        (void) s.send_reply(ev.id, "text/plain", "", weft::payload{}, now);
        break;
      }
      case session_event::kind::cancelled:
        if (!ev.ours)
          if (auto open = find(ev.id); open != streams.end())
            streams.erase(open);
        break;
      default:
        break;
    }
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  namespace wp = weft::protocol;
  // protobuf logs every string field with invalid UTF-8; a fuzzer makes
  // millions of them.
  static const bool quiet = [] {
    google::protobuf::SetLogHandler(nullptr);
    return true;
  }();
  (void) quiet;
  if (size == 0)
    return 0;
  const auto flags = data[0];
  const bool client = (flags & wp::fuzz::flag_client) != 0;
  auto opt = wp::fuzz::options(spill_dir());
  lcg rng{static_cast<std::uint64_t>(flags >> 2) + 1};
  auto now = absl::FromUnixSeconds(1'000'000);
  session s{client ? wp::role::client : wp::role::server, opt, now};

  std::string stream;
  if ((flags & wp::fuzz::flag_prefix) != 0)
    stream = wp::testing::raw_preface_and_settings();
  stream.append(reinterpret_cast<const char*>(data + 1), size - 1);

  bool saw_closed = false;
  std::vector<open_stream> streams;
  const all_or_none filter{(flags & wp::fuzz::flag_stream) != 0};
  std::size_t pos = 0;
  while (pos < stream.size()) {
    // Pieces of 1 byte to the whole rest, mostly small.
    auto r = rng.next();
    std::size_t piece = r % 4 == 0 ? stream.size() - pos : 1 + (r >> 2) % 64;
    piece = std::min(piece, stream.size() - pos);
    s.on_bytes(weft::shared_bytes::copy_of(
                 absl::string_view{stream}.substr(pos, piece)),
               now, &filter);
    pos += piece;
    handle_events(s, now, rng, saw_closed, streams);
    check_invariants(s, opt);
    // Sometimes the peer does not read for a while.
    if (rng.next() % 4 != 0)
      s.take_output(1 + rng.next() % 100'000);
    if (rng.next() % 8 == 0) {
      now += absl::Milliseconds(rng.next() % 700);
      s.on_tick(now);
      handle_events(s, now, rng, saw_closed, streams);
      check_invariants(s, opt);
    }
  }
  // Drain what the session wants to write, then let it time out.
  for (int i = 0; i < 64 && s.wants_write(); ++i)
    s.take_output(1 << 20);
  handle_events(s, now, rng, saw_closed, streams);
  now += absl::Seconds(10);
  s.on_tick(now);
  handle_events(s, now, rng, saw_closed, streams);
  s.take_output(1 << 20);
  check_invariants(s, opt);
  WEFT_FUZZ_CHECK(s.closed());
  WEFT_FUZZ_CHECK(saw_closed);
  return 0;
}
