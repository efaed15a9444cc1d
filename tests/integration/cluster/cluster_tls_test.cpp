// Gateway and worker nodes joined over the node port with mutual TLS
// (--node-tls-*), over 127.0.0.1: certificates from the cluster CA join and
// serve; a worker with another CA's certificate, or without TLS, never
// joins; unusable TLS files stop a node from starting.

#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include <absl/strings/str_cat.h>
#include <gtest/gtest.h>

#include "actors/demo_routes.hpp"
#include "runtime/client/client.hpp"
#include "runtime/weft.hpp"
#include "tests/integration/app/loopback_node.hpp"
#include "tests/integration/cluster/test_certs.hpp"

namespace weft {
namespace {

using testing::start_loopback_node;
using testing::test_certs;

node_tls_options tls_of(const test_certs& certs, const std::string& name) {
  node_tls_options tls;
  tls.certificate = certs.path(name + ".pem");
  tls.key = certs.path(name + ".key");
  tls.ca_file = certs.path("ca.pem");
  return tls;
}

std::unique_ptr<node> tls_gateway(const test_certs& certs) {
  auto gw = start_loopback_node([&](node_config& cfg) {
    cfg.name = "gw";
    cfg.role = "gateway";
    cfg.node_listen = "127.0.0.1:0";
    cfg.node_tls = tls_of(certs, "gateway");
  });
  if (gw) {
    EXPECT_TRUE(gw->listen().ok());
  }
  return gw;
}

/// A worker serving the demo app as `name`, joining `gateway` with `tls`.
std::unique_ptr<node> worker(const std::string& name, node& gateway,
                             node_tls_options tls) {
  auto w = start_loopback_node([&](node_config& cfg) {
    cfg.name = name;
    cfg.role = "worker";
    cfg.join = {absl::StrCat("127.0.0.1:", gateway.cluster_port())};
    cfg.join_backoff_max = absl::Milliseconds(300);
    cfg.node_tls = std::move(tls);
  });
  if (!w)
    return nullptr;
  EXPECT_TRUE(w->serve(demo_app(w->scheduler(), name)).ok());
  EXPECT_TRUE(w->listen().ok());
  return w;
}

/// node.whoami through `gateway`: the answering worker's name, or "".
std::string whoami(node& gateway) {
  client_options opts;
  opts.host = "127.0.0.1";
  opts.port = gateway.binary_port();
  auto c = client::connect(gateway.system(), gateway.reactors(), opts);
  if (!c.ok())
    return "";
  auto r = (*c)->call_sync("node.whoami", payload{});
  return r.ok() ? std::string{r->body.bytes().view()} : "";
}

/// Polls whoami() until it says `name`, for at most `limit`.
bool answers_as(node& gateway, const std::string& name,
                std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (whoami(gateway) == name)
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

TEST(ClusterTlsTest, NodesWithCertificatesOfTheClusterCaJoinAndServe) {
  test_certs certs;
  ASSERT_TRUE(certs.ok());
  auto gw = tls_gateway(certs);
  ASSERT_TRUE(gw);
  auto w = worker("w1", *gw, tls_of(certs, "worker"));
  ASSERT_TRUE(w);
  EXPECT_TRUE(answers_as(*gw, "w1", std::chrono::seconds(10)));
}

TEST(ClusterTlsTest, WorkersWithoutACertificateOfTheClusterCaNeverJoin) {
  test_certs certs;
  ASSERT_TRUE(certs.ok());
  auto gw = tls_gateway(certs);
  ASSERT_TRUE(gw);
  // Another CA's certificate (the intruder trusts the cluster CA too, so
  // only the gateway's check keeps it out), and no TLS at all: both keep
  // retrying and are refused every time.
  auto rogue = tls_of(certs, "rogue");
  rogue.ca_file = certs.path("both-ca.pem");
  {
    std::ofstream both{rogue.ca_file};
    for (const char* ca : {"rogue-ca.pem", "ca.pem"}) {
      std::ifstream in{certs.path(ca)};
      both << in.rdbuf();
    }
  }
  auto intruder = worker("rogue", *gw, rogue);
  auto plain = worker("plain", *gw, node_tls_options{});
  ASSERT_TRUE(intruder && plain);
  EXPECT_FALSE(answers_as(*gw, "rogue", std::chrono::seconds(2)));
  EXPECT_EQ(whoami(*gw), "");
  // The gateway still takes a worker with a good certificate.
  auto good = worker("w1", *gw, tls_of(certs, "worker"));
  ASSERT_TRUE(good);
  EXPECT_TRUE(answers_as(*gw, "w1", std::chrono::seconds(10)));
}

TEST(ClusterTlsTest, UnusableTlsFilesStopANodeFromStarting) {
  test_certs certs;
  ASSERT_TRUE(certs.ok());
  node_config cfg;
  cfg.tcp_listen = "";
  cfg.node_listen = "127.0.0.1:0";
  cfg.node_tls = tls_of(certs, "gateway");
  cfg.node_tls.key = certs.path("worker.key"); // not the certificate's key
  auto started = node::start(cfg, logger{log_level::off});
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.status().code(), absl::StatusCode::kInvalidArgument)
    << started.status();
  cfg.node_tls = tls_of(certs, "gateway");
  cfg.node_tls.ca_file.clear(); // certificate and key without a CA
  started = node::start(cfg, logger{log_level::off});
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.status().code(), absl::StatusCode::kInvalidArgument)
    << started.status();
}

} // namespace
} // namespace weft
