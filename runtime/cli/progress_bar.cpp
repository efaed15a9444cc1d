#include "runtime/cli/progress_bar.hpp"

#include <algorithm>
#include <cerrno>
#include <unistd.h>

#include <absl/strings/str_cat.h>
#include <absl/strings/str_format.h>

namespace weft::cli {

namespace {

/// Nothing is drawn for transfers that finish faster than this: a flash of
/// a bar on a fast loopback call is noise.
constexpr absl::Duration quiet_start = absl::Milliseconds(200);

constexpr std::size_t bar_width = 24;

std::string seconds(absl::Duration d) {
  return absl::StrFormat("%.1fs", absl::ToDoubleSeconds(d));
}

} // namespace

progress_bar::progress_bar(int fd, bool enabled, std::uint64_t upload_bytes,
                           absl::Time start)
  : fd_(fd), enabled_(enabled), upload_bytes_(upload_bytes), start_(start) {}

void progress_bar::on_download(std::uint64_t done, std::uint64_t total) {
  done_.store(done, std::memory_order_relaxed);
  total_.store(total, std::memory_order_relaxed);
}

void progress_bar::tick(absl::Time now) {
  if (!enabled_)
    return;
  auto total = total_.load(std::memory_order_relaxed);
  auto done = std::min(done_.load(std::memory_order_relaxed), total);
  if (total > 0 && download_start_ == absl::InfiniteFuture())
    download_start_ = now;
  if (upload_bytes_ <= min_size && total <= min_size)
    return;
  if (now - start_ < quiet_start)
    return;
  auto download_elapsed
    = total > 0 ? now - download_start_ : absl::ZeroDuration();
  write_line(format(upload_bytes_, done, total, now - start_, download_elapsed,
                    frame_++));
}

void progress_bar::clear() {
  if (!enabled_ || !drawn_)
    return;
  write_line("");
  drawn_ = false;
}

std::string
progress_bar::format(std::uint64_t upload_bytes, std::uint64_t download_done,
                     std::uint64_t download_total, absl::Duration elapsed,
                     absl::Duration download_elapsed, unsigned frame) {
  if (download_total == 0) {
    static constexpr char spinner[] = {'|', '/', '-', '\\'};
    return absl::StrCat(std::string(1, spinner[frame % 4]), " sending ",
                        human_bytes(upload_bytes), ", waiting for the reply  ",
                        seconds(elapsed));
  }
  auto fraction
    = static_cast<double>(download_done) / static_cast<double>(download_total);
  auto filled
    = static_cast<std::size_t>(fraction * static_cast<double>(bar_width));
  filled = std::min(filled, bar_width);
  auto secs = absl::ToDoubleSeconds(download_elapsed);
  std::string rate
    = secs > 0.05 ? absl::StrCat("  ",
                                 human_bytes(static_cast<std::uint64_t>(
                                   static_cast<double>(download_done) / secs)),
                                 "/s")
                  : "";
  return absl::StrCat(
    "[", std::string(filled, '#'), std::string(bar_width - filled, '-'), "] ",
    absl::StrFormat("%3d%%", static_cast<int>(fraction * 100)), "  ",
    human_bytes(download_done), " / ", human_bytes(download_total), rate, "  ",
    seconds(elapsed));
}

std::string progress_bar::human_bytes(std::uint64_t n) {
  auto x = static_cast<double>(n);
  if (n < 1024)
    return absl::StrCat(n, " B");
  if (n < 1024 * 1024)
    return absl::StrFormat("%.1f KiB", x / 1024);
  if (n < 1024ull * 1024 * 1024)
    return absl::StrFormat("%.1f MiB", x / (1024 * 1024));
  return absl::StrFormat("%.1f GiB", x / (1024.0 * 1024 * 1024));
}

void progress_bar::write_line(const std::string& text) {
  // "\r" back to column 0, the text, then "erase to end of line" so a
  // shorter frame leaves no tail of the previous one.
  auto line = absl::StrCat("\r", text, "\x1b[K");
  std::size_t off = 0;
  while (off < line.size()) {
    auto n = ::write(fd_, line.data() + off, line.size() - off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return; // a broken terminal is not worth failing the transfer
    off += static_cast<std::size_t>(n);
  }
  drawn_ = !text.empty();
}

} // namespace weft::cli
