#pragma once

#include <functional>
#include <memory>

#include <gtest/gtest.h>

#include "runtime/logger.hpp"
#include "runtime/node.hpp"

namespace weft::testing {

/// Starts a node for a loopback test: 2 scheduler threads, 1 reactor,
/// binary protocol on 127.0.0.1 port 0, logging off; `tweak` adjusts the
/// config first. Fails the test (and returns nullptr) if it cannot start.
inline std::unique_ptr<node>
start_loopback_node(const std::function<void(node_config&)>& tweak = {}) {
  node_config cfg;
  cfg.scheduler_threads = 2;
  cfg.io_threads = 1;
  cfg.tcp_listen = "127.0.0.1:0";
  cfg.drain_timeout = absl::Seconds(2);
  if (tweak)
    tweak(cfg);
  auto started = node::start(cfg, logger{log_level::off});
  EXPECT_TRUE(started.ok()) << started.status();
  return started.ok() ? std::move(*started) : nullptr;
}

} // namespace weft::testing
