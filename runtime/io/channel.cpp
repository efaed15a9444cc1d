#include "runtime/io/channel.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <absl/strings/str_cat.h>
#include <caf/abstract_actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/send.hpp>

#include "runtime/error_bridge.hpp"
#include "runtime/io/internal/reactor.hpp"
#include "runtime/io/internal/reactor_inbox.hpp"
#include "runtime/type_ids.hpp"

namespace weft::io {

namespace {

caf::error io_failure(absl::string_view what, int err) {
  return make_weft_error(errc::io_error,
                         absl::StrCat(what, ": ", std::strerror(err)));
}

bool would_block(int err) {
  return err == EAGAIN || err == EWOULDBLOCK;
}

/// A unit at least this large is read straight into its own buffer, with
/// only `large_unit_look_ahead` bytes behind it into the scratch.
constexpr std::size_t direct_read_bytes = 64 * 1024;

/// Bytes read behind a large unit in the same readv: room for the next
/// unit's header and a few small units, little to copy.
constexpr std::size_t large_unit_look_ahead = 4 * 1024;

} // namespace

channel::channel(passkey, std::uint64_t id, unique_fd fd,
                 std::string remote_address, std::unique_ptr<framer> cutter,
                 std::shared_ptr<const channel_options> opts,
                 internal::reactor* home, std::size_t home_index,
                 std::shared_ptr<internal::reactor_inbox> inbox)
  : id_(id), remote_address_(std::move(remote_address)), opts_(std::move(opts)),
    home_(home), inbox_(std::move(inbox)),
    home_index_(static_cast<std::uint32_t>(home_index)), fd_(std::move(fd)),
    framer_(std::move(cutter)) {}

channel::~channel() = default;

// -- any thread
// ----------------------------------------------------------------

void channel::start(caf::actor owner) {
  if (!owner || start_called_.exchange(true))
    return;
  // The channel must not outlive a dead owner: abort it when the owner ends.
  // weak_ptr: the owner's attachable must not keep the channel alive.
  std::weak_ptr<channel> weak = weak_from_this();
  owner->attach_functor([weak] {
    if (auto self = weak.lock())
      self->abort();
  });
  internal::command cmd{internal::command_kind::start_channel,
                        shared_from_this(), nullptr, owner};
  if (!inbox_->post(std::move(cmd)))
    caf::anon_send(
      owner, io_closed_atom_v,
      make_weft_error(errc::unavailable, "the reactor pool is stopped"));
}

bool channel::send(std::vector<shared_bytes> slices) {
  std::size_t total = 0;
  for (const auto& slice : slices)
    total += slice.size();
  bool post = false;
  {
    std::lock_guard<std::mutex> guard{out_mutex_};
    if (closing_)
      return false;
    if (total == 0)
      return true;
    for (auto& slice : slices)
      if (!slice.empty())
        outbox_.push_back(std::move(slice));
    bytes_queued_.fetch_add(total);
    if (!flush_posted_) {
      flush_posted_ = true;
      post = true;
    }
  }
  if (post)
    return inbox_->post(
      {internal::command_kind::flush_channel, shared_from_this(), nullptr, {}});
  return true;
}

void channel::consumed(std::size_t bytes) {
  auto prev = unconsumed_.load();
  std::uint64_t next = 0;
  do {
    next = prev > bytes ? prev - bytes : 0;
  } while (!unconsumed_.compare_exchange_weak(prev, next));
  if (next >= opts_->max_unconsumed)
    return;
  // Whoever flips the flag back tells the reactor to read again; see
  // pause_if_needed for the other half of this hand-shake.
  bool paused = true;
  if (read_paused_.compare_exchange_strong(paused, false))
    inbox_->post(
      {internal::command_kind::resume_read, shared_from_this(), nullptr, {}});
}

void channel::close() {
  {
    std::lock_guard<std::mutex> guard{out_mutex_};
    if (closing_)
      return;
    closing_ = true;
  }
  inbox_->post(
    {internal::command_kind::close_channel, shared_from_this(), nullptr, {}});
}

void channel::abort() {
  {
    std::lock_guard<std::mutex> guard{out_mutex_};
    closing_ = true;
  }
  inbox_->post(
    {internal::command_kind::abort_channel, shared_from_this(), nullptr, {}});
}

// -- reactor thread
// --------------------------------------------------------------

void channel::on_start(caf::actor owner) {
  if (finished_) {
    // Closed (abort, pool stop) before it started: tell the owner at once.
    home_->deliver(owner, caf::make_message(io_closed_atom_v,
                                            std::move(pending_close_reason_)));
    return;
  }
  owner_ = std::move(owner);
  started_ = true;
  interest_ = EPOLLIN;
  if (!home_->watch(fd_.get(), id_, interest_, true)) {
    finish(io_failure("epoll_ctl", errno), false);
    return;
  }
  registered_ = true;
  if (close_requested_) {
    close_requested_ = false;
    on_close_request();
    return;
  }
  take_queued();
  write_some();
  if (!finished_)
    update_interest();
}

void channel::on_events(std::uint32_t events) {
  if (finished_)
    return;
  if ((events & EPOLLERR) != 0) {
    int err = 0;
    socklen_t length = sizeof(err);
    ::getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &err, &length);
    if (close_requested_)
      finish({}, false);
    else
      finish(io_failure("socket error", err != 0 ? err : EIO), false);
    return;
  }
  bool reading = (interest_ & EPOLLIN) != 0;
  if ((events & (EPOLLIN | EPOLLHUP)) != 0 && reading)
    read_some();
  if (finished_)
    return;
  if ((events & EPOLLOUT) != 0)
    write_some();
  if (finished_)
    return;
  if ((events & EPOLLHUP) != 0 && (interest_ & EPOLLIN) == 0) {
    // Both directions are shut and nobody reads: nothing can progress.
    if (close_requested_)
      finish({}, false);
    else
      finish(make_weft_error(errc::io_error, "connection hung up"), false);
    return;
  }
  update_interest();
}

