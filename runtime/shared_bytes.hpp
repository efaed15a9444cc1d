#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <absl/strings/string_view.h>
#include <absl/types/span.h>

namespace weft {

/// An immutable view into reference-counted bytes. Copies share the storage,
/// so the reactor, a connection actor and a handler read the same received
/// bytes without copying them. Safe to pass between threads; the bytes never
/// change once wrapped.
class shared_bytes {
public:
  shared_bytes() = default;

  /// Takes ownership of `data`.
  explicit shared_bytes(std::vector<std::uint8_t> data)
    : storage_(std::make_shared<const std::vector<std::uint8_t>>(std::move(data))),
      offset_(0),
      size_(storage_->size()) {
  }

  /// Copies `text` (for tests and small literals).
  static shared_bytes copy_of(absl::string_view text) {
    return shared_bytes{std::vector<std::uint8_t>(text.begin(), text.end())};
  }

  /// A sub-range sharing this storage; `offset + length` must be <= size().
  shared_bytes slice(std::size_t offset, std::size_t length) const {
    shared_bytes result;
    result.storage_ = storage_;
    result.offset_ = offset_ + offset;
    result.size_ = length;
    return result;
  }

  const std::uint8_t* data() const noexcept {
    return storage_ ? storage_->data() + offset_ : nullptr;
  }

  std::size_t size() const noexcept {
    return size_;
  }

  bool empty() const noexcept {
    return size_ == 0;
  }

  absl::Span<const std::uint8_t> span() const noexcept {
    return {data(), size_};
  }

  absl::string_view view() const noexcept {
    return {reinterpret_cast<const char*>(data()), size_};
  }

  std::string to_string() const {
    return std::string{view()};
  }

  /// Bytes of storage kept alive by this view (>= size()).
  std::size_t capacity_held() const noexcept {
    return storage_ ? storage_->size() : 0;
  }

  friend bool operator==(const shared_bytes& a, const shared_bytes& b) {
    return a.view() == b.view();
  }

  /// Serialized as its bytes (for CAF messages that leave the process).
  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f,
                                                 shared_bytes& x) {
    if constexpr (Inspector::reads_state) {
      std::vector<std::uint8_t> bytes(x.data(), x.data() + x.size());
      return f(bytes);
    } else {
      std::vector<std::uint8_t> bytes;
      auto err = f(bytes);
      x = shared_bytes{std::move(bytes)};
      return err;
    }
  }

private:
  // shared_ptr: the same received bytes are read by the reactor thread, the
  // connection actor and handlers, each holding a view for as long as needed.
  std::shared_ptr<const std::vector<std::uint8_t>> storage_;
  std::size_t offset_ = 0;
  std::size_t size_ = 0;
};

} // namespace weft
