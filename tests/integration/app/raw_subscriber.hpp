#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <absl/status/status.h>
#include <absl/time/time.h>

#include "runtime/protocol/session.hpp"

namespace weft::testing {

/// Many binary-protocol clients on plain blocking sockets, driven by one
/// test thread with poll(): cheap enough for 1,000 connections in a test,
/// and able to stop reading on purpose (a slow consumer). Not thread-safe.
class raw_fleet {
public:
  struct member {
    int fd = -1;
    std::unique_ptr<protocol::session> session;
    /// Stops reading the socket (but keeps it open).
    bool paused = false;
    /// The server closed the connection (or it failed).
    bool closed = false;
    /// Code of the server's GOAWAY, if any (errc).
    errc goaway_code = errc::ok;
    /// Push bodies received, and when.
    std::vector<std::string> pushes;
    std::vector<absl::Time> push_times;
    /// Replies to our requests.
    std::size_t replies = 0;
  };

  raw_fleet() = default;
  raw_fleet(const raw_fleet&) = delete;
  raw_fleet& operator=(const raw_fleet&) = delete;
  ~raw_fleet();

  /// Opens `n` connections to 127.0.0.1:`port` and waits until each is
  /// ready (SETTINGS exchanged), within `timeout`.
  absl::Status connect(std::uint16_t port, std::size_t n,
                       absl::Duration timeout);

  /// Sends weft.subscribe(`topic`) from every member and waits for every
  /// reply, within `timeout`.
  absl::Status subscribe_all(const std::string& topic, absl::Duration timeout);

  /// Reads and writes for up to `timeout`, or until `done()` is true.
  template <class Pred>
  bool pump_until(Pred done, absl::Duration timeout) {
    auto deadline = absl::Now() + timeout;
    while (!done()) {
      if (absl::Now() >= deadline)
        return false;
      pump(absl::Milliseconds(20));
    }
    return true;
  }

  /// One round of poll() over every member, at most `wait` long.
  void pump(absl::Duration wait);

  std::vector<member>& members() {
    return members_;
  }

private:
  void flush(member& m);
  void read(member& m);

  std::vector<member> members_;
};

} // namespace weft::testing
