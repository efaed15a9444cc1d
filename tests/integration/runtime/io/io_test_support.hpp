#pragma once

// Helpers of the reactor's loopback tests: an actor system, blocking raw
// client sockets with bounded waits, and owner actors that record what the
// reactor tells them into a probe the test thread waits on.

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include "runtime/error_bridge.hpp"
#include "runtime/io/channel.hpp"
#include "runtime/io/channel_ref.hpp"
#include "runtime/io/embedded_scheduler.hpp"
#include "runtime/io/unique_fd.hpp"
#include "runtime/type_ids.hpp"

namespace weft::io::testing {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

/// Upper bound of every wait in these tests; they normally take milliseconds.
constexpr auto patience = 10s;

/// An actor system with weft's message types.
struct test_system {
  /// `embed`: run weft's scheduler, whose workers run the reactors
  /// (embed_reactors).
  explicit test_system(bool embed = false) {
    cfg.set("scheduler.max-threads", 2);
    cfg.add_message_types<caf::id_block::weft>();
    if (embed)
      embed_reactors(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
  }
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
};

/// What a channel's owner saw. Written by the owner actor, read by the test.
struct probe {
  std::mutex mutex;
  std::condition_variable changed;
  std::shared_ptr<channel> chan;
  std::string received;
  std::size_t batches = 0;
  std::size_t closed = 0;
  caf::error reason;
  std::size_t sent_notes = 0;
  std::uint64_t last_sent_total = 0;

  template <class Pred>
  bool wait(Pred pred, clock::duration bound = patience) {
    std::unique_lock<std::mutex> guard{mutex};
    return changed.wait_for(guard, bound, [&] { return pred(*this); });
  }

  std::size_t closed_count() {
    std::lock_guard<std::mutex> guard{mutex};
    return closed;
  }

  template <class F>
  void update(F f) {
    {
      std::lock_guard<std::mutex> guard{mutex};
      f(*this);
    }
    changed.notify_all();
  }
};

/// How an owner actor answers reads.
enum class owner_mode {
  echo,        ///< sends every batch back and consumes it
  record,      ///< records and consumes
  hoard,       ///< records, never calls consumed()
  reply_close, ///< on the first read: sends `reply`, then close()
  blocking,    ///< echoes, but first blocks its thread for `block` when a
               ///< read contains "BLOCK"
};

struct owner_spec {
  owner_mode mode = owner_mode::echo;
  std::vector<shared_bytes> reply;
  std::chrono::milliseconds block{0};
};

/// A channel owner recording into `p`. It outlives io_closed so that a
/// second io_closed would be seen; it ends with its acceptor (linked).
inline caf::behavior owner_actor(caf::event_based_actor*,
                                 std::shared_ptr<channel> chan,
                                 std::shared_ptr<probe> p, owner_spec spec) {
  return {
    [chan, p, spec](io_read_atom, const shared_bytes& batch) {
      p->update([&](probe& q) {
        if (spec.mode != owner_mode::echo)
          q.received.append(batch.view().data(), batch.size());
        ++q.batches;
      });
      switch (spec.mode) {
        case owner_mode::blocking:
          if (batch.view().find("BLOCK") != std::string_view::npos)
            std::this_thread::sleep_for(spec.block);
          [[fallthrough]];
        case owner_mode::echo:
          chan->send({batch});
          chan->consumed(batch.size());
          break;
        case owner_mode::record:
          chan->consumed(batch.size());
          break;
        case owner_mode::hoard:
          break;
        case owner_mode::reply_close:
          chan->consumed(batch.size());
          chan->send(spec.reply);
          chan->close();
          break;
      }
    },
    [p](io_sent_atom, std::uint64_t total) {
      p->update([&](probe& q) {
        ++q.sent_notes;
        q.last_sent_total = total;
      });
    },
    [p](io_closed_atom, const caf::error& reason) {
      p->update([&](probe& q) {
        ++q.closed;
        q.reason = reason;
      });
    },
    [](ok_atom) { return ok_atom_v; }, // a barrier for the test thread
  };
}

/// The probes of every connection a listener accepted, in accept order.
struct accepted_set {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::shared_ptr<probe>> probes;
  std::vector<caf::actor> owners;

  bool wait_count(std::size_t n, clock::duration bound = patience) {
    std::unique_lock<std::mutex> guard{mutex};
    return changed.wait_for(guard, bound, [&] { return probes.size() >= n; });
  }

