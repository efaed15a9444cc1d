#include "runtime/io/internal/reactor_inbox.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>

#include "runtime/io/internal/socket_ops.hpp"

namespace weft::io::internal {

absl::StatusOr<std::shared_ptr<parking_spot>> parking_spot::make() {
  unique_fd fd{::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)};
  if (!fd)
    return errno_status("eventfd", errno);
  return std::make_shared<parking_spot>(std::move(fd));
}

void parking_spot::unpark() noexcept {
  // The load first: posting to a busy thread stays a read of one flag.
  if (!parked_.load() || !parked_.exchange(false))
    return;
  std::uint64_t one = 1;
  // The eventfd lives as long as this spot; a full counter (EAGAIN) still
  // leaves it readable, which is all a wake-up needs.
  [[maybe_unused]] auto n = ::write(event_fd_.get(), &one, sizeof(one));
}

void parking_spot::drain() noexcept {
  std::uint64_t counter = 0;
  // EAGAIN (already 0) is fine.
  [[maybe_unused]] auto n = ::read(event_fd_.get(), &counter, sizeof(counter));
}

bool reactor_inbox::post(command cmd) {
  {
    std::lock_guard<std::mutex> guard{mutex_};
    if (shut_)
      return false;
    queue_.push_back(std::move(cmd));
    pending_.store(true);
  }
  // cmd's shared_ptrs are released by the reactor, never under the lock.
  spot_->unpark();
  return true;
}

void reactor_inbox::request_stop() {
  {
    std::lock_guard<std::mutex> guard{mutex_};
    if (shut_ || stop_requested_)
      return;
    stop_requested_ = true;
    pending_.store(true);
  }
  spot_->unpark();
}

std::vector<command> reactor_inbox::take(bool& stop_requested) {
  std::vector<command> result;
  std::lock_guard<std::mutex> guard{mutex_};
  result.swap(queue_);
  stop_requested = stop_requested_;
  pending_.store(false, std::memory_order_relaxed);
  return result;
}

std::vector<command> reactor_inbox::shut() {
  std::vector<command> result;
  std::lock_guard<std::mutex> guard{mutex_};
  shut_ = true;
  result.swap(queue_);
  pending_.store(false, std::memory_order_relaxed);
  return result;
}

} // namespace weft::io::internal
