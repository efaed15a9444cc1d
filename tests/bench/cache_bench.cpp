// weft_cache_bench: the sharded cache's get / set throughput (issue 5,
// docs/benchmarks.md "Cache (issue 5)"). Driver actors keep many requests
// in flight to the cache's shard actors; the reference is the same
// operations on one absl::flat_hash_map in a plain loop on one thread, in
// the same run. Measured with 1 and then 2 CAF scheduler threads (the
// shards and drivers stay the same; only the threads change).
//
//   weft_cache_bench [--shards N] [--drivers D] [--inflight K]
//                    [--keys N] [--value-bytes B] [--duration S]
//
// Prints one line per measurement and `result key=value ...` at the end.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <absl/strings/str_cat.h>
#include <absl/container/flat_hash_map.h>
#include <absl/strings/numbers.h>
#include <absl/strings/string_view.h>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/cache.hpp"
#include "runtime/type_ids.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

struct options {
  std::size_t shards = 4;
  std::size_t drivers = 4;
  std::size_t inflight = 64; // per driver
  std::size_t keys = 100'000;
  std::size_t value_bytes = 64;
  double duration_s = 2;
  double warmup_s = 0.5;
};

bool parse(int argc, char** argv, options& opt) {
  for (int i = 1; i + 1 < argc; i += 2) {
    absl::string_view flag = argv[i];
    std::uint64_t n = 0;
    bool ok = true;
    if (flag == "--duration")
      ok = absl::SimpleAtod(argv[i + 1], &opt.duration_s);
    else if (!absl::SimpleAtoi(argv[i + 1], &n) || n == 0)
      ok = false;
    else if (flag == "--shards")
      opt.shards = n;
    else if (flag == "--drivers")
      opt.drivers = n;
    else if (flag == "--inflight")
      opt.inflight = n;
    else if (flag == "--keys")
      opt.keys = n;
    else if (flag == "--value-bytes")
      opt.value_bytes = n;
    else
      ok = false;
    if (!ok) {
      std::fprintf(stderr, "weft_cache_bench: bad flag %s %s\n", argv[i],
                   argv[i + 1]);
      return false;
    }
  }
  return argc % 2 == 1;
}

enum class op_kind { get, set };

/// Everything a driver needs; shared by the drivers and main.
struct workload {
  op_kind kind = op_kind::get;
  std::vector<std::string> keys;
  weft::shared_bytes value;
  std::atomic<std::uint64_t> completed{0};
  std::atomic<std::uint64_t> failed{0};
  std::atomic<bool> stop{false};
  std::atomic<std::size_t> drivers_running{0};
};

struct driver_state {
  std::uint64_t rng = 0;
  std::size_t inflight = 0;
};

using driver_self = caf::stateful_actor<driver_state>*;

void issue(driver_self self, const weft::cache* c,
           std::shared_ptr<workload> w) {
  auto& st = self->state;
  st.rng = st.rng * 6364136223846793005ULL + 1442695040888963407ULL;
  const auto& key = w->keys[(st.rng >> 33) % w->keys.size()];
  ++st.inflight;
  auto done = [self, c, w](bool ok) {
    --self->state.inflight;
    (ok ? w->completed : w->failed).fetch_add(1, std::memory_order_relaxed);
    if (!w->stop.load(std::memory_order_relaxed))
      issue(self, c, w);
    else if (self->state.inflight == 0) {
      self->quit();
      w->drivers_running.fetch_sub(1);
    }
  };
  if (w->kind == op_kind::get)
    c->request_get(self, key).then([done](weft::shared_bytes&) { done(true); },
                                   [done](caf::error&) { done(false); });
  else
    c->request_set(self, key, w->value, caf::timespan{0})
      .then([done](weft::ok_atom) { done(true); },
            [done](caf::error&) { done(false); });
}

