#include "tests/integration/app/raw_subscriber.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "runtime/errc.hpp"
#include "weft/registry.pb.h"

namespace weft::testing {

raw_fleet::~raw_fleet() {
  for (auto& m : members_)
    if (m.fd >= 0)
      ::close(m.fd);
}

absl::Status raw_fleet::connect(std::uint16_t port, std::size_t n,
                                absl::Duration timeout) {
  for (std::size_t i = 0; i < n; ++i) {
    member m;
    m.fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (m.fd < 0)
      return absl::InternalError("socket() failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(m.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      return absl::InternalError("connect() failed");
    ::fcntl(m.fd, F_SETFL, ::fcntl(m.fd, F_GETFL) | O_NONBLOCK);
    m.session = std::make_unique<protocol::session>(
      protocol::role::client, protocol::session_options{}, absl::Now());
    members_.push_back(std::move(m));
    flush(members_.back());
  }
  bool ok = pump_until(
    [&] {
      for (auto& m : members_)
        if (!m.session->ready())
          return false;
      return true;
    },
    timeout);
  return ok ? absl::OkStatus()
            : absl::DeadlineExceededError("not every member got ready");
}

absl::Status raw_fleet::subscribe_all(const std::string& topic,
                                      absl::Duration timeout) {
  weft::wire::TopicRequest req;
  req.set_topic(topic);
  auto body = shared_bytes::copy_of(req.SerializeAsString());
  for (auto& m : members_) {
    weft::wire::MessageHeader header;
    header.set_kind(weft::wire::KIND_REQUEST);
    header.set_route("weft.subscribe");
    header.set_content_type("application/x-protobuf");
    auto before = m.replies;
    (void)before;
    if (!m.session->send(header, payload{body}, absl::Now()).ok())
      return absl::InternalError("cannot send weft.subscribe");
    flush(m);
  }
  auto want = members_.size();
  bool ok = pump_until(
    [&] {
      std::size_t got = 0;
      for (auto& m : members_)
        got += m.replies > 0 ? 1 : 0;
      return got == want;
    },
    timeout);
  return ok ? absl::OkStatus()
            : absl::DeadlineExceededError("not every subscribe was answered");
}

void raw_fleet::pump(absl::Duration wait) {
  std::vector<pollfd> fds;
  std::vector<member*> who;
  for (auto& m : members_) {
    if (m.closed || m.paused)
      continue;
    short events = POLLIN;
    if (m.session->wants_write())
      events |= POLLOUT;
    fds.push_back({m.fd, events, 0});
    who.push_back(&m);
  }
  if (fds.empty())
    return;
  auto ms = static_cast<int>(absl::ToInt64Milliseconds(wait));
  if (::poll(fds.data(), fds.size(), ms) <= 0)
    return;
  for (std::size_t i = 0; i < fds.size(); ++i) {
    if (fds[i].revents & (POLLIN | POLLHUP | POLLERR))
      read(*who[i]);
    if (!who[i]->closed)
      flush(*who[i]);
  }
}

void raw_fleet::flush(member& m) {
  while (m.session->wants_write()) {
    auto frames = m.session->take_output(256 * 1024);
    for (const auto& f : frames) {
      std::size_t off = 0;
      while (off < f.size()) {
        auto n = ::send(m.fd, f.data() + off, f.size() - off, MSG_NOSIGNAL);
        if (n > 0) {
          off += static_cast<std::size_t>(n);
          continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
          pollfd p{m.fd, POLLOUT, 0};
          ::poll(&p, 1, 100);
          continue;
        }
        m.closed = true;
        return;
      }
    }
  }
}

void raw_fleet::read(member& m) {
  std::vector<std::uint8_t> buf(64 * 1024);
  for (;;) {
    auto n = ::recv(m.fd, buf.data(), buf.size(), 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
      m.closed = true;
      break;
    }
    if (n < 0)
      break;
    auto now = absl::Now();
    m.session->on_bytes(shared_bytes{std::vector<std::uint8_t>(
                          buf.begin(), buf.begin() + n)},
                        now);
    for (auto& ev : m.session->take_events()) {
      using kind = protocol::session_event::kind;
      if (ev.what == kind::message) {
        if (ev.header.kind() == weft::wire::KIND_PUSH) {
          m.pushes.push_back(ev.body.bytes().to_string());
          m.push_times.push_back(now);
        } else if (ev.header.kind() == weft::wire::KIND_REPLY) {
          ++m.replies;
        }
      } else if (ev.what == kind::goaway || ev.what == kind::closed) {
        if (ev.code != errc::ok)
          m.goaway_code = ev.code;
      }
    }
  }
}

} // namespace weft::testing
