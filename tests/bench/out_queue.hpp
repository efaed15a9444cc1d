#pragma once

#include <cstdint>
#include <vector>

#include "runtime/shared_bytes.hpp"

namespace weft::bench {

/// Writes frames to a non-blocking socket with sendmsg, keeping (copying)
/// whatever the kernel does not take until the socket is writable again.
/// Used by one thread.
class out_queue {
public:
  /// Writes `slices` after anything pending. False when the socket failed.
  bool write(int fd, std::vector<shared_bytes> slices);

  /// Writes pending bytes. False when the socket failed.
  bool flush(int fd);

  bool empty() const noexcept {
    return pending_.size() == offset_;
  }

  std::size_t size() const noexcept {
    return pending_.size() - offset_;
  }

private:
  std::vector<std::uint8_t> pending_;
  std::size_t offset_ = 0;
};

} // namespace weft::bench
