// One gateway and three workers as real weftd processes on loopback
// (docs/guide.md, "Running a cluster"): requests spread over the workers,
// keyed dispatch keeps a key on one worker, a SIGKILLed worker's requests
// in flight are answered at once, a SIGSTOPped worker is declared down
// within 5 s and used again after SIGCONT.

#include <csignal>

#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <absl/strings/numbers.h>
#include <absl/strings/str_cat.h>
#include <gtest/gtest.h>

#include "runtime/client/client.hpp"
#include "runtime/error_bridge.hpp"
#include "tests/integration/process.hpp"

namespace weft {
namespace {

using namespace std::chrono_literals;
using testing::bin_path;
using testing::child_process;
using clock_type = std::chrono::steady_clock;

/// The number after `key=` in a logfmt line (0 if absent).
std::uint16_t port_field(const std::string& line, const std::string& key) {
  auto at = line.find(key + "=");
  if (at == std::string::npos)
    return 0;
  auto rest = line.substr(at + key.size() + 1);
  if (auto colon = rest.rfind(':', rest.find(' ')); colon != std::string::npos
                                                    && colon < rest.find(' '))
    rest = rest.substr(colon + 1);
  std::uint32_t port = 0;
  (void)absl::SimpleAtoi(rest.substr(0, rest.find(' ')), &port);
  return static_cast<std::uint16_t>(port);
}

class ClusterProcessTest : public ::testing::Test {
protected:
  void SetUp() override {
    gateway_ = std::make_unique<child_process>(
      bin_path("weftd"),
      std::vector<std::string>{"--name=gw", "--role=gateway",
                               "--node-listen=127.0.0.1:0",
                               "--tcp-listen=127.0.0.1:0",
                               "--http-listen=127.0.0.1:0",
                               "--scheduler-threads=2", "--io-threads=1",
                               "--drain-timeout=1s"});
    // The node logs its edges first, then the node port.
    auto binary = gateway_->wait_for_line("event=binary.listening", 10s);
    ASSERT_TRUE(binary) << gateway_->output();
    binary_port_ = port_field(*binary, "address");
    ASSERT_NE(binary_port_, 0) << *binary;
    auto cluster = gateway_->wait_for_line("event=node.cluster_listening", 10s);
    ASSERT_TRUE(cluster) << gateway_->output();
    node_port_ = port_field(*cluster, "port");
    ASSERT_NE(node_port_, 0) << *cluster;
    for (int i = 1; i <= 3; ++i)
      start_worker(absl::StrCat("w", i));
    for (int i = 1; i <= 3; ++i)
      ASSERT_TRUE(gateway_->wait_for_line("event=cluster.node_up", 15s))
        << gateway_->output();
    client_options opts;
    opts.host = "127.0.0.1";
    opts.port = binary_port_;
    opts.io_threads = 1;
    auto c = client::connect(opts);
    ASSERT_TRUE(c.ok()) << c.status();
    client_ = std::move(*c);
  }

  void TearDown() override {
    client_.reset();
    for (auto& [name, w] : workers_) {
      w->signal(SIGCONT);
      w->signal(SIGTERM);
    }
    if (gateway_)
      gateway_->signal(SIGTERM);
    for (auto& [name, w] : workers_) {
      EXPECT_TRUE(w->wait_exit(10s)) << name;
    }
    if (gateway_) {
      EXPECT_TRUE(gateway_->wait_exit(10s)) << gateway_->output();
    }
  }

  void start_worker(const std::string& name) {
    workers_[name] = std::make_unique<child_process>(
      bin_path("weftd"),
      std::vector<std::string>{
        "--name=" + name, "--role=worker",
        absl::StrCat("--join=127.0.0.1:", node_port_),
        "--join-backoff-max=500ms", "--scheduler-threads=1",
        "--io-threads=1", "--drain-timeout=1s", "--log-level=warn"});
  }

  std::string whoami(call_options opts = {}) {
    auto r = client_->call_sync("node.whoami", payload{}, std::move(opts));
    if (!r.ok())
      return absl::StrCat("error: ", r.status().ToString());
    return std::string{r->body.bytes().view()};
  }

