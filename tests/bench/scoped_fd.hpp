#pragma once

#include <unistd.h>

#include <utility>

namespace weft::bench {

/// Owns one file descriptor and closes it on destruction. Used by one thread.
/// (The bench programs may not include runtime/io/internal/, so this is the
/// bench's own copy of the idea.)
class scoped_fd {
public:
  scoped_fd() = default;

  /// Takes ownership of `fd` (-1 for none).
  explicit scoped_fd(int fd) noexcept : fd_(fd) {
  }

  scoped_fd(scoped_fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {
  }

  scoped_fd& operator=(scoped_fd&& other) noexcept {
    if (this != &other)
      reset(std::exchange(other.fd_, -1));
    return *this;
  }

  scoped_fd(const scoped_fd&) = delete;
  scoped_fd& operator=(const scoped_fd&) = delete;

  ~scoped_fd() {
    reset();
  }

  int get() const noexcept {
    return fd_;
  }

  explicit operator bool() const noexcept {
    return fd_ >= 0;
  }

  /// Closes the held descriptor (if any) and holds `fd` instead.
  void reset(int fd = -1) noexcept {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = fd;
  }

private:
  int fd_ = -1;
};

} // namespace weft::bench
