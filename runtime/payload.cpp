#include "runtime/payload.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include <absl/strings/str_cat.h>

#include "runtime/error_bridge.hpp"

namespace weft {

struct payload::file_ref {
  std::string path;
  std::uint64_t size = 0;
  bool owned = false;

  ~file_ref() {
    if (owned)
      ::unlink(path.c_str());
  }
};

payload payload::file(std::string path, std::uint64_t size, bool owned) {
  payload result;
  auto ref = std::make_shared<file_ref>();
  ref->path = std::move(path);
  ref->size = size;
  ref->owned = owned;
  result.file_ = std::move(ref);
  return result;
}

absl::StatusOr<payload> payload::from_file(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    return make_status(errc::io_error,
                       absl::StrCat("cannot stat ", path, ": ",
                                    std::strerror(errno)));
  if (!S_ISREG(st.st_mode))
    return make_status(errc::invalid_argument,
                       absl::StrCat(path, " is not a regular file"));
  return file(path, static_cast<std::uint64_t>(st.st_size), false);
}

std::uint64_t payload::size() const noexcept {
  return file_ ? file_->size : bytes_.size();
}

const std::string& payload::path() const noexcept {
  static const std::string none;
  return file_ ? file_->path : none;
}

absl::Status payload::read_into(std::uint64_t offset,
                               absl::Span<std::uint8_t> out) const {
  auto length = out.size();
  if (offset > size() || length > size() - offset)
    return make_status(errc::invalid_argument, "read past the end of a payload");
  if (length == 0)
    return absl::OkStatus();
  if (!file_) {
    std::memcpy(out.data(), bytes_.data() + offset, length);
    return absl::OkStatus();
  }
  int fd = ::open(file_->path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return make_status(errc::io_error, absl::StrCat("cannot open ", file_->path,
                                                    ": ", std::strerror(errno)));
  std::size_t done = 0;
  while (done < length) {
    auto n = ::pread(fd, out.data() + done, length - done,
                     static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      auto text = n == 0 ? std::string{"file is shorter than announced"}
                         : std::string{std::strerror(errno)};
      ::close(fd);
      return make_status(errc::io_error,
                         absl::StrCat("cannot read ", file_->path, ": ", text));
    }
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return absl::OkStatus();
}

absl::StatusOr<shared_bytes> payload::read(std::uint64_t offset,
                                           std::size_t length) const {
  if (offset > size() || length > size() - offset)
    return make_status(errc::invalid_argument, "read past the end of a payload");
  if (!file_)
    return bytes_.slice(static_cast<std::size_t>(offset), length);
  // Filled by the read, so not zeroed first.
  absl::Status st;
  auto bytes = shared_bytes::allocate(length, [&](absl::Span<std::uint8_t> out) {
    st = read_into(offset, out);
  });
  if (!st.ok())
    return st;
  return bytes;
}

absl::StatusOr<shared_bytes> payload::read_all(std::uint64_t max_size) const {
  if (size() > max_size)
    return make_status(errc::limit_exceeded,
                       absl::StrCat("payload of ", size(),
                                    " bytes exceeds the limit of ", max_size));
  return read(0, static_cast<std::size_t>(size()));
}

} // namespace weft