  std::unique_ptr<child_process> gateway_;
  std::map<std::string, std::unique_ptr<child_process>> workers_;
  std::uint16_t node_port_ = 0;
  std::uint16_t binary_port_ = 0;
  std::unique_ptr<client> client_;
};

TEST_F(ClusterProcessTest, RequestsSpreadOverAllWorkers) {
  std::map<std::string, int> counts;
  for (int i = 0; i < 30; ++i)
    ++counts[whoami()];
  EXPECT_EQ(counts, (std::map<std::string, int>{{"w1", 10}, {"w2", 10},
                                                {"w3", 10}}));
}

TEST_F(ClusterProcessTest, KeyedDispatchKeepsAKeyOnOneWorker) {
  std::set<std::string> used;
  for (int k = 0; k < 12; ++k) {
    std::set<std::string> owners;
    for (int i = 0; i < 4; ++i) {
      call_options opts;
      opts.metadata["key"] = absl::StrCat("key-", k);
      auto r = client_->call_sync("node.whoami.keyed", payload{}, opts);
      ASSERT_TRUE(r.ok()) << r.status();
      owners.insert(std::string{r->body.bytes().view()});
    }
    EXPECT_EQ(owners.size(), 1u) << "key-" << k;
    used.insert(owners.begin(), owners.end());
  }
  EXPECT_GE(used.size(), 2u); // 12 keys over 3 workers
}

TEST_F(ClusterProcessTest, AKilledWorkersRequestsInFlightAreAnsweredAtOnce) {
  std::vector<pending_call> calls;
  for (int i = 0; i < 100; ++i)
    calls.push_back(
      client_->call("node.slow", payload{shared_bytes::copy_of("1000")}));
  // Every request reached a worker once all three are busy with some:
  // whoami answers only after the requests sent before it were dispatched.
  ASSERT_NE(whoami().rfind("w", 0), std::string::npos);
  workers_["w3"]->signal(SIGKILL);
  auto killed = clock_type::now();
  int ok = 0;
  int unavailable = 0;
  for (auto& call : calls) {
    auto left = 2s - (clock_type::now() - killed);
    ASSERT_EQ(call.result.wait_for(left), std::future_status::ready)
      << "a request was still unanswered 2 s after the kill";
    auto r = call.result.get();
    if (r.ok())
      ++ok;
    else if (code_of(r.status()) == errc::unavailable)
      ++unavailable;
    else
      ADD_FAILURE() << r.status();
  }
  std::cout << "all 100 answered "
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                 clock_type::now() - killed)
                 .count()
            << " ms after the kill (" << unavailable << " unavailable)\n";
  EXPECT_EQ(ok + unavailable, 100);
  EXPECT_GE(unavailable, 30); // w3's third
  EXPECT_GE(ok, 60);
  ASSERT_TRUE(gateway_->wait_for_line("event=cluster.node_down", 2s));
  std::set<std::string> after;
  for (int i = 0; i < 10; ++i)
    after.insert(whoami());
  EXPECT_EQ(after, (std::set<std::string>{"w1", "w2"}));
}

TEST_F(ClusterProcessTest, AFrozenWorkerIsDeclaredDownAndComesBack) {
  workers_["w2"]->signal(SIGSTOP);
  auto frozen = clock_type::now();
  auto down = gateway_->wait_for_line("event=cluster.node_down", 8s);
  ASSERT_TRUE(down) << gateway_->output();
  auto took = clock_type::now() - frozen;
  EXPECT_NE(down->find("node=w2@"), std::string::npos) << *down;
  std::cout << "declared down "
            << std::chrono::duration_cast<std::chrono::milliseconds>(took)
                 .count()
            << " ms after SIGSTOP\n";
  EXPECT_LT(took, 5500ms) << "declared down after "
                          << std::chrono::duration_cast<
                               std::chrono::milliseconds>(took)
                               .count()
                          << " ms";
  std::set<std::string> while_down;
  for (int i = 0; i < 6; ++i)
    while_down.insert(whoami());
  EXPECT_EQ(while_down, (std::set<std::string>{"w1", "w3"}));
  workers_["w2"]->signal(SIGCONT);
  auto resumed = clock_type::now();
  auto up = gateway_->wait_for_line("event=cluster.node_up", 15s);
  ASSERT_TRUE(up) << gateway_->output();
  std::cout << "joined again "
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                 clock_type::now() - resumed)
                 .count()
            << " ms after SIGCONT\n";
  EXPECT_NE(up->find("node=w2@"), std::string::npos) << *up;
  std::set<std::string> again;
  for (int i = 0; i < 9; ++i)
    again.insert(whoami());
  EXPECT_EQ(again, (std::set<std::string>{"w1", "w2", "w3"}));
}

} // namespace
} // namespace weft
