#include "runtime/node_tls.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <set>
#include <system_error>
#include <utility>
#include <vector>

#include <absl/status/statusor.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/str_join.h>
#include <absl/time/time.h>
#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/middleman_actor.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/openssl/publish.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/sec.hpp>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runtime/errc.hpp"
#include "runtime/error_bridge.hpp"

namespace weft {

namespace {

// -- RAII for OpenSSL objects ------------------------------------------------

/// A unique_ptr deleter calling the C library's `Free`.
template <auto Free>
struct free_with {
  template <class T>
  void operator()(T* ptr) const noexcept {
    Free(ptr);
  }
};

using ssl_ctx_ptr = std::unique_ptr<SSL_CTX, free_with<SSL_CTX_free>>;
using x509_store_ctx_ptr
  = std::unique_ptr<X509_STORE_CTX, free_with<X509_STORE_CTX_free>>;
using bio_ptr = std::unique_ptr<BIO, free_with<BIO_free>>;
using file_ptr = std::unique_ptr<std::FILE, free_with<::fclose>>;

// -- error text
// ----------------------------------------------------------------

/// Drains this thread's OpenSSL error queue into one line ("" if empty).
std::string openssl_errors() {
  std::vector<std::string> reasons;
  while (auto code = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof(buf));
    // OpenSSL 3 often queues the same reason twice (provider and caller).
    if (std::find(reasons.begin(), reasons.end(), buf) == reasons.end())
      reasons.emplace_back(buf);
  }
  return absl::StrJoin(reasons, "; ");
}

absl::Status invalid(absl::string_view what, const std::string& reason) {
  if (reason.empty())
    return make_status(errc::invalid_argument, what);
  return make_status(errc::invalid_argument, absl::StrCat(what, ": ", reason));
}

/// An ASN1_TIME as OpenSSL prints it, e.g. "Jan  2 00:00:00 2020 GMT".
std::string time_text(const ASN1_TIME* time) {
  bio_ptr bio{BIO_new(BIO_s_mem())};
  if (bio == nullptr || time == nullptr
      || ASN1_TIME_print(bio.get(), time) != 1)
    return "?";
  char* data = nullptr;
  auto len = BIO_get_mem_data(bio.get(), &data);
  return len > 0 ? std::string(data, static_cast<size_t>(len)) : "?";
}

// -- files
// ---------------------------------------------------------------------

/// OK if `path` names a regular file this process can open for reading.
absl::Status check_readable(absl::string_view option, const std::string& path) {
  std::error_code ec;
  auto status = std::filesystem::status(path, ec);
  if (ec)
    return invalid(absl::StrCat(option, " file '", path, "'"), ec.message());
  if (!std::filesystem::is_regular_file(status))
    return invalid(absl::StrCat(option, " file '", path, "'"),
                   "not a regular file");
  file_ptr file{std::fopen(path.c_str(), "rb")};
  if (file == nullptr)
    return invalid(absl::StrCat(option, " file '", path, "'"),
                   std::strerror(errno));
  return absl::OkStatus();
}

// -- passphrase
// ------------------------------------------------------------------

/// What the password callback was given and what happened in it.
struct passphrase_source {
  /// Non-owning: points into the options validate_node_tls() received.
  const std::string* passphrase = nullptr;
  bool asked = false;
  bool too_long = false;
};

/// OpenSSL's pem_password_cb. Never prompts: an empty passphrase makes the
/// load fail. Rejects a passphrase that CAF's own callback would truncate
/// (it copies at most `size` - 1 bytes).
int passphrase_callback(char* buf, int size, int /*rwflag*/, void* user) {
  auto* source = static_cast<passphrase_source*>(user);
  source->asked = true;
  const auto& passphrase = *source->passphrase;
  if (passphrase.empty() || size <= 0)
    return -1;
  if (passphrase.size() >= static_cast<size_t>(size)) {
    source->too_long = true;
    return -1;
  }
  std::memcpy(buf, passphrase.data(), passphrase.size());
  return static_cast<int>(passphrase.size());
}

// -- chain verification
// ----------------------------------------------------------

/// Verifies `leaf` (with the untrusted `chain`) against `store` for the TLS
/// role `role` ("ssl_server" or "ssl_client"), as OpenSSL's handshake does.
absl::Status verify_for(X509_STORE* store, X509* leaf, STACK_OF(X509) * chain,
                        const char* role, const node_tls_options& options) {
  x509_store_ctx_ptr ctx{X509_STORE_CTX_new()};
  if (ctx == nullptr || X509_STORE_CTX_init(ctx.get(), store, leaf, chain) != 1
      || X509_STORE_CTX_set_default(ctx.get(), role) != 1)
    return make_status(errc::internal,
                       absl::StrCat("cannot set up certificate verification: ",
                                    openssl_errors()));
  if (X509_verify_cert(ctx.get()) == 1)
    return absl::OkStatus();
  ERR_clear_error();
  auto code = X509_STORE_CTX_get_error(ctx.get());
  auto reason = std::string{X509_verify_cert_error_string(code)};
  auto* subject = X509_STORE_CTX_get_current_cert(ctx.get());
  auto where = absl::StrCat("certificate '", options.certificate, "'");
  switch (code) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return make_status(
        errc::failed_precondition,
        absl::StrCat(where, ": ", subject == leaf ? "" : "a CA in its chain ",
                     "expired on ",
                     time_text(subject ? X509_get0_notAfter(subject) : nullptr),
                     " (", reason, ")"));
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return make_status(
        errc::failed_precondition,
        absl::StrCat(
          where, ": ", subject == leaf ? "" : "a CA in its chain ",
          "is valid only from ",
          time_text(subject ? X509_get0_notBefore(subject) : nullptr), " (",
          reason, ")"));
    case X509_V_ERR_INVALID_PURPOSE:
      return make_status(
        errc::failed_precondition,
        absl::StrCat(where, " does not allow TLS ",
                     std::strcmp(role, "ssl_server") == 0 ? "server" : "client",
                     " use, and a node both accepts and connects: its "
                     "extendedKeyUsage must list serverAuth and clientAuth, "
                     "its keyUsage digitalSignature (",
                     reason, ")"));
    default:
      return make_status(errc::failed_precondition,
                         absl::StrCat(where,
                                      " does not verify against the CA file '",
                                      options.ca_file, "': ", reason));
  }
}

} // namespace

