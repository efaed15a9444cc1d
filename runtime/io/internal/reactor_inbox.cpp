#include "runtime/io/internal/reactor_inbox.hpp"

#include <sys/eventfd.h>

#include <cerrno>

#include "runtime/io/internal/socket_ops.hpp"

namespace weft::io::internal {

absl::StatusOr<std::shared_ptr<reactor_inbox>> reactor_inbox::make() {
  unique_fd fd{::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)};
  if (!fd)
    return errno_status("eventfd", errno);
  return std::make_shared<reactor_inbox>(std::move(fd));
}

bool reactor_inbox::post(command cmd) {
  bool was_empty = false;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    if (shut_)
      return false;
    was_empty = queue_.empty();
    queue_.push_back(std::move(cmd));
  }
  // cmd's shared_ptrs are released by the reactor, never under the lock.
  if (was_empty)
    wake();
  return true;
}

void reactor_inbox::request_stop() {
  {
    std::lock_guard<std::mutex> guard{mutex_};
    if (shut_ || stop_requested_)
      return;
    stop_requested_ = true;
  }
  wake();
}

std::vector<command> reactor_inbox::take(bool& stop_requested) {
  std::uint64_t counter = 0;
  // Reset the eventfd before taking the queue: a post after the swap writes
  // it again, so no wake-up is lost. EAGAIN (already 0) is fine.
  [[maybe_unused]] auto n = ::read(event_fd_.get(), &counter, sizeof(counter));
  std::vector<command> result;
  std::lock_guard<std::mutex> guard{mutex_};
  result.swap(queue_);
  stop_requested = stop_requested_;
  return result;
}

std::vector<command> reactor_inbox::shut() {
  std::vector<command> result;
  std::lock_guard<std::mutex> guard{mutex_};
  shut_ = true;
  result.swap(queue_);
  return result;
}

void reactor_inbox::wake() {
  std::uint64_t one = 1;
  // The eventfd lives as long as this inbox; a full counter (EAGAIN) still
  // leaves it readable, which is all a wake-up needs.
  [[maybe_unused]] auto n = ::write(event_fd_.get(), &one, sizeof(one));
}

} // namespace weft::io::internal
