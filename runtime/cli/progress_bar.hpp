#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include <absl/time/time.h>

namespace weft::cli {

/// A one-line transfer indicator for a terminal's stderr. While the request
/// goes out it shows a spinner with the request size and the elapsed time
/// (the client does not expose how much of the request was written, so no
/// percentage is claimed); once a large reply arrives it shows a bar of
/// received / total bytes from call_options::on_progress. Only transfers
/// above 1 MiB are shown; a disabled bar (stderr is not a terminal) never
/// writes anything.
class progress_bar {
public:
  /// Transfers at or below this size get no indicator.
  static constexpr std::uint64_t min_size = 1024 * 1024;

  /// A bar drawing on `fd` if `enabled`, for a request of `upload_bytes`
  /// started at `start`.
  progress_bar(int fd, bool enabled, std::uint64_t upload_bytes,
               absl::Time start);

  progress_bar(const progress_bar&) = delete;
  progress_bar& operator=(const progress_bar&) = delete;

  /// Records reply progress: `done` of `total` bytes. Any thread (the
  /// client's thread calls it through on_progress); never draws.
  void on_download(std::uint64_t done, std::uint64_t total);

  /// Redraws the line if there is something to show. Main thread only.
  void tick(absl::Time now);

  /// Erases the line if one was drawn. Main thread only.
  void clear();

  /// The text of one frame (no terminal codes): the spinner while
  /// `download_total` is 0, else the bar. Pure, for tests.
  static std::string format(std::uint64_t upload_bytes,
                            std::uint64_t download_done,
                            std::uint64_t download_total,
                            absl::Duration elapsed,
                            absl::Duration download_elapsed, unsigned frame);

  /// `n` bytes as "512 B", "3.0 KiB", "20.0 MiB", "1.5 GiB".
  static std::string human_bytes(std::uint64_t n);

private:
  void write_line(const std::string& text);

  int fd_;
  bool enabled_;
  std::uint64_t upload_bytes_;
  absl::Time start_;
  /// When the main thread first saw reply progress.
  absl::Time download_start_ = absl::InfiniteFuture();
  std::atomic<std::uint64_t> done_{0};
  std::atomic<std::uint64_t> total_{0};
  bool drawn_ = false;
  unsigned frame_ = 0;
};

} // namespace weft::cli