bool node_tls_options::enabled() const noexcept {
  return !certificate.empty() || !key.empty() || !passphrase.empty()
         || !ca_file.empty();
}

absl::Status validate_node_tls(const node_tls_options& options) {
  if (!options.enabled())
    return absl::OkStatus();
  // 1. All three files together: with any openssl.* key set, CAF requires a
  //    certificate from both sides, so a partial set cannot work.
  std::vector<std::string> missing;
  if (options.certificate.empty())
    missing.emplace_back("certificate (--node-tls-cert)");
  if (options.key.empty())
    missing.emplace_back("private key (--node-tls-key)");
  if (options.ca_file.empty())
    missing.emplace_back("CA file (--node-tls-ca)");
  if (!missing.empty())
    return make_status(
      errc::invalid_argument,
      absl::StrCat("node TLS needs a certificate, its private "
                   "key and the cluster CA together; missing: ",
                   absl::StrJoin(missing, ", ")));
  // 2. Readable files, for a precise error before OpenSSL's.
  for (auto [option, path] : {std::pair{"certificate", &options.certificate},
                              std::pair{"private key", &options.key},
                              std::pair{"CA", &options.ca_file}})
    if (auto status = check_readable(option, *path); !status.ok())
      return status;
  // 3. Load everything into a context, in the order libcaf_openssl does
  //    (session.cpp, create_ssl_context), with a callback that never prompts.
  ERR_clear_error();
  ssl_ctx_ptr ctx{SSL_CTX_new(TLS_method())};
  if (ctx == nullptr)
    return make_status(
      errc::internal,
      absl::StrCat("cannot create an OpenSSL context: ", openssl_errors()));
  passphrase_source source{&options.passphrase};
  SSL_CTX_set_default_passwd_cb(ctx.get(), passphrase_callback);
  SSL_CTX_set_default_passwd_cb_userdata(ctx.get(), &source);
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), options.certificate.c_str())
      != 1)
    return invalid(absl::StrCat("cannot load the certificate chain '",
                                options.certificate, "'"),
                   openssl_errors());
  source.asked = false;
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), options.key.c_str(),
                                  SSL_FILETYPE_PEM)
      != 1) {
    // The key loaded but belongs to another certificate: OpenSSL checks the
    // pair already while loading (X509_check_private_key).
    auto first = ERR_peek_error();
    auto mismatch = ERR_GET_LIB(first) == ERR_LIB_X509
                    && ERR_GET_REASON(first) == X509_R_KEY_VALUES_MISMATCH;
    auto reason = openssl_errors();
    if (mismatch)
      return invalid(absl::StrCat("private key '", options.key,
                                  "' does not match certificate '",
                                  options.certificate, "'"),
                     reason);
    auto where = absl::StrCat("private key '", options.key, "'");
    if (source.too_long)
      return invalid(where, "the passphrase is longer than OpenSSL's limit "
                            "for PEM passphrases");
    if (source.asked && options.passphrase.empty())
      return invalid(where, "the key is encrypted and no passphrase was given "
                            "(--node-tls-key-passphrase)");
    if (source.asked)
      return invalid(absl::StrCat("cannot decrypt the ", where,
                                  " with the given passphrase"),
                     reason);
    return invalid(absl::StrCat("cannot load the ", where), reason);
  }
  if (SSL_CTX_check_private_key(ctx.get()) != 1)
    return invalid(absl::StrCat("private key '", options.key,
                                "' does not match certificate '",
                                options.certificate, "'"),
                   openssl_errors());
  if (SSL_CTX_load_verify_locations(ctx.get(), options.ca_file.c_str(), nullptr)
      != 1)
    return invalid(
      absl::StrCat("cannot load the CA file '", options.ca_file, "'"),
      openssl_errors());
  // 4. Our own certificate must verify against the CA, now, for both roles:
  //    the peers verify it the same way in every handshake.
  auto* store = SSL_CTX_get_cert_store(ctx.get());  // owned by ctx
  auto* leaf = SSL_CTX_get0_certificate(ctx.get()); // owned by ctx
  STACK_OF(X509)* chain = nullptr;                  // owned by ctx
  if (store == nullptr || leaf == nullptr
      || SSL_CTX_get0_chain_certs(ctx.get(), &chain) != 1)
    return make_status(errc::internal,
                       absl::StrCat("cannot read back the loaded certificate: ",
                                    openssl_errors()));
  for (const char* role : {"ssl_server", "ssl_client"})
    if (auto status = verify_for(store, leaf, chain, role, options);
        !status.ok())
      return status;
  ERR_clear_error();
  return absl::OkStatus();
}

