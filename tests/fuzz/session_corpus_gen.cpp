// Writes the seed corpus of the session fuzz target (tests/fuzz/corpus/
// session): valid sessions recorded from a real peer, chunked messages, and
// one input per error case. Usage: weft_session_corpus_gen <dir>
//
// Each file is one fuzz input (layout in tests/fuzz/session_fuzz.hpp).

#include <cstdio>
#include <string>
#include <vector>

#include "runtime/protocol/session.hpp"
#include "runtime/protocol/wire_format.hpp"
#include "tests/fuzz/session_fuzz.hpp"
#include "tests/unit/runtime/protocol/session_pair.hpp"

namespace {

namespace wp = weft::protocol;
namespace wt = weft::protocol::testing;
using weft::payload;
using weft::shared_bytes;

std::string out_dir;
int written = 0;

void write(const std::string& name, std::uint8_t flags,
           const std::string& stream) {
  auto path = out_dir + "/" + name;
  auto* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) {
    std::perror(path.c_str());
    std::exit(1);
  }
  std::fputc(flags, f);
  std::fwrite(stream.data(), 1, stream.size(), f);
  std::fclose(f);
  ++written;
}

/// The full byte stream a real peer session writes while `script` runs,
/// starting with its preface and SETTINGS.
template <class Script>
std::string peer_stream(bool peer_is_client, Script script) {
  auto fuzz_opt = wp::fuzz::options("/tmp");
  wp::session_options peer_opt;
  wt::session_pair pair{peer_is_client ? peer_opt : fuzz_opt,
                        peer_is_client ? fuzz_opt : peer_opt};
  pair.tap = false;
  auto& peer = peer_is_client ? pair.client_side() : pair.server_side();
  auto& target = peer_is_client ? pair.server_side() : pair.client_side();
  std::string stream;
  auto pump = [&] {
    for (int round = 0; round < 10'000; ++round) {
      std::size_t moved = 0;
      for (auto& slice : peer.s.take_output(SIZE_MAX)) {
        moved += slice.size();
        stream.append(slice.view().data(), slice.size());
        target.s.on_bytes(slice, pair.now());
      }
      for (auto& slice : target.s.take_output(SIZE_MAX)) {
        moved += slice.size();
        peer.s.on_bytes(slice, pair.now());
      }
      // Answer requests so that replies flow both ways.
      for (auto& ev : target.s.take_events())
        if (ev.what == wp::session_event::kind::message
            && ev.header.kind() == weft::wire::KIND_REQUEST)
          (void) target.s.send(wt::reply_to(ev.id), ev.body, pair.now());
      for (auto& ev : peer.s.take_events())
        if (ev.what == wp::session_event::kind::message
            && ev.header.kind() == weft::wire::KIND_REQUEST)
          (void) peer.s.send(wt::reply_to(ev.id), ev.body, pair.now());
      if (moved == 0)
        return;
    }
  };
  pump();
  script(peer.s, pair.now(), pump);
  pump();
  return stream;
}

std::string message(std::uint32_t id, const std::string& body = "x") {
  auto h = wt::request("echo");
  h.set_id(id);
  h.set_total_size(body.size());
  return wt::raw_frame(wp::frame_type::message, 0, id,
                       wt::message_payload(h, body));
}

