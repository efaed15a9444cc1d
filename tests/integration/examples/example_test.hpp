#pragma once

#include <memory>

#include <gtest/gtest.h>

#include "tests/integration/examples/example_node.hpp"

namespace weft::test {

/// A fixture serving app() on a node of its own, with one client connected
/// to it; each test case gets a fresh node.
class example_test : public ::testing::Test {
protected:
  /// The blueprint of the example under test.
  virtual blueprint app() = 0;

  void SetUp() override {
    auto started = example_node::start(app());
    ASSERT_TRUE(started.ok()) << started.status();
    node_ = std::move(*started);
    auto c = node_->connect();
    ASSERT_TRUE(c.ok()) << c.status();
    client_ = *c;
  }

  std::unique_ptr<example_node> node_;
  client* client_ = nullptr; // owned by node_
};

} // namespace weft::test