void apply_node_tls(caf::actor_system_config& cfg,
                    const node_tls_options& options) {
  auto absolute = [](const std::string& path) {
    std::error_code ec;
    auto result = std::filesystem::absolute(path, ec);
    return ec ? path : result.string();
  };
  cfg.load<caf::openssl::manager>();
  cfg.set("openssl.certificate", absolute(options.certificate));
  cfg.set("openssl.key", absolute(options.key));
  cfg.set("openssl.passphrase", options.passphrase);
  cfg.set("openssl.cafile", absolute(options.ca_file));
}

namespace {

// -- the handshake probe
// -------------------------------------------------------
//
// CAF 0.17.6 cannot abandon a connection whose TLS handshake never finishes:
// after our request timeout it stays in the multiplexer, spinning a core,
// and the actor system's destructor waits for it until the peer closes
// (measured; docs/deployment.md). So connect_node first checks, on a
// connection of its own with a deadline, that the peer answers like a node
// port: a TLS handshake with our certificate followed by the first bytes of
// BASP (the server speaks first). Only then does it let CAF connect. This also
// gives precise errors (whose certificate was refused and why). A peer that
// stalls between the probe and CAF's connect still hits the CAF limitation;
// that window is short.

/// Owns a socket descriptor.
class unique_fd {
public:
  explicit unique_fd(int fd = -1) noexcept : fd_(fd) {}
  unique_fd(unique_fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  unique_fd& operator=(unique_fd&& other) noexcept {
    std::swap(fd_, other.fd_);
    return *this;
  }
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  ~unique_fd() {
    if (fd_ >= 0)
      ::close(fd_);
  }
  int get() const noexcept {
    return fd_;
  }

private:
  int fd_;
};

using ssl_ptr = std::unique_ptr<SSL, free_with<SSL_free>>;

using probe_clock = std::chrono::steady_clock;

/// Waits until `fd` is ready for `events` or `deadline` passes; false on
/// timeout or a poll error.
bool wait_for(int fd, short events, probe_clock::time_point deadline) {
  for (;;) {
    // Rounded up: poll's milliseconds must not end the wait early.
    auto left = std::chrono::ceil<std::chrono::milliseconds>(
      deadline - probe_clock::now());
    if (left.count() <= 0)
      return false;
    pollfd pfd{fd, events, 0};
    auto res = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (res > 0)
      return true;
    if (res < 0 && errno != EINTR)
      return false;
  }
}

/// A non-blocking TCP connection to `host`:`port` (first address that
/// connects before `deadline`). Name resolution itself is not bounded.
absl::StatusOr<unique_fd> tcp_connect(const std::string& host, uint16_t port,
                                      probe_clock::time_point deadline) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* raw = nullptr;
  auto service = std::to_string(port);
  if (auto rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &raw);
      rc != 0)
    return make_status(
      errc::unavailable,
      absl::StrCat("cannot resolve '", host, "': ", ::gai_strerror(rc)));
  std::unique_ptr<addrinfo, free_with<freeaddrinfo>> list{raw};
  std::string last_error = "no address";
  for (auto* ai = list.get(); ai != nullptr; ai = ai->ai_next) {
    unique_fd fd{::socket(ai->ai_family,
                          ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                          ai->ai_protocol)};
    if (fd.get() < 0) {
      last_error = std::strerror(errno);
      continue;
    }
    if (::connect(fd.get(), ai->ai_addr, ai->ai_addrlen) == 0)
      return fd;
    if (errno != EINPROGRESS) {
      last_error = std::strerror(errno);
      continue;
    }
    if (!wait_for(fd.get(), POLLOUT, deadline))
      return make_status(errc::deadline_exceeded, "TCP connect timed out");
    int err = 0;
    socklen_t len = sizeof(err);
    if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) == 0
        && err == 0)
      return fd;
    last_error = std::strerror(err != 0 ? err : errno);
  }
  return make_status(errc::unavailable, last_error);
}

