// weft_app_bench: the in-process benchmark of the application API (issue 4,
// docs/benchmarks.md). No sockets: a driver actor dispatches requests the
// way an edge does (route_dispatcher from the router's table: prepare ->
// request_atom to ticket.worker() -> finish, as
// gateways/binary/connection_actor.cpp does) to a function route whose
// handler burns a calibrated ~20 us of CPU, served by a round-robin pool of
// handler actors. It measures requests/s on a node with 1 and then 2
// scheduler threads, and the same work in a plain loop on 1 and 2 threads
// for reference, and prints the ratios.
//
//   weft_app_bench [--work-us US] [--workers N] [--inflight K]
//                  [--warmup S] [--duration S] [--max-seconds S]
//
// The last line is `result key=value ...` for tests/bench/run_app_bench.sh.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <absl/container/flat_hash_map.h>
#include <absl/status/status.h>
#include <absl/status/statusor.h>
#include <absl/strings/numbers.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/string_view.h>
#include <absl/synchronization/mutex.h>
#include <absl/synchronization/notification.h>
#include <absl/time/clock.h>
#include <absl/time/time.h>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include "runtime/blueprint.hpp"
#include "runtime/error_bridge.hpp"
#include "runtime/node.hpp"
#include "runtime/route_dispatcher.hpp"
#include "runtime/type_ids.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

constexpr absl::string_view work_route = "bench.work";

// -- the work -----------------------------------------------------------------

/// A serial hash chain (murmur3's 64-bit finalizer, iterated): every round
/// depends on the last, so the compiler can neither vectorize nor skip it,
/// and it touches no memory. Deterministic for a given seed.
[[gnu::noinline]] std::uint64_t burn(std::uint64_t rounds, std::uint64_t x) {
  for (std::uint64_t i = 0; i < rounds; ++i) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    x += i;
    // Opaque to the optimizer: burn() becomes a function with a side
    // effect, so no call is hoisted, merged or moved across a clock read.
    asm volatile("" : "+r"(x));
  }
  return x;
}

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

/// Rounds of burn() for one call of `work_us` microseconds: the fastest
/// of several timings (the least disturbed by other processes).
std::uint64_t calibrate(double work_us, double& ns_per_round) {
  constexpr std::uint64_t probe = 1u << 20;
  double best = 1e30;
  std::uint64_t sink = 1;
  for (int i = 0; i < 7; ++i) {
    auto start = clock_type::now();
    sink = burn(probe, sink);
    best = std::min(best, seconds_since(start));
  }
  ns_per_round = best * 1e9 / static_cast<double>(probe);
  if (sink == 42) // keeps `sink` observable
    std::fputs("", stdout);
  return std::max<std::uint64_t>(
    1, static_cast<std::uint64_t>(work_us * 1000.0 / ns_per_round));
}

/// The measured cost of one call: the best mean over 5 runs of 200 calls.
double measure_call_us(std::uint64_t rounds) {
  double best = 1e30;
  std::uint64_t x = 7;
  for (int run = 0; run < 5; ++run) {
    auto start = clock_type::now();
    for (int i = 0; i < 200; ++i)
      x = burn(rounds, x);
    best = std::min(best, seconds_since(start) / 200.0);
  }
  if (x == 42)
    std::fputs("", stdout);
  return best * 1e6;
}

// -- options ------------------------------------------------------------------

struct options {
  double work_us = 20;
  /// Handler actors in the pool. 4 for both thread counts (see usage()).
  std::size_t workers = 4;
  std::size_t inflight = 64;
  double warmup_s = 0.5;
  double duration_s = 3;
  double max_seconds = 120;
};

void usage() {
  std::fputs(
    "usage: weft_app_bench [--work-us US] [--workers N] [--inflight K]\n"
    "                      [--warmup S] [--duration S] [--max-seconds S]\n"
    "  --work-us      CPU per request in the handler (20)\n"
    "  --workers      handler actors in the round-robin pool (4, for both\n"
    "                 thread counts: the pool stays the same and only the\n"
    "                 threads change; 4 >= 2 threads keeps both busy)\n"
    "  --inflight     requests the driver keeps in flight (64)\n"
    "  --warmup       seconds before counting, per measurement (0.5)\n"
    "  --duration     seconds counted, per measurement (3)\n"
    "  --max-seconds  the whole run is aborted past this (120)\n",
    stderr);
}

