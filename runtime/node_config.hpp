#pragma once

#include <absl/strings/string_view.h>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include <absl/status/status.h>
#include <absl/status/statusor.h>
#include <absl/time/time.h>

#include "runtime/logger.hpp"
#include "runtime/node_tls.hpp"
#include "runtime/protocol/protocol_settings.hpp"

namespace weft {

/// Everything a node is configured with. Defaults are the embedded demo
/// node's; docs/configuration.md lists every option.
struct node_config {
  /// Name of this node in logs and (later) in the cluster.
  std::string name = "weft";
  /// CAF scheduler worker threads; 0 means one per core.
  std::size_t scheduler_threads = 0;
  /// CAF scheduler policy: "stealing" (work stealing, workers poll and
  /// sleep) or "sharing" (one shared queue, idle workers wait on a condition
  /// variable and wake at once). "sharing" measured faster on the 2-core
  /// machines weft is built on (docs/benchmarks.md).
  std::string scheduler_policy = "sharing";
  /// Linux scheduling policy of the node's threads: "normal" (SCHED_OTHER)
  /// or "batch" (SCHED_BATCH: a thread woken by a hand-off does not preempt
  /// a running one, so fewer context switches under load; see
  /// docs/configuration.md). Set on the thread that starts the node, which
  /// keeps it, before the node starts its threads, which inherit it.
  std::string thread_policy = "normal";
  /// Lowest level written to stderr.
  weft::log_level log_level = weft::log_level::info;
  /// Upper bound on a graceful drain after SIGTERM / SIGINT.
  absl::Duration drain_timeout = absl::Seconds(5);
  /// "workers": each CAF scheduler thread also runs one reactor between its
  /// jobs (io::embed_reactors); "threads": reactors on threads of their own
  /// (io_threads, io_relay); "auto": workers when the process may run on
  /// two CPUs or fewer (its affinity mask), else threads.
  std::string io_mode = "auto";
  /// Reactor (socket I/O) threads with io_mode "threads"; 0 means one per
  /// core.
  std::size_t io_threads = 0;
  /// "on": reactors hand their messages to CAF once per loop turn through
  /// a relay actor (reactor_options::relay); "off": one by one; "auto": on
  /// when the process may run on one CPU only (its affinity mask), where
  /// the reactor and CAF's workers share the core.
  std::string io_relay = "auto";
  /// "on": a worker that has written a burst to its sockets yields its CPU
  /// once (reactor_options::yield_after_writes); "off": it goes straight
  /// on with its next job.
  std::string yield_after_writes = "on";

  // -- the binary protocol (docs/protocol.md) --------------------------------

  /// HOST:PORT of the binary-protocol listener; empty disables it.
  std::string tcp_listen = "127.0.0.1:7700";
  /// Limits announced to clients in SETTINGS.
  protocol::protocol_settings limits;
  /// Inbound messages above this size are assembled in a temporary file.
  std::uint64_t spill_threshold = 8 * 1024 * 1024;
  /// Directory of spill files.
  std::string spill_dir = "/tmp";
  /// Longest a handler may take for a request without a deadline.
  absl::Duration handler_timeout = absl::Seconds(60);
  /// Unanswered requests per connection before it stops reading.
  std::size_t max_inflight_requests = 1024;
  /// Messages a connection may hold unsent for a client that does not
  /// read; a push past it closes the connection (slow consumer).
  std::size_t max_push_backlog = 1024;
  /// Cancel rate limit per connection: burst, then per second.
  std::uint32_t cancel_burst = 500;
  std::uint32_t cancel_rate = 100;
  /// Unwritten control answers (pongs) per connection before it is closed.
  std::size_t max_queued_control = 64;

  // -- the HTTP/1.1 gateway (docs/configuration.md, "HTTP gateway") ---------