/// A client context like libcaf_openssl's (session.cpp) from `cfg`.
absl::StatusOr<ssl_ctx_ptr> probe_context(const caf::actor_system_config& cfg,
                                          passphrase_source& source) {
  ssl_ctx_ptr ctx{SSL_CTX_new(TLS_method())};
  if (ctx == nullptr)
    return make_status(errc::internal, "cannot create an OpenSSL context");
  SSL_CTX_set_default_passwd_cb(ctx.get(), passphrase_callback);
  SSL_CTX_set_default_passwd_cb_userdata(ctx.get(), &source);
  auto* cafile
    = cfg.openssl_cafile.empty() ? nullptr : cfg.openssl_cafile.c_str();
  auto* capath
    = cfg.openssl_capath.empty() ? nullptr : cfg.openssl_capath.c_str();
  if (SSL_CTX_use_certificate_chain_file(ctx.get(),
                                         cfg.openssl_certificate.c_str())
        != 1
      || SSL_CTX_use_PrivateKey_file(ctx.get(), cfg.openssl_key.c_str(),
                                     SSL_FILETYPE_PEM)
           != 1
      || ((cafile != nullptr || capath != nullptr)
          && SSL_CTX_load_verify_locations(ctx.get(), cafile, capath) != 1))
    return make_status(
      errc::failed_precondition,
      absl::StrCat("cannot load this node's TLS material: ", openssl_errors()));
  SSL_CTX_set_verify(
    ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  if (SSL_CTX_set_cipher_list(ctx.get(), "HIGH:!aNULL:!MD5") != 1)
    return make_status(errc::internal, "cannot set the cipher list");
  return ctx;
}

/// True if `code` (from the error queue) reports a TLS alert by which the
/// peer rejected our certificate.
bool certificate_alert(unsigned long code) {
  if (ERR_GET_LIB(code) != ERR_LIB_SSL)
    return false;
  switch (ERR_GET_REASON(code)) {
    case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
    case SSL_R_TLSV1_ALERT_ACCESS_DENIED:
    case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
    case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
    case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
      return true;
    default:
      return false;
  }
}

/// Checks that the TLS node port `host`:`port` completes a mutually
/// authenticated handshake and starts BASP before `deadline`.
absl::Status probe_node_port(const caf::actor_system_config& cfg,
                             const std::string& host, uint16_t port,
                             probe_clock::time_point deadline) {
  auto fd = tcp_connect(host, port, deadline);
  if (!fd.ok())
    return fd.status();
  char byte = 0;
  ERR_clear_error();
  passphrase_source source{&cfg.openssl_passphrase};
  auto ctx = probe_context(cfg, source);
  if (!ctx.ok())
    return ctx.status();
  ssl_ptr ssl{SSL_new(ctx->get())};
  if (ssl == nullptr || SSL_set_fd(ssl.get(), fd->get()) != 1)
    return make_status(errc::internal, "cannot create an SSL session");
  SSL_set_connect_state(ssl.get());
  // The handshake, then the first byte of the server's BASP handshake: with
  // TLS 1.3 the server judges our certificate after our SSL_connect returns,
  // and its refusal arrives as an alert on this read.
  bool connected = false;
  for (;;) {
    auto res
      = connected ? SSL_read(ssl.get(), &byte, 1) : SSL_connect(ssl.get());
    if (res == 1 && !connected) {
      connected = true;
      continue;
    }
    if (res > 0)
      return absl::OkStatus();
    auto err = SSL_get_error(ssl.get(), res);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      if (!wait_for(fd->get(), err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
                    deadline))
        return make_status(
          errc::deadline_exceeded,
          connected ? "TLS handshake done, but the peer sent no BASP "
                      "handshake (stalled?)"
                    : "connected, but the peer did not complete a TLS "
                      "handshake (is it a plain node port, or stalled?)");
      continue;
    }
    auto verify = SSL_get_verify_result(ssl.get());
    if (!connected && verify != X509_V_OK) {
      ERR_clear_error();
      return make_status(errc::permission_denied,
                         absl::StrCat("the peer's certificate does not verify "
                                      "against this node's CA: ",
                                      X509_verify_cert_error_string(verify)));
    }
    // An alert about our certificate means the peer refused it: after
    // SSL_connect with TLS 1.3, during it with TLS 1.2.
    auto refused = connected || certificate_alert(ERR_peek_error());
    auto reason = openssl_errors();
    if (reason.empty())
      reason = err == SSL_ERROR_ZERO_RETURN || err == SSL_ERROR_SYSCALL
                 ? "the peer closed the connection"
                 : "TLS error";
    if (refused)
      return make_status(errc::permission_denied,
                         absl::StrCat("the peer refused this node's "
                                      "certificate: ",
                                      reason));
    return make_status(errc::unavailable,
                       absl::StrCat("TLS handshake failed (is it a plain "
                                    "node port?): ",
                                    reason));
  }
}

