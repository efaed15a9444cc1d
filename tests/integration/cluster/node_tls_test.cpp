// Two CAF actor systems in one process, talking over 127.0.0.1 through
// publish_node_port / connect_node, with and without mutual TLS.

#include "runtime/node_tls.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/behavior.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <gtest/gtest.h>

#include "runtime/error_bridge.hpp"
#include "tests/integration/cluster/test_certs.hpp"

namespace weft {
namespace {

using namespace std::chrono_literals;

/// Failed connects must come back well within this; a refused handshake
/// takes milliseconds, only the timeout cases wait for it.
constexpr auto connect_bound = 3s;

/// An actor system with the middleman and, given options, the OpenSSL
/// module configured through apply_node_tls.
struct test_node {
  explicit test_node(const std::optional<node_tls_options>& tls) {
    cfg.set("scheduler.max-threads", 1);
    cfg.load<caf::io::middleman>();
    if (tls)
      apply_node_tls(cfg, *tls);
    sys = std::make_unique<caf::actor_system>(cfg);
  }

  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
};

/// Replies "pong <text>" to a string.
caf::behavior echo() {
  return {[](const std::string& text) {
    return "pong " + text;
  }};
}

/// A node publishing an echo actor on 127.0.0.1, port 0.
struct echo_server {
  echo_server(const std::optional<node_tls_options>& tls)
    : node(tls), actor(node.sys->spawn(echo)) {
    auto bound
      = publish_node_port(*node.sys, actor, 0, "127.0.0.1", tls.has_value());
    EXPECT_TRUE(bound) << node.sys->render(bound.error());
    port = bound ? *bound : 0;
  }

  ~echo_server() {
    caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
  }

  test_node node;
  caf::actor actor;
  uint16_t port = 0;
};

/// Sends "ping" to `remote` from `sys` and returns the reply ("" on error).
std::string ping(caf::actor_system& sys, const caf::actor& remote) {
  std::string reply;
  caf::scoped_actor self{sys};
  self->request(remote, 5s, std::string{"ping"})
    .receive([&](std::string& text) { reply = std::move(text); },
             [&](caf::error& err) { ADD_FAILURE() << sys.render(err); });
  return reply;
}

/// A TCP listener on 127.0.0.1 that never accepts: the kernel completes
/// connects to it, and nobody ever says a word.
class silent_listener {
public:
  silent_listener() : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    auto* raw = reinterpret_cast<sockaddr*>(&addr);
    if (fd_ < 0 || ::bind(fd_, raw, len) != 0 || ::listen(fd_, 8) != 0
        || ::getsockname(fd_, raw, &len) != 0)
      return;
    port_ = ntohs(addr.sin_port);
  }

  silent_listener(const silent_listener&) = delete;
  silent_listener& operator=(const silent_listener&) = delete;

  ~silent_listener() {
    if (fd_ >= 0)
      ::close(fd_);
  }

  /// The bound port, 0 if the listener could not be set up.
  uint16_t port() const {
    return port_;
  }

private:
  int fd_;
  uint16_t port_ = 0;
};

class NodeTlsLoopbackTest : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    certs_ = std::make_unique<testing::test_certs>();
  }

  static void TearDownTestSuite() {
    certs_.reset();
  }

  void SetUp() override {
    ASSERT_TRUE(certs_->ok()) << "make_test_certs.sh failed";
  }

  static const testing::test_certs& certs() {
    return *certs_;
  }

  /// A rogue node: its certificate comes from the rogue CA, it trusts ours
  /// (an attacker copies the public CA file). validate_node_tls would refuse
  /// these options, so the test skips it on purpose.
  static node_tls_options rogue() {
    auto options = certs().node("rogue");
    options.ca_file = certs().path("ca.pem");
    return options;
  }

  static std::unique_ptr<testing::test_certs> certs_;
};

std::unique_ptr<testing::test_certs> NodeTlsLoopbackTest::certs_;

TEST_F(NodeTlsLoopbackTest, NodesWithCertificatesFromTheCaTalk) {
  ASSERT_TRUE(validate_node_tls(certs().node("gateway")).ok());
  ASSERT_TRUE(validate_node_tls(certs().node("worker")).ok());
  echo_server gateway{certs().node("gateway")};
  ASSERT_NE(gateway.port, 0);
  test_node worker{certs().node("worker")};
  auto remote
    = connect_node(*worker.sys, "127.0.0.1", gateway.port, true, connect_bound);
  ASSERT_TRUE(remote) << worker.sys->render(remote.error());
  EXPECT_EQ(ping(*worker.sys, *remote), "pong ping");
}

TEST_F(NodeTlsLoopbackTest, PlainNodesTalkWithoutTls) {
  echo_server gateway{std::nullopt};
  ASSERT_NE(gateway.port, 0);
  test_node worker{std::nullopt};
  auto remote = connect_node(*worker.sys, "127.0.0.1", gateway.port, false,
                             connect_bound);
  ASSERT_TRUE(remote) << worker.sys->render(remote.error());
  EXPECT_EQ(ping(*worker.sys, *remote), "pong ping");
}

