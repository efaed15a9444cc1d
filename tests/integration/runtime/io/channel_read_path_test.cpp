// The channel's read path over loopback sockets: batches are exactly their
// whole units (nothing pinned beyond them), a large unit arrives in its own
// buffer, and units of any size split anywhere arrive intact.

#include "runtime/io/reactor_pool.hpp"

#include <random>

#include <caf/event_based_actor.hpp>
#include <gtest/gtest.h>

#include "runtime/io/length_prefix_framer.hpp"
#include "tests/integration/runtime/io/io_test_support.hpp"

namespace weft::io {
namespace {

using namespace testing;

constexpr std::size_t max_payload = 8 * 1024 * 1024;

/// Every batch one connection's owner received.
struct batch_log {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<shared_bytes> batches;
  std::size_t bytes = 0;

  bool wait_bytes(std::size_t n) {
    std::unique_lock<std::mutex> guard{mutex};
    return changed.wait_for(guard, patience, [&] { return bytes >= n; });
  }
};

caf::behavior logging_owner(caf::event_based_actor*,
                            std::shared_ptr<channel> chan,
                            std::shared_ptr<batch_log> log) {
  return {
    [chan, log](io_read_atom, const shared_bytes& batch) {
      {
        std::lock_guard<std::mutex> guard{log->mutex};
        log->batches.push_back(batch);
        log->bytes += batch.size();
      }
      log->changed.notify_all();
      chan->consumed(batch.size());
    },
    [](io_sent_atom, std::uint64_t) {},
    [](io_closed_atom, const caf::error&) {},
  };
}

caf::behavior logging_acceptor(caf::event_based_actor* self,
                               std::shared_ptr<batch_log> log) {
  return {
    [self, log](io_accepted_atom, const channel_ref& ref) {
      auto owner = self->spawn<caf::linked>(logging_owner, ref.ptr, log);
      ref.ptr->start(owner);
    },
  };
}

class ChannelReadPathTest : public ::testing::Test {
protected:
  void SetUp() override {
    reactor_options opts;
    opts.threads = 1;
    opts.log = logger{log_level::off};
    auto started = reactor_pool::start(*env_.sys, opts);
    ASSERT_TRUE(started.ok()) << started.status();
    pool_ = std::move(*started);
    acceptor_ = env_.sys->spawn(logging_acceptor, log_);
    auto lst = pool_->listen("127.0.0.1", 0, acceptor_,
                             length_prefix_framer::factory(max_payload), {});
    ASSERT_TRUE(lst.ok()) << lst.status();
    listener_ = *lst;
  }

  void TearDown() override {
    if (pool_)
      pool_->stop();
    caf::anon_send_exit(acceptor_, caf::exit_reason::user_shutdown);
  }

  /// The batches split into units; fails the test if one is not whole.
  std::vector<std::string> units_received() {
    std::vector<std::string> units;
    std::lock_guard<std::mutex> guard{log_->mutex};
    for (const auto& batch : log_->batches) {
      auto view = batch.view();
      while (!view.empty()) {
        length_prefix_framer cutter{max_payload};
        auto cut = cutter.next(absl::MakeConstSpan(
          reinterpret_cast<const std::uint8_t*>(view.data()), view.size()));
        EXPECT_TRUE(cut.ok() && cut->complete > 0) << "a batch ends mid-unit";
        if (!cut.ok() || cut->complete == 0)
          return units;
        units.emplace_back(view.substr(4, cut->complete - 4));
        view.remove_prefix(cut->complete);
      }
    }
    return units;
  }

  test_system env_;
  std::unique_ptr<reactor_pool> pool_;
  caf::actor acceptor_;
  std::shared_ptr<listener> listener_;
  std::shared_ptr<batch_log> log_ = std::make_shared<batch_log>();
};

std::string text_of(std::size_t size, std::uint32_t seed) {
  std::string s(size, '\0');
  std::mt19937 gen{seed};
  for (auto& c : s)
    c = static_cast<char>('a' + gen() % 26);
  return s;
}

TEST_F(ChannelReadPathTest, BatchesHoldExactlyTheirUnits) {
  raw_client client{listener_->port()};
  ASSERT_TRUE(client.connected());
  std::vector<std::uint8_t> stream;
  for (std::uint32_t i = 0; i < 200; ++i) {
    auto unit = length_prefix_framer::encode(text_of(49, i)); // 53 bytes
    stream.insert(stream.end(), unit.begin(), unit.end());
  }
  ASSERT_TRUE(client.write_all(stream));
  ASSERT_TRUE(log_->wait_bytes(stream.size()));
  std::lock_guard<std::mutex> guard{log_->mutex};
  for (const auto& batch : log_->batches)
    EXPECT_EQ(batch.capacity_held(), batch.size());
}

TEST_F(ChannelReadPathTest, LargeUnitArrivesInItsOwnExactBuffer) {
  raw_client client{listener_->port()};
  ASSERT_TRUE(client.connected());
  auto unit = length_prefix_framer::encode(text_of(1024 * 1024, 9));
  ASSERT_TRUE(client.write_all(unit));
  ASSERT_TRUE(log_->wait_bytes(unit.size()));
  std::lock_guard<std::mutex> guard{log_->mutex};
  ASSERT_EQ(log_->batches.size(), 1u);
  const auto& batch = log_->batches.front();
  EXPECT_EQ(batch.size(), unit.size());
  EXPECT_EQ(batch.capacity_held(), unit.size());
  EXPECT_TRUE(batch.view()
              == absl::string_view(reinterpret_cast<const char*>(unit.data()),
                                   unit.size()));
}

TEST_F(ChannelReadPathTest, UnitsOfAnySizeSplitAnywhereArriveIntact) {
  raw_client client{listener_->port()};
  ASSERT_TRUE(client.connected());
  std::mt19937 gen{5};
  std::vector<std::string> sent;
  std::vector<std::uint8_t> stream;
  for (std::uint32_t i = 0; i < 300; ++i) {
    // Mostly small units, some around and well above the direct-read size.
    std::size_t size = gen() % 4 == 0 ? gen() % (300 * 1024) : gen() % 200;
    sent.push_back(text_of(size, i));
    auto unit = length_prefix_framer::encode(sent.back());
    stream.insert(stream.end(), unit.begin(), unit.end());
  }
  // Pieces of random sizes (TCP_NODELAY), so that reads end anywhere.
  std::size_t at = 0;
  while (at < stream.size()) {
    auto piece = std::min<std::size_t>(stream.size() - at, 1 + gen() % 40000);
    ASSERT_TRUE(client.write_all(stream.data() + at, piece));
    at += piece;
  }
  ASSERT_TRUE(log_->wait_bytes(stream.size()));
  auto units = units_received();
  ASSERT_EQ(units.size(), sent.size());
  for (std::size_t i = 0; i < sent.size(); ++i)
    ASSERT_EQ(units[i], sent[i]) << "unit " << i;
  std::lock_guard<std::mutex> guard{log_->mutex};
  for (const auto& batch : log_->batches)
    EXPECT_EQ(batch.capacity_held(), batch.size());
}

} // namespace
} // namespace weft::io