void channel::on_flush() {
  if (finished_)
    return;
  take_queued();
  if (!started_)
    return; // written by on_start
  write_some();
  if (!finished_)
    update_interest();
}

void channel::on_resume_read() {
  if (finished_ || !started_)
    return;
  update_interest();
}

void channel::on_close_request() {
  if (finished_ || close_requested_)
    return;
  close_requested_ = true;
  if (!started_)
    return; // on_start closes right after registering
  take_queued();
  home_->add_timer(internal::reactor::clock::now()
                     + absl::ToChronoNanoseconds(opts_->close_timeout),
                   id_);
  write_some();
  if (!finished_)
    update_interest();
}

void channel::on_abort() {
  finish(make_weft_error(errc::cancelled, "channel aborted"), true);
}

void channel::on_timer() {
  if (finished_ || !close_requested_)
    return;
  if (lingering_) {
    finish({}, false);
    return;
  }
  finish(make_weft_error(errc::deadline_exceeded,
                         absl::StrCat("close() timed out with ", bytes_queued(),
                                      " bytes unsent")),
         true);
}

void channel::on_reactor_stop() {
  finish(make_weft_error(errc::unavailable, "the reactor pool stopped"), false);
}

// -- reading
// ---------------------------------------------------------------------

void channel::reserve_tail(std::size_t capacity) {
  if (tail_capacity_ == capacity)
    return;
  auto fresh = std::make_shared_for_overwrite<std::uint8_t[]>(capacity);
  if (tail_filled_ > 0)
    std::memcpy(fresh.get(), tail_.get(), tail_filled_);
  tail_ = std::move(fresh);
  tail_capacity_ = capacity;
}

bool channel::keep_tail(const std::uint8_t* bytes, std::size_t n,
                        caf::error& failure) {
  if (n == 0) {
    tail_.reset();
    tail_capacity_ = 0;
    tail_filled_ = 0;
    return true;
  }
  // need_ was checked against max_unit_bytes when the framer announced it;
  // a unit of unknown size may not grow past the limit either.
  if (need_ == 0 && n >= opts_->max_unit_bytes) {
    failure = make_weft_error(errc::protocol_error,
                              absl::StrCat("no complete unit in ", n,
                                           " bytes (max_unit_bytes is ",
                                           opts_->max_unit_bytes, ")"));
    return false;
  }
  // Exactly the unit's size when known: its rest is then read straight into
  // it and the whole unit handed over without a copy.
  auto capacity = std::max(need_, n);
  auto fresh = std::make_shared_for_overwrite<std::uint8_t[]>(capacity);
  std::memcpy(fresh.get(), bytes, n); // `bytes` may point into tail_
  tail_ = std::move(fresh);
  tail_capacity_ = capacity;
  tail_filled_ = n;
  return true;
}

