#include "runtime/protocol/spill_writer.hpp"

#include <cerrno>
#include <cstring>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <absl/strings/str_cat.h>

#include "runtime/error_bridge.hpp"

namespace weft::protocol {

namespace {

/// The writer's nice value: below the workers, so that a worker woken by
/// a socket preempts a copy in progress, but not idle-only (SCHED_IDLE),
/// which a busy node would starve while a worker waits for room.
constexpr int writer_nice = 10;

} // namespace

absl::Status write_all(int fd, absl::Span<const std::uint8_t> bytes,
                       const std::string& path) {
  while (!bytes.empty()) {
    auto n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return make_status(errc::io_error,
                         absl::StrCat("cannot write spill file ", path, ": ",
                                      std::strerror(errno)));
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return absl::OkStatus();
}

spill_writer::spill_writer(int fd, std::string path)
  : fd_(fd), path_(std::move(path)) {
  thread_ = std::thread{[this] { run(); }};
}

spill_writer::~spill_writer() {
  {
    std::lock_guard<std::mutex> guard{mutex_};
    stopping_ = true;
    pieces_.clear();
  }
  changed_.notify_all();
  thread_.join();
}

absl::Status spill_writer::write(shared_bytes piece) {
  std::unique_lock<std::mutex> lock{mutex_};
  if (!error_.ok())
    return error_;
  queued_ += piece.size();
  pieces_.push_back(std::move(piece));
  lock.unlock();
  changed_.notify_all();
  return absl::OkStatus();
}

absl::Status spill_writer::finish() {
  std::unique_lock<std::mutex> lock{mutex_};
  changed_.wait(lock, [this] { return queued_ == 0 || !error_.ok(); });
  return error_;
}

std::size_t spill_writer::queued() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return queued_;
}

void spill_writer::run() {
  // Linux keeps a nice value per thread: this one only.
  ::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)),
                writer_nice);
  std::unique_lock<std::mutex> lock{mutex_};
  for (;;) {
    changed_.wait(lock, [this] { return stopping_ || !pieces_.empty(); });
    if (stopping_)
      return;
    auto piece = std::move(pieces_.front());
    pieces_.pop_front();
    lock.unlock();
    auto failure = write_all(fd_, piece.span(), path_);
    lock.lock();
    queued_ -= piece.size();
    if (!failure.ok() && error_.ok())
      error_ = std::move(failure);
    if (!error_.ok()) {
      // Nothing more is written; whoever waits learns of the error.
      pieces_.clear();
      queued_ = 0;
    }
    changed_.notify_all();
  }
}

} // namespace weft::protocol