bool parse(int argc, char** argv, options& opt) {
  for (int i = 1; i < argc; i += 2) {
    absl::string_view flag = argv[i];
    if (i + 1 >= argc)
      return false;
    const char* value = argv[i + 1];
    bool ok = false;
    std::uint64_t n = 0;
    if (flag == "--work-us") {
      ok = absl::SimpleAtod(value, &opt.work_us) && opt.work_us > 0;
    } else if (flag == "--workers") {
      ok = absl::SimpleAtoi(value, &n) && n > 0;
      opt.workers = n;
    } else if (flag == "--inflight") {
      ok = absl::SimpleAtoi(value, &n) && n > 0;
      opt.inflight = n;
    } else if (flag == "--warmup") {
      ok = absl::SimpleAtod(value, &opt.warmup_s) && opt.warmup_s >= 0;
    } else if (flag == "--duration") {
      ok = absl::SimpleAtod(value, &opt.duration_s) && opt.duration_s > 0;
    } else if (flag == "--max-seconds") {
      ok = absl::SimpleAtod(value, &opt.max_seconds) && opt.max_seconds > 0;
    }
    if (!ok) {
      std::fprintf(stderr, "weft_app_bench: bad flag or value: %s %s\n",
                   argv[i], value);
      return false;
    }
  }
  return true;
}

// -- the driver ---------------------------------------------------------------

/// What the driver reports to the main thread, which samples it between
/// phases (warm-up, counted window) without messaging the actor.
struct progress {
  std::atomic<std::uint64_t> completed{0};
  std::atomic<std::uint64_t> failed{0};
  absl::Mutex mu;
  std::string first_error ABSL_GUARDED_BY(mu);

  void fail(const absl::Status& status) {
    failed.fetch_add(1, std::memory_order_relaxed);
    absl::MutexLock lock(&mu);
    if (first_error.empty())
      first_error = status.ToString();
  }
};

struct driver_state {
  weft::route_dispatcher dispatcher;
  /// Tickets of the requests in flight, by message id (as a connection).
  absl::flat_hash_map<std::uint32_t, weft::dispatch_ticket> live;
  std::uint32_t next_id = 0;
  /// The request body: 8 bytes, the seed of the hash chain.
  weft::payload body;
  // shared_ptr: the main thread reads it while the actor writes it, and
  // either may be the last to let go (the actor ends during node::stop).
  std::shared_ptr<progress> out;

  static inline const char* name = "weft.bench.app_driver";
};

using driver_self = caf::stateful_actor<driver_state>*;

void send_next(driver_self self);

/// A request came back: finish it as an edge does, count it, send another.
void complete(driver_self self, std::uint32_t id,
              absl::StatusOr<weft::response> result) {
  auto& st = self->state;
  auto found = st.live.find(id);
  if (found == st.live.end())
    return;
  st.dispatcher.finish(found->second, result);
  st.live.erase(found);
  if (result.ok())
    st.out->completed.fetch_add(1, std::memory_order_relaxed);
  else
    st.out->fail(result.status());
  send_next(self);
}

/// prepare -> (request_atom, request) to ticket.worker(), as
/// connection_actor.cpp's dispatch() and send_one() do.
void send_next(driver_self self) {
  auto& st = self->state;
  weft::request req;
  req.route = std::string{work_route};
  req.body = st.body;
  req.content_type = "application/octet-stream";
  req.client_id = "bench";
  req.message_id = ++st.next_id;
  weft::dispatch_ticket ticket;
  if (auto ready = st.dispatcher.prepare(req, ticket); !ready.ok()) {
    absl::StatusOr<weft::response> result = std::move(ready);
    st.dispatcher.finish(ticket, result);
    st.out->fail(result.status());
    return; // this slot stays empty: the failure is reported
  }
  auto id = req.message_id;
  auto worker = ticket.worker();
  st.live.emplace(id, std::move(ticket));
  self
    ->request(worker, caf::duration{caf::infinite}, weft::request_atom_v,
              std::move(req))
    .then(
      [self, id](weft::response& rsp) { complete(self, id, std::move(rsp)); },
      [self, id](caf::error& err) {
        complete(self, id, weft::to_status(err));
      });
}

/// Asks `router` for its table, then keeps `inflight` requests in flight
/// until it is told to exit.
caf::behavior driver(driver_self self, caf::actor router,
                     std::size_t inflight, std::shared_ptr<progress> out) {
  self->state.out = std::move(out);
  self->state.body = weft::payload{weft::shared_bytes::copy_of("12345678")};
  self->request(router, std::chrono::seconds(10), weft::routes_atom_v)
    .then(
      [self, inflight](const weft::route_table_ref& ref) {
        self->state.dispatcher.update(ref.ptr);
        for (std::size_t i = 0; i < inflight; ++i)
          send_next(self);
      },
      [self](caf::error& err) {
        self->state.out->fail(weft::to_status(err));
        self->quit(err);
      });
  // Nothing else to answer; the behavior keeps the actor alive.
  return {[](weft::ok_atom) {}};
}

// -- the measurements ---------------------------------------------------------