void channel::read_some() {
  if (lingering_) {
    // Closing: drain and drop what the peer still sends until its EOF, so
    // that closing the socket sends FIN, not RST.
    std::uint8_t sink[4096];
    for (int i = 0; i < 64; ++i) {
      auto n = ::read(fd_.get(), sink, sizeof(sink));
      if (n > 0)
        continue;
      if (n < 0 && (errno == EINTR))
        continue;
      if (n < 0 && would_block(errno))
        return;
      finish({}, false);
      return;
    }
    return;
  }
  std::size_t total = 0;
  bool eof = false;
  while (!finished_) {
    // Where the bytes go: the rest of a unit of known size into its own
    // buffer (the tail), whatever follows into the reactor's scratch, from
    // which cut_units copies the whole units into one exactly-sized batch.
    const auto read_bytes = std::max<std::size_t>(opts_->min_read_bytes, 1);
    auto scratch = home_->read_scratch(read_bytes);
    iovec iov[2];
    int count = 0;
    std::size_t direct = 0; // room in the tail, filled before the scratch
    std::size_t prefix = 0; // tail bytes copied to the scratch's front
    if (tail_filled_ > 0 && need_ > tail_filled_) {
      reserve_tail(need_);
      direct = need_ - tail_filled_;
      iov[count++] = {tail_.get() + tail_filled_, direct};
      // Behind a large unit read only a little ahead (the next unit's
      // header), so that the next large unit too is mostly read in place.
      auto ahead = need_ >= direct_read_bytes
                     ? std::min(scratch.size(), large_unit_look_ahead)
                     : scratch.size();
      iov[count++] = {scratch.data(), ahead};
    } else if (tail_filled_ > 0 && tail_filled_ <= scratch.size() / 2) {
      // The unit's size is not known yet (a header in pieces): go on in the
      // scratch behind a copy of its start. The tail stays valid until the
      // read succeeds.
      std::memcpy(scratch.data(), tail_.get(), tail_filled_);
      prefix = tail_filled_;
      iov[count++] = {scratch.data() + prefix, scratch.size() - prefix};
    } else if (tail_filled_ > 0) {
      // Unknown size and long already: grow the tail and read into it, but
      // not past the limit.
      if (tail_filled_ >= opts_->max_unit_bytes) {
        finish(
          make_weft_error(errc::protocol_error,
                          absl::StrCat("no complete unit in ", tail_filled_,
                                       " bytes (max_unit_bytes is ",
                                       opts_->max_unit_bytes, ")")),
          false);
        return;
      }
      if (tail_capacity_ == tail_filled_)
        reserve_tail(tail_filled_ + read_bytes);
      direct = tail_capacity_ - tail_filled_;
      iov[count++] = {tail_.get() + tail_filled_, direct};
    } else {
      iov[count++] = {scratch.data(), scratch.size()};
    }
    std::size_t room = 0;
    for (int i = 0; i < count; ++i)
      room += iov[i].iov_len;
    auto n = ::readv(fd_.get(), iov, count);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (would_block(errno))
        break;
      finish(io_failure("read", errno), false);
      return;
    }
    if (n == 0) {
      eof = true;
      break;
    }
    auto got = static_cast<std::size_t>(n);
    total += got;
    bytes_in_.fetch_add(got, std::memory_order_relaxed);
    bool full = got == room;
    auto in_tail = std::min(got, direct);
    tail_filled_ += in_tail;
    auto in_scratch = got - in_tail;
    if (prefix > 0) {
      tail_filled_ = 0; // the tail's bytes now lead the scratch
      in_scratch += prefix;
    }
    caf::error failure;
    if (!cut_units(scratch.data(), in_scratch, failure)) {
      finish(std::move(failure), false);
      return;
    }
    if (!full || total >= opts_->max_read_bytes_per_event || read_paused_)
      break;
  }
  if (eof && opts_->half_close && tail_filled_ == 0) {
    peer_eof_ = true;
    if (owner_)
      home_->deliver(owner_, caf::make_message(io_eof_atom_v));
    return;
  }
  if (eof) {
    if (tail_filled_ > 0)
      finish(make_weft_error(errc::protocol_error,
                             absl::StrCat("the peer closed the connection "
                                          "inside a unit (",
                                          tail_filled_, " bytes buffered)")),
             false);
    else
      finish({}, false);
  }
}

