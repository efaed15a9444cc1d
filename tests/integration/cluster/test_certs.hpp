#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

#include <gtest/gtest.h>
#include <stdlib.h> // mkdtemp

#include "runtime/node_tls.hpp"

#ifndef WEFT_MAKE_TEST_CERTS
#error                                                                         \
  "WEFT_MAKE_TEST_CERTS must name tests/integration/cluster/make_test_certs.sh"
#endif

namespace weft::testing {

/// Throw-away TLS material written by make_test_certs.sh into a fresh
/// temporary directory, removed again by the destructor. Keys never leave
/// that directory. Used from one test thread.
class test_certs {
public:
  /// Runs make_test_certs.sh (`passphrase` non-empty: node keys encrypted
  /// with it) for the nodes "gateway" and "worker". Check ok() afterwards.
  explicit test_certs(std::string passphrase = "")
    : passphrase_(std::move(passphrase)) {
    auto base = std::filesystem::temp_directory_path() / "weft-tls.XXXXXX";
    std::string templ = base.string();
    if (mkdtemp(templ.data()) == nullptr)
      return;
    dir_ = templ;
    std::string command = WEFT_MAKE_TEST_CERTS;
    if (!passphrase_.empty())
      command += " --passphrase '" + passphrase_ + "'";
    command += " '" + (dir_ / "c").string() + "' gateway worker";
    command += " </dev/null >/dev/null";
    ok_ = std::system(command.c_str()) == 0;
  }

  test_certs(const test_certs&) = delete;
  test_certs& operator=(const test_certs&) = delete;

  ~test_certs() {
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }

  /// True if the script succeeded.
  bool ok() const {
    return ok_;
  }

  /// The path of a file the script wrote, e.g. path("ca.pem").
  std::string path(const std::string& name) const {
    return (dir_ / "c" / name).string();
  }

  /// The options of node `name` (certificate NAME.pem, key NAME.key), trusting
  /// ca.pem, with this set's passphrase.
  node_tls_options node(const std::string& name) const {
    return node_tls_options{path(name + ".pem"), path(name + ".key"),
                            passphrase_, path("ca.pem")};
  }

  /// Signs a certificate NAME.pem (key NAME.key, unencrypted) with ca.pem
  /// whose X.509v3 extensions are `extensions` (openssl -extfile syntax).
  /// Returns false if openssl failed.
  bool sign_extra(const std::string& name,
                  const std::string& extensions) const {
    auto ext = path(name + ".ext");
    std::string command
      = "set -e; cd '" + (dir_ / "c").string()
        + "'; umask 077; "
          "printf '%s\\n' '"
        + extensions + "' > '" + ext
        + "'; "
          "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 "
          "-out "
        + name
        + ".key 2>/dev/null; "
          "openssl req -new -key "
        + name + ".key -subj '/O=weft test/CN=" + name + "' -out " + name
        + ".csr; "
          "openssl x509 -req -in "
        + name
        + ".csr -CA ca.pem -CAkey ca.key "
          "-CAcreateserial -CAserial "
        + name + ".srl -sha256 -days 2 -extfile '" + ext + "' -out " + name
        + ".pem 2>/dev/null";
    command += " </dev/null >/dev/null";
    return std::system(command.c_str()) == 0;
  }

private:
  std::string passphrase_;
  std::filesystem::path dir_;
  bool ok_ = false;
};

} // namespace weft::testing