std::string begin(std::uint32_t id, std::uint64_t total) {
  return wt::raw_frame(wp::frame_type::begin, 0, id,
                       wt::encoded_header(wt::one_way(), id, total));
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus dir>\n", argv[0]);
    return 2;
  }
  out_dir = argv[1];
  const std::uint8_t full = 0x00;        // stream includes preface
  const std::uint8_t prefixed = wp::fuzz::flag_prefix;
  const std::uint8_t client = wp::fuzz::flag_client;
  auto body = [](std::size_t n, std::uint64_t seed) {
    return payload{wt::random_bytes(n, seed)};
  };

  // -- valid sessions (recorded from a real peer) ----------------------------
  auto echo = peer_stream(true, [&](wp::session& s, absl::Time now, auto& pump) {
    (void) s.send(wt::request("echo"), payload{shared_bytes::copy_of("hi")},
                  now);
    pump();
  });
  write("valid-echo", full, echo);
  write("valid-echo-prefixed", prefixed, echo.substr(wp::preface_size + 12 + 48));
  write("valid-echo-cut-seed", 0xfc, echo);

  write("valid-chunked", full,
        peer_stream(true, [&](wp::session& s, absl::Time now, auto& pump) {
          (void) s.send(wt::one_way(), body(100'000, 1), now);
          pump();
        }));
  write("valid-chunked-spill", full,
        peer_stream(true, [&](wp::session& s, absl::Time now, auto& pump) {
          (void) s.send(wt::one_way(), body(200'000, 2), now);
          pump();
        }));
  write("valid-priorities", full,
        peer_stream(true, [&](wp::session& s, absl::Time now, auto& pump) {
          for (int p = 3; p >= 0; --p)
            (void) s.send(wt::one_way(static_cast<weft::wire::Priority>(p)),
                          body(static_cast<std::size_t>(30'000 + p), 3), now);
          (void) s.send(wt::request("echo"), body(10, 4), now);
          pump();
        }));
  write("valid-ping-cancel-goaway", full,
        peer_stream(true, [&](wp::session& s, absl::Time now, auto& pump) {
          s.ping(now);
          auto id = s.send(wt::request("upload"), body(60'000, 5), now);
          s.take_output(20'000);
          if (id.ok())
            s.cancel(*id, weft::errc::cancelled, "bye");
          (void) s.send(wt::request("echo"), body(3, 6), now);
          pump();
          s.go_away("done");
          pump();
        }));
  auto deadline = wt::request("slow");
  deadline.set_deadline_ms(300);
  write("valid-deadline", full,
        peer_stream(true, [&](wp::session& s, absl::Time now, auto& pump) {
          (void) s.send(deadline, body(50'000, 7), now);
          pump();
        }));
  // Toward a client: pushes, replies and a graceful GOAWAY from a server.
  write("valid-server-push", client,
        peer_stream(false, [&](wp::session& s, absl::Time now, auto& pump) {
          weft::wire::MessageHeader push;
          push.set_kind(weft::wire::KIND_PUSH);
          (void) s.send(push, body(5, 8), now);
          (void) s.send(push, body(70'000, 9), now);
          pump();
          s.go_away("restart");
          pump();
        }));

  // -- error cases (hand-made) -----------------------------------------------
  auto hs = wt::raw_preface_and_settings();
  auto pre = hs.substr(0, wp::preface_size);
  write("err-bad-preface", full, "GET / HTTP/1.1\r\n\r\n");
  write("err-version", full, wt::raw_preface_and_settings({}, 2));
  write("err-first-not-settings", full,
        pre + wt::raw_frame(wp::frame_type::ping, 0, 0, std::string(8, 'p')));
  write("err-second-settings", prefixed,
        wt::raw_frame(wp::frame_type::settings, 0, 0, ""));
  write("err-settings-range", full,
        pre + wt::raw_frame(wp::frame_type::settings, 0, 0,
                            std::string("\x00\x01", 2) + wt::be32(5)));
  write("err-frame-too-large", prefixed,
        wt::raw_frame(wp::frame_type::chunk, 0, 1, std::string(17'000, 'x'))
          .substr(0, 12));
  write("err-flow-control", prefixed,
        begin(1, 100'000)
          + wt::raw_frame(wp::frame_type::chunk, 0, 1, std::string(16'000, 'x'))
          + wt::raw_frame(wp::frame_type::chunk, 0, 1, std::string(1'000, 'x')));
  write("err-window-overflow", prefixed,
        wt::raw_frame(wp::frame_type::window, 0, 0, wt::be32(0x7fffffff)));
  write("err-id-parity", prefixed, message(2));
  write("err-id-order", prefixed, message(5) + message(3));
  write("err-chunk-unknown", prefixed,
        wt::raw_frame(wp::frame_type::chunk, 0, 7, "abc"));
  std::string cancels;
  for (int i = 0; i < 60; ++i)
    cancels += wt::raw_frame(wp::frame_type::cancel, 0, 9, wt::be32(7));
  write("err-cancel-flood", prefixed, cancels);
  std::string pings;
  for (int i = 0; i < 40; ++i)
    pings += wt::raw_frame(wp::frame_type::ping, 0, 0, std::string(8, 'p'));
  write("err-ping-flood", prefixed, pings);
  write("err-reserved-bits", prefixed,
        wt::raw_frame(0x07, 0, 0, std::string(8, 'p'), 0x0100));
  write("err-window-zero", prefixed,
        wt::raw_frame(wp::frame_type::window, 0, 0, wt::be32(0)));
  write("err-ping-short", prefixed,
        wt::raw_frame(wp::frame_type::ping, 0, 0, "1234567"));
  write("err-cancel-short", prefixed,
        wt::raw_frame(wp::frame_type::cancel, 0, 1, "ab"));
  write("err-goaway-short", prefixed,
        wt::raw_frame(wp::frame_type::goaway, 0, 0, "abcd"));
  write("err-message-short", prefixed,
        wt::raw_frame(wp::frame_type::message, 0, 1, std::string(11, '\0')));
  write("err-end-short", prefixed,
        begin(1, 100) + wt::raw_frame(wp::frame_type::chunk, wp::flag_end, 1,
                                      "1234"));
  auto fat = wt::request("echo");
  (*fat.mutable_metadata())["k"] = std::string(1100, 'v');
  fat.set_id(1);
  fat.set_total_size(1);
  write("rej-header-too-large", prefixed,
        wt::raw_frame(wp::frame_type::message, 0, 1,
                      wt::message_payload(fat, "x"))
          + message(3));
  write("rej-message-too-large", prefixed, begin(1, 5'000'000) + message(3));
  std::string many;
  for (std::uint32_t id = 1; id <= 21; id += 2)
    many += begin(id, 100'000);
  write("rej-too-many", prefixed, many);
  write("rej-size-mismatch", prefixed,
        begin(1, 10)
          + wt::raw_frame(wp::frame_type::chunk, wp::flag_end, 1,
                          std::string(5, 'x') + wt::be64(0)));
  // -- streamed request bodies (flag_stream) -----------------------------------
  const std::uint8_t streamed = wp::fuzz::flag_stream;
  write("stream-chunked", full | streamed,
        peer_stream(true, [&](wp::session& s, absl::Time now, auto& pump) {
          (void) s.send(wt::request("upload"), body(100'000, 3), now);
          pump();
        }));
  auto begin_request = [](std::uint32_t id, std::uint64_t total) {
    return wt::raw_frame(wp::frame_type::begin, 0, id,
                         wt::encoded_header(wt::request("upload"), id, total));
  };
  write("stream-checksum", prefixed | streamed,
        begin_request(1, 10)
          + wt::raw_frame(wp::frame_type::chunk, 0, 1, "01234")
          + wt::raw_frame(wp::frame_type::chunk, wp::flag_end, 1,
                          "56789" + wt::be64(7))
          + message(3));
  write("stream-cancel", prefixed | streamed,
        begin_request(1, 100)
          + wt::raw_frame(wp::frame_type::chunk, 0, 1, std::string(40, 'y'))
          + wt::raw_frame(wp::frame_type::cancel, 0, 1,
                          wt::be32(7) + "gone")
          + message(3));

  auto bad_sum = message(1, "checksum");
  bad_sum[bad_sum.size() - 9] ^= 1;
  write("rej-checksum", prefixed, bad_sum + message(3));
  write("rej-header-junk", prefixed,
        wt::raw_frame(wp::frame_type::message, 0, 1,
                      wt::be32(3) + "\xff\xff\xff" + wt::be64(0)));
  write("ok-unknown-type", prefixed,
        wt::raw_frame(0x7f, 0xff, 3, "future") + message(1));
  write("ok-peer-goaway-error", prefixed,
        wt::raw_frame(wp::frame_type::goaway, 0, 0,
                      wt::be32(0) + wt::be32(14) + "boom"));
  std::fprintf(stderr, "wrote %d corpus files to %s\n", written,
               out_dir.c_str());
  return 0;
}
