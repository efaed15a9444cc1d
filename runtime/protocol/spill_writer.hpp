#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include <absl/status/status.h>
#include <absl/types/span.h>

#include "runtime/shared_bytes.hpp"

namespace weft::protocol {

/// Writes all of `bytes` to `fd` at its position (retrying partial writes
/// and EINTR); an io_error naming `path` if the kernel refuses.
absl::Status write_all(int fd, absl::Span<const std::uint8_t> bytes,
                       const std::string& path);

/// Writes one spill file's pieces on a thread of its own, at a lower CPU
/// priority (nice 10), so that copying a large message into the page cache
/// never holds up the thread that serves the connection's sockets (an
/// urgent message beside a 1 GiB upload waited 3-4 ms per burst of writes
/// when the session wrote inline). write() never waits: the session bounds
/// the queue by holding back the sender's flow-control credit (queued()).
class spill_writer {
public:
  /// Writes to `fd` (not owned; it must outlive this writer) from its
  /// current position on. `path` names the file in errors.
  spill_writer(int fd, std::string path);

  spill_writer(const spill_writer&) = delete;
  spill_writer& operator=(const spill_writer&) = delete;

  /// Stops at once; pieces not written yet are dropped.
  ~spill_writer();

  /// Queues `piece` (a view: nothing is copied here); the first write
  /// error so far, if any.
  absl::Status write(shared_bytes piece);

  /// Waits until everything queued is written; the first error, if any.
  absl::Status finish();

  /// Bytes queued and not written yet.
  std::size_t queued() const;

private:
  void run();

  const int fd_;
  const std::string path_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<shared_bytes> pieces_;
  /// Bytes queued or being written.
  std::size_t queued_ = 0;
  bool stopping_ = false;
  absl::Status error_;
  std::thread thread_;
};

} // namespace weft::protocol