bool channel::cut_region(const std::uint8_t* data, std::size_t size,
                         std::size_t& units, caf::error& failure) {
  std::size_t pos = 0;
  need_ = 0;
  while (pos < size) {
    auto rest = absl::MakeConstSpan(data + pos, size - pos);
    auto cut = framer_->next(rest);
    if (!cut.ok()) {
      failure = make_weft_error(errc::protocol_error,
                                std::string{cut.status().message()});
      return false;
    }
    if (cut->complete > 0) {
      if (cut->complete > rest.size()) {
        failure = make_weft_error(errc::internal,
                                  absl::StrCat("the framer cut ", cut->complete,
                                               " bytes out of ", rest.size()));
        return false;
      }
      pos += cut->complete;
      continue;
    }
    if (cut->need > opts_->max_unit_bytes) {
      failure = make_weft_error(errc::protocol_error,
                                absl::StrCat("a unit of ", cut->need,
                                             " bytes exceeds max_unit_bytes (",
                                             opts_->max_unit_bytes, ")"));
      return false;
    }
    // A `need` the bytes already hold says nothing new: treat as unknown.
    need_ = cut->need > rest.size() ? cut->need : 0;
    break;
  }
  units = pos;
  return true;
}

bool channel::cut_units(const std::uint8_t* scratch, std::size_t in_scratch,
                        caf::error& failure) {
  // The bytes are the tail's (a unit begun in an earlier read) followed by
  // `in_scratch` bytes in the scratch.
  std::size_t units_tail = 0;
  if (tail_filled_ > 0) {
    if (need_ > tail_filled_)
      return true; // the unit is still incomplete (nothing in the scratch)
    if (!cut_region(tail_.get(), tail_filled_, units_tail, failure))
      return false;
    if (units_tail < tail_filled_ && in_scratch > 0) {
      // The framer needed more than it had announced: join the bytes in the
      // tail and go on cutting there (rare; costs a copy).
      reserve_tail(tail_filled_ + in_scratch);
      std::memcpy(tail_.get() + tail_filled_, scratch, in_scratch);
      tail_filled_ += in_scratch;
      in_scratch = 0;
      std::size_t more = 0;
      if (!cut_region(tail_.get() + units_tail, tail_filled_ - units_tail, more,
                      failure))
        return false;
      units_tail += more;
    }
  }
  std::size_t units_scratch = 0;
  if (in_scratch > 0
      && !cut_region(scratch, in_scratch, units_scratch, failure))
    return false;
  // Hand the whole units over in one batch of exactly their size: the
  // tail's own buffer when it is exactly one completed unit (no copy),
  // else a copy into fresh, not zero-filled storage. Neither pins more
  // than the units themselves.
  auto units = units_tail + units_scratch;
  shared_bytes batch;
  if (units > 0 && units_scratch == 0 && units_tail == tail_capacity_) {
    batch = shared_bytes{std::move(tail_), units_tail};
    tail_capacity_ = 0;
    tail_filled_ = 0;
  } else if (units > 0) {
    batch = shared_bytes::allocate(units, [&](absl::Span<std::uint8_t> out) {
      if (units_tail > 0)
        std::memcpy(out.data(), tail_.get(), units_tail);
      if (units_scratch > 0)
        std::memcpy(out.data() + units_tail, scratch, units_scratch);
    });
  }
  // Keep the incomplete rest (need_ counts from its first byte).
  if (tail_filled_ > units_tail) {
    if (units_tail > 0
        && !keep_tail(tail_.get() + units_tail, tail_filled_ - units_tail,
                      failure))
      return false;
  } else if (!keep_tail(scratch + units_scratch, in_scratch - units_scratch,
                        failure)) {
    return false;
  }
  if (units == 0)
    return true;
  unconsumed_.fetch_add(units);
  home_->deliver(owner_, caf::make_message(io_read_atom_v, std::move(batch)));
  pause_if_needed();
  return true;
}