  std::shared_ptr<probe> at(std::size_t i) {
    std::lock_guard<std::mutex> guard{mutex};
    return probes.at(i);
  }

  caf::actor owner_at(std::size_t i) {
    std::lock_guard<std::mutex> guard{mutex};
    return owners.at(i);
  }
};

/// A listener's owner: spawns an owner_actor (linked) per connection.
inline caf::behavior acceptor_actor(caf::event_based_actor* self,
                                    std::shared_ptr<accepted_set> set,
                                    owner_spec spec) {
  return {
    [self, set, spec](io_accepted_atom, const channel_ref& ref) {
      auto p = std::make_shared<probe>();
      p->chan = ref.ptr;
      auto owner = self->spawn<caf::linked>(owner_actor, ref.ptr, p, spec);
      {
        std::lock_guard<std::mutex> guard{set->mutex};
        set->probes.push_back(p);
        set->owners.push_back(owner);
      }
      set->changed.notify_all();
      ref.ptr->start(owner);
    },
  };
}

/// A blocking client socket with bounded reads and writes.
class raw_client {
public:
  explicit raw_client(std::uint16_t port) {
    fd_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_
      = ::connect(fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr))
        == 0;
    int on = 1;
    ::setsockopt(fd_.get(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
  }

  bool connected() const {
    return connected_;
  }

  int fd() const {
    return fd_.get();
  }

  bool write_all(const void* data, std::size_t size) {
    auto bytes = static_cast<const std::uint8_t*>(data);
    auto deadline = clock::now() + patience;
    while (size > 0 && clock::now() < deadline) {
      pollfd pfd{fd_.get(), POLLOUT, 0};
      if (::poll(&pfd, 1, 100) <= 0)
        continue;
      auto n = ::send(fd_.get(), bytes, size, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EINTR))
        continue;
      if (n <= 0)
        return false;
      bytes += n;
      size -= static_cast<std::size_t>(n);
    }
    return size == 0;
  }

  bool write_all(const std::vector<std::uint8_t>& bytes) {
    return write_all(bytes.data(), bytes.size());
  }

  /// Reads exactly `size` bytes (or fails on EOF, error, or the bound).
  bool read_exact(std::string& out, std::size_t size,
                  clock::duration bound = patience) {
    auto deadline = clock::now() + bound;
    out.resize(size);
    std::size_t got = 0;
    while (got < size && clock::now() < deadline) {
      pollfd pfd{fd_.get(), POLLIN, 0};
      if (::poll(&pfd, 1, 100) <= 0)
        continue;
      auto n = ::recv(fd_.get(), out.data() + got, size - got, MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EINTR))
        continue;
      if (n <= 0)
        break;
      got += static_cast<std::size_t>(n);
    }
    out.resize(got);
    return got == size;
  }

  /// Reads until EOF; returns false on an error or the bound.
  bool read_to_eof(std::string& out, clock::duration bound = patience) {
    auto deadline = clock::now() + bound;
    char buf[65536];
    while (clock::now() < deadline) {
      pollfd pfd{fd_.get(), POLLIN, 0};
      if (::poll(&pfd, 1, 100) <= 0)
        continue;
      auto n = ::recv(fd_.get(), buf, sizeof(buf), MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EINTR))
        continue;
      if (n < 0)
        return false;
      if (n == 0)
        return true;
      out.append(buf, static_cast<std::size_t>(n));
    }
    return false;
  }

  /// Closes with an RST instead of a FIN.
  void reset() {
    linger hard{1, 0};
    ::setsockopt(fd_.get(), SOL_SOCKET, SO_LINGER, &hard, sizeof(hard));
    fd_.reset();
  }

  void close() {
    fd_.reset();
  }

private:
  unique_fd fd_;
  bool connected_ = false;
};

/// Waits until `pred()` holds, re-checking on a short poll; bounded.
inline bool eventually(const std::function<bool()>& pred,
                       clock::duration bound = patience) {
  auto deadline = clock::now() + bound;
  while (!pred()) {
    if (clock::now() >= deadline)
      return false;
    // Polling a counter that another thread advances: there is no event to
    // wait on, so yield the core rather than sleep a fixed time.
    std::this_thread::yield();
  }
  return true;
}

} // namespace weft::io::testing
