#include "runtime/node_config.hpp"

#include <sched.h>

#include <algorithm>
#include <thread>
#include <vector>

#include <absl/strings/ascii.h>
#include <absl/strings/match.h>
#include <absl/strings/numbers.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/str_join.h>
#include <absl/strings/str_replace.h>
#include <absl/strings/str_split.h>
#include <absl/strings/strip.h>

#include "runtime/error_bridge.hpp"

namespace weft {

namespace {

absl::Status invalid(absl::string_view expected) {
  return make_status(errc::invalid_argument,
                     absl::StrCat("expected ", expected));
}

absl::Status parse_duration(absl::string_view text, absl::Duration& out) {
  absl::Duration value;
  if (!absl::ParseDuration(text, &value) || value < absl::ZeroDuration()
      || value == absl::InfiniteDuration())
    return invalid("a duration such as 5s, 250ms or 1m30s");
  out = value;
  return absl::OkStatus();
}

/// An option holding a byte size within [min, max].
config_option size_option(std::string name, std::string help,
                          std::uint64_t node_config::*field,
                          std::uint64_t min, std::uint64_t max) {
  return {
    std::move(name),
    "BYTES",
    std::move(help),
    [field](const node_config& cfg) { return std::to_string(cfg.*field); },
    [field, min, max](node_config& cfg, absl::string_view value) {
      auto parsed = parse_size(value);
      if (!parsed.ok() || *parsed < min || *parsed > max)
        return invalid(absl::StrCat("a size from ", min, " to ", max,
                                    " bytes (suffixes KiB, MiB, GiB)"));
      cfg.*field = *parsed;
      return absl::OkStatus();
    },
  };
}

/// An option holding one of the protocol limits (u32) within [min, max].
config_option limit_option(std::string name, std::string help,
                           std::uint32_t protocol::protocol_settings::*field,
                           std::uint64_t min, std::uint64_t max) {
  return {
    std::move(name),
    "BYTES",
    std::move(help),
    [field](const node_config& cfg) {
      return std::to_string(cfg.limits.*field);
    },
    [field, min, max](node_config& cfg, absl::string_view value) {
      auto parsed = parse_size(value);
      if (!parsed.ok() || *parsed < min || *parsed > max)
        return invalid(absl::StrCat("a number from ", min, " to ", max,
                                    " (suffixes KiB, MiB, GiB)"));
      cfg.limits.*field = static_cast<std::uint32_t>(*parsed);
      return absl::OkStatus();
    },
  };
}

/// An option holding a count within [min, max].
template <class Int>
config_option count_option(std::string name, std::string help,
                           Int node_config::*field, std::uint64_t min,
                           std::uint64_t max) {
  return {
    std::move(name),
    "N",
    std::move(help),
    [field](const node_config& cfg) { return std::to_string(cfg.*field); },
    [field, min, max](node_config& cfg, absl::string_view value) {
      std::uint64_t n = 0;
      if (!absl::SimpleAtoi(value, &n) || n < min || n > max)
        return invalid(absl::StrCat("a number from ", min, " to ", max));
      cfg.*field = static_cast<Int>(n);
      return absl::OkStatus();
    },
  };
}

/// An option holding one of `choices`.
config_option choice_option(std::string name, std::string value_name,
                            std::string help,
                            std::string node_config::*field,
                            std::vector<std::string> choices) {
  // "a or b", "a, b or c".
  auto expected = choices.back();
  if (choices.size() > 1)
    expected = absl::StrCat(
      absl::StrJoin(choices.begin(), choices.end() - 1, ", "), " or ",
      choices.back());
  return {
    std::move(name),
    std::move(value_name),
    std::move(help),
    [field](const node_config& cfg) { return cfg.*field; },
    [field, choices = std::move(choices),
     expected = std::move(expected)](node_config& cfg,
                                     absl::string_view value) {
      if (std::find(choices.begin(), choices.end(), value) == choices.end())
        return invalid(expected);
      cfg.*field = std::string{value};
      return absl::OkStatus();
    },
  };
}

/// An option holding HOST:PORT, or empty to disable a listener.
config_option endpoint_option(std::string name, std::string help,
                              std::string node_config::*field) {
  return {
    std::move(name),
    "HOST:PORT",
    std::move(help),
    [field](const node_config& cfg) { return cfg.*field; },
    [field](node_config& cfg, absl::string_view value) {
      if (!value.empty()) {
        auto parsed = parse_endpoint(value);
        if (!parsed.ok())
          return parsed.status();
      }
      cfg.*field = std::string{value};
      return absl::OkStatus();
    },
  };
}

/// An option holding a duration.
config_option duration_option(std::string name, std::string help,
                              absl::Duration node_config::*field) {
  return {
    std::move(name),
    "DURATION",
    std::move(help),
    [field](const node_config& cfg) {
      return absl::FormatDuration(cfg.*field);
    },
    [field](node_config& cfg, absl::string_view value) {
      return parse_duration(value, cfg.*field);
    },
  };
}

/// An option holding a duration stored in milliseconds (0 = off).
config_option millis_option(std::string name, std::string help,
                            std::uint32_t protocol::protocol_settings::*field) {
  return {
    std::move(name),
    "DURATION",
    std::move(help),
    [field](const node_config& cfg) {
      return absl::FormatDuration(absl::Milliseconds(cfg.limits.*field));
    },
    [field](node_config& cfg, absl::string_view value) {
      absl::Duration d;
      if (auto st = parse_duration(value, d); !st.ok())
        return st;
      auto ms = absl::ToInt64Milliseconds(d);
      if (ms > 0x7fffffff)
        return invalid("a duration below 24 days");
      cfg.limits.*field = static_cast<std::uint32_t>(ms);
      return absl::OkStatus();
    },
  };
}

} // namespace

absl::StatusOr<endpoint> parse_endpoint(absl::string_view text) {
  auto colon = text.rfind(':');
  if (colon == absl::string_view::npos || colon == 0)
    return invalid("HOST:PORT, e.g. 127.0.0.1:7700");
  auto host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  std::uint32_t port = 0;
  if (!absl::SimpleAtoi(text.substr(colon + 1), &port) || port > 65535)
    return invalid("HOST:PORT with a port from 0 to 65535");
  return endpoint{std::string{host}, static_cast<std::uint16_t>(port)};
}

absl::StatusOr<std::uint64_t> parse_size(absl::string_view text) {
  std::uint64_t unit = 1;
  for (auto [suffix, factor] :
       {std::pair<absl::string_view, std::uint64_t>{"KiB", 1ull << 10},
        {"MiB", 1ull << 20},
        {"GiB", 1ull << 30}}) {
    if (absl::EndsWith(text, suffix)) {
      unit = factor;
      text.remove_suffix(suffix.size());
      break;
    }
  }
  std::uint64_t n = 0;
  if (!absl::SimpleAtoi(text, &n) || n > (~std::uint64_t{0}) / unit)
    return invalid("a size such as 65536, 64KiB, 8MiB or 1GiB");
  return n * unit;
}

std::size_t node_config::effective_scheduler_threads() const {
  // The CPUs this process may run on, not the machine's: two workers
  // time-sliced on one CPU only add latency.
  return scheduler_threads != 0 ? scheduler_threads : usable_cpus();
}

std::size_t usable_cpus() {
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  if (::sched_getaffinity(0, sizeof cpus, &cpus) == 0 && CPU_COUNT(&cpus) > 0)
    return static_cast<std::size_t>(CPU_COUNT(&cpus));
  auto cores = std::thread::hardware_concurrency();
  return cores == 0 ? 1 : cores;
}

std::string env_name_of(absl::string_view name) {
  auto upper = absl::AsciiStrToUpper(name);
  return absl::StrCat("WEFT_", absl::StrReplaceAll(upper, {{"-", "_"}}));
}

std::vector<config_option> node_options() {
  std::vector<config_option> options;
  options.push_back({
    "name",
    "NAME",
    "name of this node in logs and in the cluster",
    [](const node_config& cfg) { return cfg.name; },
    [](node_config& cfg, absl::string_view value) {
      if (value.empty() || value.size() > 64)
        return invalid("a name of 1 to 64 characters");
      for (char c : value)
        if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-'
            && c != '_' && c != '.')
          return invalid("a name of letters, digits, '-', '_' and '.'");
      cfg.name = std::string{value};
      return absl::OkStatus();
    },
  });
  options.push_back({
    "scheduler-threads",
    "N|auto",
    "CAF scheduler worker threads; auto is one per core",
    [](const node_config& cfg) {
      return cfg.scheduler_threads == 0 ? absl::StrCat(
               "auto (", cfg.effective_scheduler_threads(), " here)")
                                        : std::to_string(cfg.scheduler_threads);
    },
    [](node_config& cfg, absl::string_view value) {
      if (value == "auto") {
        cfg.scheduler_threads = 0;
        return absl::OkStatus();
      }
      std::size_t n = 0;
      if (!absl::SimpleAtoi(value, &n) || n < 1 || n > 1024)
        return invalid("auto or a number from 1 to 1024");
      cfg.scheduler_threads = n;
      return absl::OkStatus();
    },
  });
  options.push_back(choice_option(
    "scheduler-policy", "POLICY",
    "CAF scheduler: stealing (work stealing) or sharing (one queue)",
    &node_config::scheduler_policy, {"stealing", "sharing"}));
  options.push_back(choice_option(
    "thread-policy", "POLICY",
    "Linux scheduling of the node's threads: normal, or batch (SCHED_BATCH: "
    "fewer preemptions by hand-offs under load)",
    &node_config::thread_policy, {"normal", "batch"}));
  options.push_back({
    "log-level",
    "LEVEL",
    "lowest level logged to stderr: debug, info, warn, error or off",
    [](const node_config& cfg) {
      return std::string{to_string(cfg.log_level)};
    },
    [](node_config& cfg, absl::string_view value) {
      if (!from_string(value, cfg.log_level))
        return invalid("one of debug, info, warn, error, off");
      return absl::OkStatus();
    },
  });
  options.push_back({
    "drain-timeout",
    "DURATION",
    "how long a graceful drain may take after SIGTERM or SIGINT",
    [](const node_config& cfg) {
      return absl::FormatDuration(cfg.drain_timeout);
    },
    [](node_config& cfg, absl::string_view value) {
      return parse_duration(value, cfg.drain_timeout);
    },
  });
  options.push_back(choice_option(
    "io-mode", "MODE",
    "where sockets are served: workers (each scheduler thread runs one "
    "reactor between its jobs), threads (reactor threads of their own, "
    "--io-threads), or auto (workers when the process may run on two CPUs "
    "or fewer)",
    &node_config::io_mode, {"auto", "workers", "threads"}));
  options.push_back(count_option(
    "io-threads", "socket reactor threads with --io-mode threads; 0 is one "
    "per core",
    &node_config::io_threads, 0, 256));
  options.push_back(choice_option(
    "io-relay", "MODE",
    "reactors hand messages to actors once per loop turn: on, off, or auto "
    "(on when the process may run on one CPU only)",
    &node_config::io_relay, {"auto", "on", "off"}));
  options.push_back(choice_option(
    "yield-after-writes", "MODE",
    "with reactors on the workers, a worker yields its CPU once after each "
    "burst of socket writes, so that a reader on the same host runs first",
    &node_config::yield_after_writes, {"on", "off"}));
  options.push_back(
    endpoint_option("tcp-listen",
                    "where the binary protocol listens; empty disables it",
                    &node_config::tcp_listen));
  using ps = protocol::protocol_settings;
  options.push_back(limit_option(
    "max-frame-size", "largest frame payload accepted",
    &ps::max_frame_size, 1024, 16'777'215));
  options.push_back(limit_option(
    "max-message-size", "largest message body accepted",
    &ps::max_message_size, 1, 0xffffffff));
  options.push_back(limit_option(
    "max-header-size", "largest message header accepted",
    &ps::max_header_size, 256, 1024 * 1024));
  options.push_back(limit_option(
    "max-concurrent-messages",
    "chunked messages a client may have open at once",
    &ps::max_concurrent_messages, 1, 0x7fffffff));
  options.push_back(limit_option(
    "message-window", "initial flow-control window of each message",
    &ps::initial_message_window, 1024, 0x7fffffff));
  options.push_back(limit_option(
    "connection-window", "initial flow-control window of each connection",
    &ps::initial_connection_window, 65536, 0x7fffffff));
  options.push_back(millis_option(
    "heartbeat-interval", "ping a silent peer after this long; 0 disables",
    &ps::heartbeat_interval_ms));
  options.push_back(millis_option(
    "idle-timeout", "close a connection silent this long; 0 disables",
    &ps::idle_timeout_ms));
  options.push_back(size_option(
    "spill-threshold", "messages larger than this are assembled on disk",
    &node_config::spill_threshold, 0, ~std::uint64_t{0}));
  options.push_back({
    "spill-dir",
    "DIR",
    "directory of spill files",
    [](const node_config& cfg) { return cfg.spill_dir; },
    [](node_config& cfg, absl::string_view value) {
      if (value.empty())
        return invalid("a directory");
      cfg.spill_dir = std::string{value};
      return absl::OkStatus();
    },
  });
  options.push_back(duration_option(
    "handler-timeout", "longest a handler may take without a deadline",
    &node_config::handler_timeout));
  options.push_back(count_option(
    "max-inflight-requests",
    "unanswered requests per connection before it stops reading",
    &node_config::max_inflight_requests, 1, 1'000'000));
  options.push_back(count_option(
    "max-push-backlog",
    "messages a connection may hold unsent before a push closes it",
    &node_config::max_push_backlog, 1, 1'000'000));
  options.push_back(count_option(
    "cancel-burst", "CANCEL frames a connection may send in a burst",
    &node_config::cancel_burst, 1, 1'000'000));
  options.push_back(count_option(
    "cancel-rate", "CANCEL frames per second a connection may send after it",
    &node_config::cancel_rate, 1, 1'000'000));
  options.push_back(
    endpoint_option("http-listen",
                    "where the HTTP/1.1 gateway listens; empty disables it",
                    &node_config::http_listen));
  options.push_back(count_option(
    "http-max-target", "longest request target (path and query); else 414",
    &node_config::http_max_target, 64, 1024 * 1024));
  options.push_back(count_option(
    "http-max-header-bytes", "largest request head; else 431",
    &node_config::http_max_header_bytes, 1024, 1024 * 1024));
  options.push_back(count_option(
    "http-max-headers", "most header fields per request; else 431",
    &node_config::http_max_headers, 1, 10'000));
  options.push_back(size_option(
    "http-max-body", "largest request body a route reads; else 413",
    &node_config::http_max_body, 0, std::uint64_t{1} << 40));
  options.push_back(duration_option(
    "http-header-timeout", "a request head must arrive within this; else 408",
    &node_config::http_header_timeout));
  options.push_back(duration_option(
    "http-idle-timeout", "close an idle keep-alive connection after this",
    &node_config::http_idle_timeout));
  options.push_back(count_option(
    "http-min-body-rate",
    "slowest average body upload in bytes/s after the grace; else 408",
    &node_config::http_min_body_rate, 0, 1'000'000'000));
  options.push_back(duration_option(
    "http-body-rate-grace", "time a body upload gets before its rate counts",
    &node_config::http_body_rate_grace));
  options.push_back(count_option(
    "http-max-pipelined",
    "requests a connection may have read and unanswered",
    &node_config::http_max_pipelined, 1, 10'000));
  options.push_back(count_option(
    "max-queued-control",
    "unwritten control answers (pongs) before a connection is closed",
    &node_config::max_queued_control, 1, 1'000'000));
  // -- the cluster (docs/architecture.md, "Distribution") -------------------
  options.push_back(choice_option(
    "role", "ROLE",
    "gateway (edges, no application routes), worker (routes, no edges) "
    "or both",
    &node_config::role, {"gateway", "worker", "both"}));
  options.push_back(endpoint_option(
    "node-listen",
    "node-to-node port (CAF middleman) on exactly this interface; empty: none",
    &node_config::node_listen));
  config_option join{
    "join",
    "HOST:PORT",
    "a gateway to join; repeat the flag or separate with commas",
    [](const node_config& cfg) { return absl::StrJoin(cfg.join, ","); },
    [](node_config& cfg, absl::string_view value) {
      if (value.empty()) {
        cfg.join.clear();
        return absl::OkStatus();
      }
      for (auto part : absl::StrSplit(value, ',', absl::SkipWhitespace())) {
        auto entry = absl::StripAsciiWhitespace(part);
        auto parsed = parse_endpoint(entry);
        if (!parsed.ok())
          return parsed.status();
        if (parsed->port == 0)
          return invalid("HOST:PORT with a port from 1 to 65535");
        cfg.join.emplace_back(entry);
      }
      return absl::OkStatus();
    },
  };
  join.is_list = true;
  options.push_back(std::move(join));
  options.push_back(duration_option(
    "node-heartbeat-interval",
    "heartbeat to peer nodes (CAF middleman.heartbeat-interval); 0 disables",
    &node_config::node_heartbeat_interval));
  options.push_back(duration_option(
    "node-timeout",
    "a peer node silent this long is down (middleman.connection-timeout); "
    "0 disables",
    &node_config::node_timeout));
  options.push_back(duration_option(
    "join-backoff-max", "longest pause between attempts to join a gateway",
    &node_config::join_backoff_max));
  // Paths are checked when the node starts (validate_node_tls): a bad file
  // must stop the node then, not a CAF I/O thread later.
  auto tls_option = [](std::string name, std::string value_name,
                       std::string help, std::string node_tls_options::*field) {
    return config_option{
      std::move(name), std::move(value_name), std::move(help),
      [field](const node_config& cfg) { return cfg.node_tls.*field; },
      [field](node_config& cfg, absl::string_view value) {
        cfg.node_tls.*field = std::string{value};
        return absl::OkStatus();
      },
    };
  };
  options.push_back(tls_option(
    "node-tls-cert", "FILE",
    "node port TLS: this node's certificate (PEM, for client and server use)",
    &node_tls_options::certificate));
  options.push_back(tls_option("node-tls-key", "FILE",
                               "node port TLS: the certificate's private key",
                               &node_tls_options::key));
  auto passphrase = tls_option("node-tls-key-passphrase", "TEXT",
                               "node port TLS: passphrase of an encrypted key",
                               &node_tls_options::passphrase);
  // Never rendered: option values may end up in help text or logs.
  passphrase.get = [](const node_config& cfg) {
    return std::string{cfg.node_tls.passphrase.empty() ? "" : "(set)"};
  };
  options.push_back(std::move(passphrase));
  options.push_back(tls_option(
    "node-tls-ca", "FILE",
    "node port TLS: the cluster CA peers' certificates must chain to",
    &node_tls_options::ca_file));
  return options;
}

} // namespace weft