/// Ops/s through the cache with `threads` scheduler threads.
double measure_actors(const options& opt, std::size_t threads, op_kind kind,
                      const std::vector<std::string>& keys,
                      const weft::shared_bytes& value) {
  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads", threads);
  cfg.add_message_types<caf::id_block::weft>();
  caf::actor_system sys{cfg};
  weft::cache_options copts;
  copts.shards = opt.shards;
  copts.max_entries = keys.size() * 2;
  copts.max_bytes = std::size_t{1} << 30;
  auto c = weft::cache::start(sys, copts, weft::logger{weft::log_level::off});
  if (!c.ok())
    return 0;
  for (const auto& k : keys) // prefill: every get is a hit
    if (!c->set(k, value).ok())
      return 0;
  auto w = std::make_shared<workload>();
  w->kind = kind;
  w->keys = keys;
  w->value = value;
  const weft::cache* cp = &*c; // not owned: lives until the drivers quit
  w->drivers_running = opt.drivers;
  for (std::size_t d = 0; d < opt.drivers; ++d)
    sys.spawn([cp, w, d, &opt](driver_self self) {
      self->state.rng = d + 1;
      for (std::size_t i = 0; i < opt.inflight; ++i)
        issue(self, cp, w);
    });
  std::this_thread::sleep_for(std::chrono::duration<double>(opt.warmup_s));
  auto n0 = w->completed.load();
  auto t0 = clock_type::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(opt.duration_s));
  auto n1 = w->completed.load();
  auto secs = std::chrono::duration<double>(clock_type::now() - t0).count();
  w->stop = true;
  // The drivers use `c` until they quit; then destroying it takes the
  // shards down, and the actor system's destructor waits for them.
  while (w->drivers_running.load() > 0)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return static_cast<double>(n1 - n0) / secs;
}

/// Ops/s of the same operations on one flat_hash_map, one thread.
double measure_reference(const options& opt, op_kind kind,
                         const std::vector<std::string>& keys,
                         const weft::shared_bytes& value) {
  absl::flat_hash_map<std::string, weft::shared_bytes> map;
  for (const auto& k : keys)
    map[k] = value;
  std::uint64_t rng = 1;
  std::uint64_t ops = 0;
  std::size_t sink = 0;
  auto run_for = [&](double seconds) {
    auto end = clock_type::now() + std::chrono::duration<double>(seconds);
    std::uint64_t n = 0;
    while (clock_type::now() < end) {
      for (int i = 0; i < 1024; ++i, ++n) {
        rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
        const auto& key = keys[(rng >> 33) % keys.size()];
        if (kind == op_kind::get) {
          auto it = map.find(key);
          weft::shared_bytes v = it->second; // a reply holds a copy too
          sink += v.size();
        } else {
          map.insert_or_assign(key, value);
        }
      }
    }
    return n;
  };
  run_for(opt.warmup_s);
  auto t0 = clock_type::now();
  ops = run_for(opt.duration_s);
  auto secs = std::chrono::duration<double>(clock_type::now() - t0).count();
  if (sink == 42)
    std::fputs("", stdout);
  return static_cast<double>(ops) / secs;
}

const char* name_of(op_kind kind) {
  return kind == op_kind::get ? "get" : "set";
}

} // namespace

int main(int argc, char** argv) {
  options opt;
  if (!parse(argc, argv, opt)) {
    std::fputs("usage: weft_cache_bench [--shards N] [--drivers D] "
               "[--inflight K] [--keys N] [--value-bytes B] [--duration S]\n",
               stderr);
    return 2;
  }
  std::vector<std::string> keys;
  keys.reserve(opt.keys);
  for (std::size_t i = 0; i < opt.keys; ++i)
    keys.push_back(absl::StrCat("k", i));
  auto value
    = weft::shared_bytes{std::vector<std::uint8_t>(opt.value_bytes, 0x5a)};
  std::printf("weft_cache_bench: shards=%zu drivers=%zu inflight=%zu "
              "(per driver) keys=%zu value=%zuB duration=%.1fs\n",
              opt.shards, opt.drivers, opt.inflight, opt.keys, opt.value_bytes,
              opt.duration_s);
  std::string result = "result";
  for (auto kind : {op_kind::get, op_kind::set}) {
    auto ref = measure_reference(opt, kind, keys, value);
    std::printf("%s flat_hash_map 1 thread: %.0f ops/s\n", name_of(kind), ref);
    for (std::size_t threads : {std::size_t{1}, std::size_t{2}}) {
      auto ops = measure_actors(opt, threads, kind, keys, value);
      std::printf("%s weft cache %zu thread(s): %.0f ops/s, ratio %.4f\n",
                  name_of(kind), threads, ops, ops / ref);
      result += std::string{" "} + name_of(kind) + "_t"
                + std::to_string(threads) + absl::StrCat("=", ops / ref);
    }
    std::fflush(stdout);
  }
  std::printf("%s\n", result.c_str());
  return 0;
}
