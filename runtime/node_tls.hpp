#pragma once

// Mutual TLS on the node-to-node port (CAF's middleman / BASP through
// libcaf_openssl), and the two calls the cluster code makes on that port so
// that it need not care whether TLS is on.
//
// Why weft checks the material itself: libcaf_openssl 0.17.6 (re)loads the
// certificate and key for every connection, inside CAF's I/O threads, and a
// load failure there ends the process (std::terminate); an encrypted key
// without a passphrase makes OpenSSL prompt on the terminal. So a node calls
// validate_node_tls() at startup and refuses to start on any problem, and only
// then apply_node_tls(). See docs/deployment.md, "Node port TLS", for what is
// and is not protected.

#include <chrono>
#include <cstdint>
#include <string>

#include <absl/status/status.h>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <caf/timespan.hpp>

namespace weft {

/// The node port's TLS material (flags `--node-tls-cert`, `--node-tls-key`,
/// `--node-tls-key-passphrase`, `--node-tls-ca`). All paths name PEM files.
/// A plain value type: copy it freely.
struct node_tls_options {
  /// This node's certificate, optionally followed by intermediate CA
  /// certificates (leaf first). The node presents it both when accepting and
  /// when connecting, so it must allow TLS server and client use.
  std::string certificate;
  /// The private key of `certificate` (PEM, encrypted or not).
  std::string key;
  /// The passphrase of an encrypted `key`; empty for an unencrypted key.
  std::string passphrase;
  /// The cluster CA: the certificates a peer's certificate must chain to.
  std::string ca_file;

  /// True when any field is set, i.e. TLS is wanted: validate_node_tls() then
  /// requires the certificate, the key and the CA together.
  bool enabled() const noexcept;
};

/// Checks `options` with OpenSSL the way libcaf_openssl will use them, so
/// that no connection can fail to load them later: certificate, key and CA
/// all given; the files readable; the certificate chain and the key load
/// (the passphrase is handed over by a callback that never prompts); key and
/// certificate match; the certificate chains to the CA, is within its
/// validity period (now) and allows both TLS server and TLS client use.
/// Returns OK for options that are not enabled() (TLS off), otherwise OK or
/// the first problem: InvalidArgument (missing option, unreadable or
/// malformed file, key mismatch, missing or wrong passphrase) or
/// FailedPrecondition (the certificate does not verify against the CA:
/// other issuer, expired, not yet valid, wrong key usage), with the file
/// name and OpenSSL's reason. Callable from any thread; no side effects
/// other than clearing this thread's OpenSSL error queue.
absl::Status validate_node_tls(const node_tls_options& options);

/// Loads CAF's OpenSSL module into `cfg` and sets its `openssl.*` keys from
/// `options`, with the paths made absolute (CAF re-reads the files for every
/// connection, after any change of working directory). Preconditions:
/// validate_node_tls(options) returned OK, options.enabled(), and
/// `cfg.load<caf::io::middleman>()` was called before (the OpenSSL module
/// refuses to start without the middleman). Call before constructing the
/// actor system, on the thread that owns `cfg`.
void apply_node_tls(caf::actor_system_config& cfg,
                    const node_tls_options& options);

/// Publishes `whom` on the node port: `port` (0 picks a free one) on `host`
/// ("" binds every interface). With `tls`, through CAF's OpenSSL module
/// (peers must present a certificate from the CA), otherwise plain BASP.
/// Returns the bound port, or an error; with `tls` on a system whose config
/// did not go through apply_node_tls() the error is `failed_precondition`
/// (rather than CAF's unauthenticated anonymous TLS). Blocking; call from a
/// plain thread, never from inside an actor or broker.
caf::expected<uint16_t> publish_node_port(caf::actor_system& sys,
                                          const caf::actor& whom, uint16_t port,
                                          const std::string& host, bool tls);

/// Connects to the actor published on `host`:`port` (plain or TLS as
/// `tls`, which must match the peer's port) and returns a handle to it.
/// Waits at most `timeout` (name resolution aside): CAF's own connect has
/// no handshake timeout, so a peer that accepts TCP but never answers (a
/// stopped process) would block the caller forever. With `tls`, it first
/// completes a TLS handshake and reads the start of BASP on a connection of
/// its own, and lets CAF connect only if that worked: a TLS connection that
/// CAF starts and the peer never finishes cannot be abandoned in CAF 0.17
/// (it spins the I/O thread and delays shutdown until the peer closes it).
/// Errors: `permission_denied` (the peer refused our certificate, or its
/// certificate does not verify against our CA), `deadline_exceeded`,
/// `unavailable` (refused, closed, not a node port of the same kind),
/// `failed_precondition` (as for publish_node_port()). Blocking; call from
/// a plain thread, never from inside an actor or broker.
caf::expected<caf::actor>
connect_node(caf::actor_system& sys, const std::string& host, uint16_t port,
             bool tls, caf::timespan timeout = std::chrono::seconds(10));

} // namespace weft
