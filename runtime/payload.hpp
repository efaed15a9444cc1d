#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <absl/status/statusor.h>

#include "runtime/shared_bytes.hpp"

namespace weft {

/// A message body: bytes in memory, or a file on disk (a large received
/// message spilled past the threshold, or a file a sender streams). Copies
/// share the bytes or the file; an owned file is deleted when the last copy
/// goes. Safe to pass between threads.
class payload {
public:
  /// An empty in-memory body.
  payload() = default;

  /// An in-memory body.
  explicit payload(shared_bytes bytes) : bytes_(std::move(bytes)) {
  }

  /// A file body of `size` bytes at `path`; `owned` files are removed when
  /// the last copy of the payload is destroyed.
  static payload file(std::string path, std::uint64_t size, bool owned);

  /// Opens `path` and takes its current size (the file is not owned).
  static absl::StatusOr<payload> from_file(const std::string& path);

  bool is_file() const noexcept {
    return file_ != nullptr;
  }

  std::uint64_t size() const noexcept;

  /// The bytes of an in-memory body (empty for a file body).
  const shared_bytes& bytes() const noexcept {
    return bytes_;
  }

  /// The path of a file body ("" for an in-memory body).
  const std::string& path() const noexcept;

  /// Reads `length` bytes at `offset` (a slice for memory, pread for files).
  absl::StatusOr<shared_bytes> read(std::uint64_t offset,
                                    std::size_t length) const;

  /// Reads `out.size()` bytes at `offset` into `out` (a copy for memory,
  /// pread for files): for reading a large body piece by piece through one
  /// buffer, without an allocation per piece.
  absl::Status read_into(std::uint64_t offset,
                         absl::Span<std::uint8_t> out) const;

  /// The whole body in memory; fails with limit_exceeded above `max_size`.
  absl::StatusOr<shared_bytes> read_all(std::uint64_t max_size) const;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, payload& x) {
    // Only in-memory bodies cross a process boundary; a file body is read
    // into memory by its owner first (remote nodes have other disks).
    return f(x.bytes_);
  }

private:
  struct file_ref;
  shared_bytes bytes_;
  // shared_ptr: copies of one payload (in a mailbox, in a handler, in the
  // outbound queue) share one file, removed when the last copy goes.
  std::shared_ptr<const file_ref> file_;
};

} // namespace weft
