#pragma once

#include <cstddef>
#include <cstring>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
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

  /// Takes ownership of `data` (no copy of the bytes).
  explicit shared_bytes(std::vector<std::uint8_t> data) {
    auto holder
      = std::make_shared<const std::vector<std::uint8_t>>(std::move(data));
    size_ = holder->size();
    capacity_ = size_;
    // Aliasing: the view points at the vector's bytes and owns the vector.
    storage_ = std::shared_ptr<const std::uint8_t[]>(holder, holder->data());
  }

  /// Takes shared ownership of `storage`, an array of `size` bytes that
  /// must not change any more (for buffers filled in place, e.g. by a
  /// socket read).
  shared_bytes(std::shared_ptr<const std::uint8_t[]> storage, std::size_t size)
    : storage_(std::move(storage)), size_(size), capacity_(size) {}

  /// Allocates `n` bytes without zero-filling them (one allocation with the
  /// reference count) and lets `fill(absl::Span<std::uint8_t>)` write all
  /// of them before they become immutable. For copying received bytes out
  /// of a reused buffer, where zero-filling first would be wasted work.
  template <class Fill>
  static shared_bytes allocate(std::size_t n, Fill&& fill) {
    if (n == 0)
      return shared_bytes{};
    auto bytes = std::make_shared_for_overwrite<std::uint8_t[]>(n);
    std::forward<Fill>(fill)(absl::Span<std::uint8_t>{bytes.get(), n});
    return shared_bytes{std::move(bytes), n};
  }

  /// Copies `text` into one allocation shared with the reference count.
  static shared_bytes copy_of(absl::string_view text) {
    return allocate(text.size(), [text](absl::Span<std::uint8_t> out) {
      std::memcpy(out.data(), text.data(), text.size());
    });
  }

  /// A sub-range sharing this storage; `offset + length` must be <= size().
  shared_bytes slice(std::size_t offset, std::size_t length) const {
    shared_bytes result;
    // Aliasing: same owner, pointer moved to the sub-range's first byte.
    result.storage_ = std::shared_ptr<const std::uint8_t[]>(
      storage_, storage_.get() + offset);
    result.size_ = length;
    result.capacity_ = capacity_;
    return result;
  }

  /// Narrows this view to the sub-range [offset, offset + length) in
  /// place; `offset + length` must be <= size(). Unlike slice(), it
  /// touches no reference count (an atomic shared with other threads).
  void narrow(std::size_t offset, std::size_t length) noexcept {
    auto* first = storage_.get() + offset;
    // Aliasing move: the ownership moves over, the count stays as it is.
    storage_ = std::shared_ptr<const std::uint8_t[]>(std::move(storage_),
                                                     first);
    size_ = length;
  }

  const std::uint8_t* data() const noexcept {
    return storage_.get();
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
    return storage_ ? capacity_ : 0;
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
  // Points at this view's first byte; owns (aliasing) either an array of
  // capacity_ bytes or the vector a shared_bytes was made from.
  std::shared_ptr<const std::uint8_t[]> storage_;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

} // namespace weft