struct measurement {
  double per_second = 0;
  std::uint64_t counted = 0;
  /// CPU seconds per wall second in the counted window.
  double cores = 0;
  std::uint64_t failed = 0;
  std::string error;
};

/// CPU time of the whole process so far, every thread included.
double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

/// What one counted window saw.
struct window {
  std::uint64_t counted = 0;
  double seconds = 0;
  /// The process's CPU time over the window: how many cores it really got
  /// (on a shared machine, less than its threads when others compete).
  double cpu_seconds = 0;
};

/// Sleeps through the warm-up, then counts `opt.duration_s` of `count`.
template <class Count>
window count_window(const options& opt, Count count) {
  std::this_thread::sleep_for(std::chrono::duration<double>(opt.warmup_s));
  auto start = clock_type::now();
  auto cpu_before = process_cpu_seconds();
  auto before = count();
  std::this_thread::sleep_for(std::chrono::duration<double>(opt.duration_s));
  auto after = count();
  window w;
  w.cpu_seconds = process_cpu_seconds() - cpu_before;
  w.seconds = seconds_since(start);
  w.counted = after - before;
  return w;
}

/// The pool on a fresh node with `threads` scheduler threads.
measurement run_weft(const options& opt, std::uint64_t rounds,
                     std::size_t threads) {
  measurement m;
  weft::node_config cfg;
  cfg.name = "bench";
  cfg.scheduler_threads = threads;
  cfg.io_threads = 1;
  cfg.tcp_listen = ""; // no listener: nothing here touches a socket
  auto started = weft::node::start(cfg, weft::logger{weft::log_level::warn});
  if (!started.ok()) {
    m.error = started.status().ToString();
    return m;
  }
  auto& node = **started;
  weft::route_options pool;
  pool.workers = opt.workers;
  pool.dispatch = weft::dispatch_policy::round_robin;
  pool.max_queue = std::max<std::size_t>(4096, opt.inflight * 2);
  weft::blueprint app;
  app.raw_route(
    std::string{work_route},
    [rounds](const weft::payload& body,
             weft::context&) -> absl::StatusOr<weft::response> {
      std::uint64_t seed = 0;
      auto text = body.bytes().view();
      std::copy_n(text.data(), std::min<std::size_t>(8, text.size()),
                  reinterpret_cast<char*>(&seed));
      auto x = burn(rounds, seed);
      weft::response rsp;
      rsp.body = weft::payload{weft::shared_bytes::copy_of(
        absl::string_view{reinterpret_cast<const char*>(&x), sizeof x})};
      return rsp;
    },
    pool);
  if (auto served = node.serve(std::move(app)); !served.ok()) {
    m.error = served.ToString();
    node.stop();
    return m;
  }
  auto out = std::make_shared<progress>();
  auto drv = node.system().spawn(driver, node.router(), opt.inflight, out);
  node.own(drv);
  auto w = count_window(opt, [&] {
    return out->completed.load(std::memory_order_relaxed);
  });
  caf::anon_send_exit(drv, caf::exit_reason::user_shutdown);
  node.stop();
  m.counted = w.counted;
  m.per_second = static_cast<double>(w.counted) / w.seconds;
  m.cores = w.cpu_seconds / w.seconds;
  m.failed = out->failed.load();
  absl::MutexLock lock(&out->mu);
  m.error = out->first_error;
  return m;
}

/// The same work in a plain loop on `threads` threads: calls/s in total.
measurement run_plain(const options& opt, std::uint64_t rounds,
                      std::size_t threads) {
  std::atomic<std::uint64_t> calls{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> loops;
  for (std::size_t t = 0; t < threads; ++t)
    loops.emplace_back([&, t] {
      std::uint64_t x = t + 1;
      while (!stop.load(std::memory_order_relaxed)) {
        x = burn(rounds, x);
        calls.fetch_add(1, std::memory_order_relaxed);
      }
      if (x == 42)
        std::fputs("", stdout);
    });
  auto w = count_window(
    opt, [&] { return calls.load(std::memory_order_relaxed); });
  stop = true;
  for (auto& loop : loops)
    loop.join();
  measurement m;
  m.counted = w.counted;
  m.per_second = static_cast<double>(w.counted) / w.seconds;
  m.cores = w.cpu_seconds / w.seconds;
  return m;
}

double ratio(double a, double b) {
  return b > 0 ? a / b : 0;
}

void print_row(const char* what, const measurement& m, const char* note) {
  std::printf("%-34s %12.0f %10llu %8llu %6.2f %10.0f  %s%s\n", what,
              m.per_second, static_cast<unsigned long long>(m.counted),
              static_cast<unsigned long long>(m.failed), m.cores,
              ratio(m.per_second, m.cores), note,
              m.error.empty() ? "" : absl::StrCat(" error: ", m.error).c_str());
  std::fflush(stdout); // rows appear as they are measured, even in a pipe
}

} // namespace