TEST_F(NodeTlsLoopbackTest, RefusesNodeWithCertificateFromAnotherCa) {
  echo_server gateway{certs().node("gateway")};
  ASSERT_NE(gateway.port, 0);
  test_node intruder{rogue()};
  auto started = std::chrono::steady_clock::now();
  auto remote = connect_node(*intruder.sys, "127.0.0.1", gateway.port, true,
                             connect_bound);
  ASSERT_FALSE(remote);
  EXPECT_LT(std::chrono::steady_clock::now() - started, connect_bound);
  EXPECT_EQ(code_of(remote.error()), errc::permission_denied)
    << intruder.sys->render(remote.error());
  // The gateway survived the refused handshake and still serves its nodes.
  test_node worker{certs().node("worker")};
  auto good
    = connect_node(*worker.sys, "127.0.0.1", gateway.port, true, connect_bound);
  ASSERT_TRUE(good) << worker.sys->render(good.error());
  EXPECT_EQ(ping(*worker.sys, *good), "pong ping");
}

TEST_F(NodeTlsLoopbackTest, NodeRefusesServerWithCertificateFromAnotherCa) {
  echo_server impostor{rogue()};
  ASSERT_NE(impostor.port, 0);
  test_node worker{certs().node("worker")};
  auto started = std::chrono::steady_clock::now();
  auto remote = connect_node(*worker.sys, "127.0.0.1", impostor.port, true,
                             connect_bound);
  ASSERT_FALSE(remote);
  EXPECT_LT(std::chrono::steady_clock::now() - started, connect_bound);
  EXPECT_EQ(code_of(remote.error()), errc::permission_denied)
    << worker.sys->render(remote.error());
}

TEST_F(NodeTlsLoopbackTest, RefusesNodeWithoutTlsOnTlsPort) {
  echo_server gateway{certs().node("gateway")};
  ASSERT_NE(gateway.port, 0);
  test_node plain{std::nullopt};
  auto started = std::chrono::steady_clock::now();
  auto remote = connect_node(*plain.sys, "127.0.0.1", gateway.port, false, 1s);
  ASSERT_FALSE(remote);
  EXPECT_LT(std::chrono::steady_clock::now() - started, connect_bound);
  EXPECT_NE(plain.sys->render(remote.error()), "");
}

TEST_F(NodeTlsLoopbackTest, TlsNodeRefusesPlainPort) {
  echo_server gateway{std::nullopt};
  ASSERT_NE(gateway.port, 0);
  test_node worker{certs().node("worker")};
  auto started = std::chrono::steady_clock::now();
  auto remote
    = connect_node(*worker.sys, "127.0.0.1", gateway.port, true, connect_bound);
  ASSERT_FALSE(remote);
  EXPECT_LT(std::chrono::steady_clock::now() - started, connect_bound);
}

TEST_F(NodeTlsLoopbackTest, ConnectGivesUpOnSilentPeerAtItsTimeout) {
  // CAF's own remote_actor would wait here forever (no handshake timeout),
  // and a TLS connection CAF started would stay in its multiplexer after
  // our timeout, spinning, with the system's destructor waiting for the
  // peer to close it. connect_node probes first, so the node shuts down
  // below while the silent listener (declared first) is still open.
  silent_listener silent;
  ASSERT_NE(silent.port(), 0);
  test_node worker{certs().node("worker")};
  auto started = std::chrono::steady_clock::now();
  auto remote
    = connect_node(*worker.sys, "127.0.0.1", silent.port(), true, 500ms);
  auto waited = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(remote);
  EXPECT_EQ(code_of(remote.error()), errc::deadline_exceeded)
    << worker.sys->render(remote.error());
  EXPECT_GE(waited, 500ms);
  EXPECT_LT(waited, connect_bound);
}

TEST_F(NodeTlsLoopbackTest, PlainConnectGivesUpOnSilentPeerAtItsTimeout) {
  silent_listener silent;
  ASSERT_NE(silent.port(), 0);
  test_node worker{std::nullopt};
  auto started = std::chrono::steady_clock::now();
  auto remote
    = connect_node(*worker.sys, "127.0.0.1", silent.port(), false, 500ms);
  auto waited = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(remote);
  EXPECT_EQ(code_of(remote.error()), errc::deadline_exceeded)
    << worker.sys->render(remote.error());
  EXPECT_LT(waited, connect_bound);
}

TEST_F(NodeTlsLoopbackTest, TlsWithoutConfiguredCertificateIsAnError) {
  // Loading CAF's OpenSSL module without certificates would give anonymous
  // TLS, which authenticates nobody: the wrappers refuse it.
  test_node plain{std::nullopt};
  auto actor = plain.sys->spawn(echo);
  auto bound = publish_node_port(*plain.sys, actor, 0, "127.0.0.1", true);
  ASSERT_FALSE(bound);
  EXPECT_EQ(code_of(bound.error()), errc::failed_precondition);
  auto remote = connect_node(*plain.sys, "127.0.0.1", 1, true, 1s);
  ASSERT_FALSE(remote);
  EXPECT_EQ(code_of(remote.error()), errc::failed_precondition);
  caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
}

} // namespace
} // namespace weft