  /// HOST:PORT of the HTTP listener; empty disables it (the default of a
  /// node made in code; weftd listens on 127.0.0.1:8080).
  std::string http_listen;
  /// Request limits: target (414), head bytes and header count (431), body
  /// (413, unless the route sets route_options::max_body_bytes).
  std::size_t http_max_target = 8 * 1024;
  std::size_t http_max_header_bytes = 16 * 1024;
  std::size_t http_max_headers = 100;
  std::uint64_t http_max_body = 8 * 1024 * 1024;
  /// A request head must arrive within this time (408).
  absl::Duration http_header_timeout = absl::Seconds(10);
  /// An idle keep-alive connection closes after this.
  absl::Duration http_idle_timeout = absl::Seconds(60);
  /// Slowest average body rate accepted after the grace period (408).
  std::size_t http_min_body_rate = 1024;
  absl::Duration http_body_rate_grace = absl::Seconds(5);
  /// Requests one connection may have read and unanswered (pipelining).
  std::size_t http_max_pipelined = 32;

  // -- the cluster (docs/architecture.md, "Distribution") -------------------

  /// "gateway" (edge listeners, no application routes of its own),
  /// "worker" (handler actors, no edge listeners) or "both".
  std::string role = "both";
  /// HOST:PORT of the node-to-node port (CAF's middleman, BASP), bound to
  /// exactly that interface; empty: no node port.
  std::string node_listen;
  /// Gateways to join (HOST:PORT each; DNS names are resolved per attempt).
  std::vector<std::string> join;
  /// CAF's middleman.heartbeat-interval: a heartbeat to every peer node.
  absl::Duration node_heartbeat_interval = absl::Seconds(1);
  /// CAF's middleman.connection-timeout: a peer silent this long is down.
  absl::Duration node_timeout = absl::Seconds(3);
  /// Joins retry with jittered exponential backoff from 100 ms up to this.
  absl::Duration join_backoff_max = absl::Seconds(5);
  /// Mutual TLS on the node port and on joins (all of certificate, key and
  /// CA, or none): docs/deployment.md, "Node port TLS".
  node_tls_options node_tls;

  /// The node hosts application routes (role worker or both).
  bool hosts_routes() const {
    return role != "gateway";
  }

  /// The node opens edge listeners (role gateway or both).
  bool has_edges() const {
    return role != "worker";
  }

  /// The node uses CAF's middleman (it listens for or joins other nodes).
  bool clustered() const {
    return !node_listen.empty() || !join.empty();
  }

  /// Returns scheduler_threads, or when it is 0 usable_cpus().
  std::size_t effective_scheduler_threads() const;
};

/// The CPUs this process may run on (its affinity mask: taskset, a
/// container's cpuset), or the machine's count if that is unknown; at
/// least 1.
std::size_t usable_cpus();

/// One configurable option: its name is the flag (`--drain-timeout`), the
/// config-file key (`drain-timeout = 5s`) and, upper-cased with `_` for `-`
/// and prefixed `WEFT_`, the environment variable (`WEFT_DRAIN_TIMEOUT`).
struct config_option {
  std::string name;
  /// Placeholder for the value in --help, e.g. "DURATION".
  std::string value_name;
  std::string help;
  /// Renders the option's current value of `cfg`, e.g. for defaults.
  std::function<std::string(const node_config& cfg)> get;
  /// Parses `value` into `cfg`; the status names what was expected.
  std::function<absl::Status(node_config& cfg, absl::string_view value)> set;
  /// True for booleans, which allow a bare `--flag`.
  bool is_bool = false;
  /// True for lists (`--join`): each value adds comma-separated entries,
  /// and the first value from a source replaces what an earlier source
  /// set (so the usual precedence holds for the list as a whole).
  bool is_list = false;
};

/// Returns the table of every node option, in --help order.
std::vector<config_option> node_options();

/// A HOST:PORT pair ("127.0.0.1:7700", "[::1]:7700", "localhost:0").
struct endpoint {
  std::string host;
  std::uint16_t port = 0;
};

/// Parses HOST:PORT; `invalid_argument` if malformed.
absl::StatusOr<endpoint> parse_endpoint(absl::string_view text);

/// Parses a byte size: a number with an optional KiB / MiB / GiB suffix.
absl::StatusOr<std::uint64_t> parse_size(absl::string_view text);

/// Returns the environment variable name of option `name`.
std::string env_name_of(absl::string_view name);

} // namespace weft
