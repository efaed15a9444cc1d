#include "tests/bench/out_queue.hpp"

#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>

namespace weft::bench {

namespace {

constexpr int max_iov = 64;

} // namespace

bool out_queue::write(int fd, std::vector<shared_bytes> slices) {
  std::size_t first = 0;
  if (empty()) {
    pending_.clear();
    offset_ = 0;
    while (first < slices.size()) {
      iovec iov[max_iov];
      int n = 0;
      std::size_t want = 0;
      for (auto i = first; i < slices.size() && n < max_iov; ++i, ++n) {
        iov[n].iov_base = const_cast<std::uint8_t*>(slices[i].data());
        iov[n].iov_len = slices[i].size();
        want += slices[i].size();
      }
      msghdr msg{};
      msg.msg_iov = iov;
      msg.msg_iovlen = static_cast<std::size_t>(n);
      auto wrote = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
      if (wrote < 0) {
        if (errno == EAGAIN || errno == EINTR)
          break;
        return false;
      }
      auto left = static_cast<std::size_t>(wrote);
      while (first < slices.size() && left >= slices[first].size())
        left -= slices[first++].size();
      if (left > 0) {
        slices[first] = slices[first].slice(left, slices[first].size() - left);
        break;
      }
      if (static_cast<std::size_t>(wrote) < want)
        break;
    }
  }
  for (auto i = first; i < slices.size(); ++i)
    pending_.insert(pending_.end(), slices[i].data(),
                    slices[i].data() + slices[i].size());
  return true;
}

bool out_queue::flush(int fd) {
  while (!empty()) {
    auto n = ::send(fd, pending_.data() + offset_, size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR)
        return true;
      return false;
    }
    offset_ += static_cast<std::size_t>(n);
  }
  pending_.clear();
  offset_ = 0;
  return true;
}

} // namespace weft::bench