/// The middleman actor to publish or connect through, or an error when TLS
/// is wanted but this system has no authenticating OpenSSL module.
caf::expected<caf::io::middleman_actor>
node_port_manager(caf::actor_system& sys, bool tls) {
  if (!sys.has_middleman())
    return make_weft_error(errc::failed_precondition,
                           "the actor system has no middleman "
                           "(cfg.load<caf::io::middleman>())");
  if (!tls)
    return sys.middleman().actor_handle();
  if (!sys.has_openssl_manager())
    return make_weft_error(errc::failed_precondition,
                           "node TLS requested but the actor system has no "
                           "OpenSSL module (apply_node_tls was not called)");
  // Without any openssl.* key, libcaf_openssl falls back to anonymous TLS
  // that authenticates nobody: never use it.
  if (!sys.openssl_manager().authentication_enabled())
    return make_weft_error(errc::failed_precondition,
                           "node TLS requested but no certificate is "
                           "configured (apply_node_tls was not called)");
  return sys.openssl_manager().actor_handle();
}

} // namespace

caf::expected<uint16_t> publish_node_port(caf::actor_system& sys,
                                          const caf::actor& whom, uint16_t port,
                                          const std::string& host, bool tls) {
  if (!whom)
    return make_weft_error(errc::invalid_argument,
                           "cannot publish an invalid actor handle");
  auto manager = node_port_manager(sys, tls);
  if (!manager)
    return std::move(manager.error());
  // What caf::io::publish and caf::openssl::publish do, minus the choice of
  // module: one blocking request to its middleman actor. SO_REUSEADDR (the
  // last argument), as servers do: a node restarted on its port must not
  // wait for the old connections' TIME_WAIT.
  caf::expected<uint16_t> result{caf::error{}};
  caf::scoped_actor self{sys};
  self
    ->request(*manager, caf::infinite, caf::publish_atom_v, port,
              caf::actor_cast<caf::strong_actor_ptr>(whom),
              sys.message_types(whom), host, true)
    .receive([&](uint16_t bound) { result = bound; },
             [&](caf::error& err) {
               result = make_weft_error(
                 errc::io_error,
                 absl::StrCat("cannot publish the node port on ",
                              host.empty() ? "*" : host, ":", port,
                              tls ? " (TLS)" : "", ": ", sys.render(err)));
             });
  return result;
}

