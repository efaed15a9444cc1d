#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

namespace weft {

/// A FIFO queue (with push_front for "put it back") in one ring buffer that
/// allocates nothing until the first push. It replaces std::deque in
/// per-connection state: libstdc++'s deque allocates a 512-byte node and
/// its map at construction and is 80 bytes itself, which a connection with
/// several idle queues pays for nothing (docs/benchmarks.md, memory per
/// connection). This one is 24 bytes and grows by doubling, from about 16
/// bytes of slots; it keeps its capacity when emptied, so a busy queue does
/// not allocate again. Not thread-safe: one thread (actor, reactor) at a
/// time.
///
/// `T` must be default-constructible and movable; popped slots are reset to
/// `T{}` so that they hold no resources (e.g. shared_bytes storage).
template <class T>
class small_fifo {
public:
  small_fifo() = default;

  small_fifo(small_fifo&& other) noexcept
    : slots_(std::move(other.slots_)), head_(std::exchange(other.head_, 0)),
      size_(std::exchange(other.size_, 0)),
      capacity_(std::exchange(other.capacity_, 0)) {}

  small_fifo& operator=(small_fifo&& other) noexcept {
    slots_ = std::move(other.slots_);
    head_ = std::exchange(other.head_, 0);
    size_ = std::exchange(other.size_, 0);
    capacity_ = std::exchange(other.capacity_, 0);
    return *this;
  }

  small_fifo(const small_fifo&) = delete;
  small_fifo& operator=(const small_fifo&) = delete;

  bool empty() const noexcept {
    return size_ == 0;
  }

  std::size_t size() const noexcept {
    return size_;
  }

  /// Slots allocated (0 until the first push).
  std::size_t capacity() const noexcept {
    return capacity_;
  }

  /// Frees the slots of an empty queue (a no-op otherwise), so that an
  /// owner that went idle keeps no capacity.
  void release_if_empty() noexcept {
    if (size_ != 0)
      return;
    slots_.reset();
    head_ = 0;
    capacity_ = 0;
  }

  /// The oldest element; the queue must not be empty.
  T& front() noexcept {
    return slots_[head_];
  }

  const T& front() const noexcept {
    return slots_[head_];
  }

  /// The `i`-th element from the front; `i` must be < size().
  T& operator[](std::size_t i) noexcept {
    return slots_[wrap(head_ + i)];
  }

  const T& operator[](std::size_t i) const noexcept {
    return slots_[wrap(head_ + i)];
  }

  void push_back(T x) {
    if (size_ == capacity_)
      grow();
    slots_[wrap(head_ + size_)] = std::move(x);
    ++size_;
  }

  /// Puts `x` in front of the oldest element.
  void push_front(T x) {
    if (size_ == capacity_)
      grow();
    head_ = wrap(head_ + capacity_ - 1);
    slots_[head_] = std::move(x);
    ++size_;
  }

  /// Removes the oldest element; the queue must not be empty.
  void pop_front() {
    slots_[head_] = T{};
    head_ = wrap(head_ + 1);
    --size_;
  }

  /// Removes every element; keeps the capacity.
  void clear() {
    while (size_ > 0)
      pop_front();
    head_ = 0;
  }

private:
  // capacity_ is 0 or a power of two.
  std::uint32_t wrap(std::size_t i) const noexcept {
    return static_cast<std::uint32_t>(i & (capacity_ - 1));
  }

  // The first allocation is about one minimal malloc chunk: 4 ids, but a
  // single shared_bytes (most queues hold one element at a time).
  static constexpr std::uint32_t first_capacity
    = sizeof(T) >= 16 ? 1 : static_cast<std::uint32_t>(16 / sizeof(T));

  void grow() {
    std::uint32_t bigger = capacity_ == 0 ? first_capacity : capacity_ * 2;
    auto slots = std::make_unique<T[]>(bigger);
    for (std::uint32_t i = 0; i < size_; ++i)
      slots[i] = std::move(slots_[wrap(head_ + i)]);
    slots_ = std::move(slots);
    head_ = 0;
    capacity_ = bigger;
  }

  std::unique_ptr<T[]> slots_;
  std::uint32_t head_ = 0;
  std::uint32_t size_ = 0;
  std::uint32_t capacity_ = 0;
};

} // namespace weft