void channel::pause_if_needed() {
  if (unconsumed_.load() < opts_->max_unconsumed)
    return;
  read_paused_.store(true);
  // consumed() may have run between the load and the store: if the count is
  // back under the limit, take the pause back (unless consumed() already
  // did and posted a resume, which is then harmless).
  if (unconsumed_.load() < opts_->max_unconsumed) {
    bool paused = true;
    read_paused_.compare_exchange_strong(paused, false);
  }
}

// -- writing
// ---------------------------------------------------------------------

void channel::take_queued() {
  std::vector<shared_bytes> taken;
  {
    std::lock_guard<std::mutex> guard{out_mutex_};
    taken.swap(outbox_);
    flush_posted_ = false;
  }
  for (auto& slice : taken)
    write_queue_.push_back(std::move(slice));
}

void channel::write_some() {
  bool notify = false;
  while (!finished_ && !write_queue_.empty()) {
    iovec* iov = home_->iov();
    std::size_t count = 0;
    for (; count < write_queue_.size() && count < internal::reactor::iov_max;
         ++count) {
      const auto& slice = write_queue_[count];
      std::size_t skip = count == 0 ? write_offset_ : 0;
      // iovec wants a mutable pointer; sendmsg only reads through it.
      iov[count].iov_base = const_cast<std::uint8_t*>(slice.data() + skip);
      iov[count].iov_len = slice.size() - skip;
    }
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = count;
    auto n = ::sendmsg(fd_.get(), &msg, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (would_block(errno))
        break;
      if (close_requested_)
        finish({}, true);
      else
        finish(io_failure("write", errno), false);
      return;
    }
    auto written = static_cast<std::size_t>(n);
    bytes_out_.fetch_add(written, std::memory_order_relaxed);
    auto before = bytes_queued_.fetch_sub(written);
    auto after = before - written;
    if (before > opts_->sent_low_watermark && after <= opts_->sent_low_watermark)
      notify = true;
    while (written > 0) {
      auto left = write_queue_.front().size() - write_offset_;
      if (written < left) {
        write_offset_ += written;
        break;
      }
      written -= left;
      write_offset_ = 0;
      write_queue_.pop_front();
    }
    if (write_queue_.empty())
      take_queued();
  }
  if (notify && owner_)
    home_->deliver(owner_, caf::make_message(io_sent_atom_v, bytes_out()));
  if (!finished_ && close_requested_ && !lingering_ && write_queue_.empty())
    begin_linger();
}

void channel::begin_linger() {
  // Everything is written: send FIN, then read until the peer's EOF (or the
  // close timeout) so that unread bytes do not turn our FIN into an RST.
  ::shutdown(fd_.get(), SHUT_WR);
  lingering_ = true;
  if (peer_eof_)
    finish({}, false); // the peer's EOF came already: nothing to drain
}

bool channel::update_interest() {
  if (!registered_ || finished_)
    return true;
  std::uint32_t wanted = 0;
  if (!peer_eof_ && (lingering_ || (!close_requested_ && !read_paused_.load())))
    wanted |= EPOLLIN;
  if (!write_queue_.empty())
    wanted |= EPOLLOUT;
  if (wanted == interest_)
    return true;
  if (!home_->watch(fd_.get(), id_, wanted, false)) {
    finish(io_failure("epoll_ctl", errno), false);
    return false;
  }
  interest_ = wanted;
  return true;
}

void channel::finish(caf::error reason, bool reset) {
  if (finished_)
    return;
  finished_ = true;
  if (registered_) {
    home_->unwatch(fd_.get());
    registered_ = false;
  }
  if (reset && fd_) {
    linger hard{1, 0};
    ::setsockopt(fd_.get(), SOL_SOCKET, SO_LINGER, &hard, sizeof(hard));
  }
  fd_.reset();
  framer_.reset();
  tail_.reset();
  tail_capacity_ = 0;
  tail_filled_ = 0;
  write_queue_ = {};
  std::vector<shared_bytes> dropped;
  {
    std::lock_guard<std::mutex> guard{out_mutex_};
    closing_ = true;
    dropped.swap(outbox_);
  }
  bytes_queued_.store(0);
  if (owner_) {
    home_->deliver(owner_, caf::make_message(io_closed_atom_v,
                                             std::move(reason)));
    owner_ = nullptr;
  } else {
    pending_close_reason_ = std::move(reason);
  }
}

} // namespace weft::io