caf::expected<caf::actor> connect_node(caf::actor_system& sys,
                                       const std::string& host, uint16_t port,
                                       bool tls, caf::timespan timeout) {
  auto manager = node_port_manager(sys, tls);
  if (!manager)
    return std::move(manager.error());
  auto peer = absl::StrCat(host, ":", port, tls ? " (TLS)" : "");
  auto requested = absl::FormatDuration(absl::FromChrono(timeout));
  auto deadline = probe_clock::now()
                  + std::chrono::duration_cast<probe_clock::duration>(timeout);
  // Plain BASP needs no probe: a stalled plain connection neither spins nor
  // blocks shutdown (measured), and CAF's refusal of a TLS port is quick.
  if (auto probed = tls ? probe_node_port(sys.config(), host, port, deadline)
                        : absl::OkStatus();
      !probed.ok())
    return make_weft_error(
      code_of(probed),
      absl::StrCat("cannot connect to ", peer, ": ", probed.message()));
  timeout = std::chrono::duration_cast<caf::timespan>(
    std::max(deadline - probe_clock::now(), probe_clock::duration{0}));
  // caf::io::remote_actor and caf::openssl::remote_actor send the same
  // request with an infinite timeout; this one is bounded.
  caf::expected<caf::actor> result{caf::error{}};
  caf::scoped_actor self{sys};
  self->request(*manager, timeout, caf::connect_atom_v, host, port)
    .receive(
      [&](const caf::node_id&, caf::strong_actor_ptr& ptr,
          const std::set<std::string>& interface) {
        if (!ptr)
          result = make_weft_error(
            errc::not_found, absl::StrCat("no actor is published at ", peer));
        else if (!sys.assignable<caf::actor>(interface))
          result = make_weft_error(
            errc::invalid_argument,
            absl::StrCat("the actor published at ", peer,
                         " is statically typed, not a caf::actor"));
        else
          result = caf::actor_cast<caf::actor>(std::move(ptr));
      },
      [&](caf::error& err) {
        if (err == caf::sec::request_timeout)
          result = make_weft_error(
            errc::deadline_exceeded,
            absl::StrCat("no handshake with ", peer, " within ", requested,
                         " (is it a weft node port, with TLS ",
                         tls ? "on" : "off", " like this node?)"));
        else
          result = make_weft_error(
            errc::unavailable,
            absl::StrCat("cannot connect to ", peer, ": ", sys.render(err)));
      });
  return result;
}

} // namespace weft