int main(int argc, char** argv) {
  options opt;
  if (!parse(argc, argv, opt)) {
    usage();
    return 2;
  }
  // Bounds the run whatever happens inside CAF (a lost reply, a hang in
  // shutdown): past --max-seconds the process ends with status 3.
  absl::Notification finished;
  std::thread watchdog([&] {
    if (!finished.WaitForNotificationWithTimeout(
          absl::Seconds(opt.max_seconds))) {
      std::fprintf(stderr, "weft_app_bench: over --max-seconds %.0f, abort\n",
                   opt.max_seconds);
      std::fflush(stdout);
      std::_Exit(3);
    }
  });

  double ns_per_round = 0;
  auto rounds = calibrate(opt.work_us, ns_per_round);
  auto call_us = measure_call_us(rounds);
  // A probe disturbed by another process is slow; correct from the
  // measured calls until one call is within 5% of --work-us.
  for (int i = 0; i < 5 && std::abs(call_us - opt.work_us) > 0.05 * opt.work_us;
       ++i) {
    rounds = std::max<std::uint64_t>(
      1, static_cast<std::uint64_t>(static_cast<double>(rounds) * opt.work_us
                                    / call_us));
    call_us = measure_call_us(rounds);
  }
  std::printf("# calibration: %.3f ns per hash round (probe) -> %llu rounds "
              "per request; one call measured %.2f us (best of 5 x 200 "
              "calls)\n",
              ns_per_round, static_cast<unsigned long long>(rounds), call_us);
  std::printf("# pool of %zu handler actors (round_robin), %zu requests in "
              "flight, %.1fs warm-up + %.1fs counted per row, scheduler "
              "policy %s\n",
              opt.workers, opt.inflight, opt.warmup_s, opt.duration_s,
              weft::node_config{}.scheduler_policy.c_str());
  std::printf("%-34s %12s %10s %8s %6s %10s  %s\n", "", "requests/s",
              "counted", "failed", "cores", "req/cpu-s", "notes");
  std::fflush(stdout);

  auto plain1 = run_plain(opt, rounds, 1);
  print_row("plain loop, 1 thread", plain1, "upper bound for 1 thread");
  auto weft1 = run_weft(opt, rounds, 1);
  print_row("weft pool, 1 scheduler thread", weft1, "");
  auto weft2 = run_weft(opt, rounds, 2);
  print_row("weft pool, 2 scheduler threads", weft2, "");
  auto plain2 = run_plain(opt, rounds, 2);
  print_row("plain loop, 2 threads", plain2, "what the 2 cores give");

  auto scaling = ratio(weft2.per_second, weft1.per_second);
  auto plain_scaling = ratio(plain2.per_second, plain1.per_second);
  auto overhead = ratio(weft1.per_second, plain1.per_second);
  std::printf("\nweft 2 threads / 1 thread: %.2fx (target >= 1.8x)\n",
              scaling);
  std::printf("weft 1 thread / plain loop 1 thread: %.2fx (the cost of the "
              "actor path per ~%.0f us request)\n",
              overhead, opt.work_us);
  std::printf("plain 2 threads / 1 thread: %.2fx (the machine's own scaling "
              "in this run)\n",
              plain_scaling);
  std::printf("weft 2 threads / plain 2 threads: %.2fx; per CPU second, "
              "weft 2 threads / 1 thread: %.2fx\n",
              ratio(weft2.per_second, plain2.per_second),
              ratio(ratio(weft2.per_second, weft2.cores),
                    ratio(weft1.per_second, weft1.cores)));
  std::printf("cores: CPU seconds of the whole process per wall second in "
              "the counted window (below the thread count when other\n"
              "processes compete for the 2 cores); req/cpu-s: requests per "
              "CPU second of the process\n");
  std::printf("result work_us=%.2f weft1=%.0f weft2=%.0f plain1=%.0f "
              "plain2=%.0f scaling=%.2f weft1_over_plain1=%.2f "
              "plain_scaling=%.2f weft1_cores=%.2f weft2_cores=%.2f "
              "failed=%llu\n",
              call_us, weft1.per_second, weft2.per_second, plain1.per_second,
              plain2.per_second, scaling, overhead, plain_scaling, weft1.cores,
              weft2.cores,
              static_cast<unsigned long long>(weft1.failed + weft2.failed));
  std::fflush(stdout);
  finished.Notify();
  watchdog.join();
  auto ok = weft1.error.empty() && weft2.error.empty() && weft1.counted > 0
            && weft2.counted > 0;
  return ok ? 0 : 1;
}
