#include "runtime/io/internal/reactor.hpp"

#include <sys/epoll.h>

#include <algorithm>
#include <array>
#include <cerrno>

#include <caf/message_id.hpp>
#include <caf/send.hpp>

#include "runtime/background_task.hpp"
#include "runtime/error_bridge.hpp"
#include "runtime/type_ids.hpp"
#include "runtime/io/channel.hpp"
#include "runtime/io/internal/socket_ops.hpp"
#include "runtime/io/internal/worker_core.hpp"
#include "runtime/io/listener.hpp"

namespace weft::io::internal {

namespace {

/// Events taken per epoll_wait.
constexpr int max_events = 256;

} // namespace

absl::StatusOr<std::unique_ptr<reactor>>
reactor::make(reactor_pool& pool, const reactor_options& opts) {
  unique_fd epoll{::epoll_create1(EPOLL_CLOEXEC)};
  if (!epoll)
    return errno_status("epoll_create1", errno);
  auto spot = parking_spot::make();
  if (!spot.ok())
    return spot.status();
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = wake_tag;
  if (::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, (*spot)->fd(), &ev) != 0)
    return errno_status("epoll_ctl(eventfd)", errno);
  auto inbox = std::make_shared<reactor_inbox>(std::move(*spot));
  return std::make_unique<reactor>(pool, opts, std::move(epoll), nullptr,
                                   std::move(inbox));
}

std::unique_ptr<reactor> reactor::make_on(reactor_pool& pool,
                                          const reactor_options& opts,
                                          std::shared_ptr<worker_core> core) {
  auto inbox = std::make_shared<reactor_inbox>(core->spot());
  return std::make_unique<reactor>(pool, opts, unique_fd{}, std::move(core),
                                   std::move(inbox));
}

reactor::reactor(reactor_pool& pool, const reactor_options& opts,
                 unique_fd epoll, std::shared_ptr<worker_core> core,
                 std::shared_ptr<reactor_inbox> inbox)
  : pool_(pool), opts_(opts), owned_epoll_(std::move(epoll)),
    epoll_(core ? core->epoll_fd() : owned_epoll_.get()),
    core_(std::move(core)), inbox_(std::move(inbox)), iov_(iov_max) {}

reactor::~reactor() {
  stop();
}

void reactor::start() {
  if (core_) {
    on_worker_ = true;
    core_->attach(this);
    return;
  }
  thread_ = std::thread{[this] {
    loop();
  }};
}

void reactor::stop() {
  if (core_) {
    if (!on_worker_)
      return;
    on_worker_ = false;
    inbox_->request_stop();
    if (core_->on_this_thread()) {
      // Asked from an actor on this very worker: it cannot wait for itself,
      // and it is between two of the worker's turns, so it closes
      // everything and takes the reactor back here.
      core_->release_from_this_worker(this);
      return;
    }
    std::unique_lock<std::mutex> guard{detach_mutex_};
    // A worker always comes back to its reactor between jobs; this bound
    // only matters if the actor system stopped its workers first, which
    // reactor_pool's contract forbids.
    if (!detach_cv_.wait_for(guard, std::chrono::seconds(30),
                             [this] { return detached_; }))
      opts_.log.error("io.reactor.stop_timeout",
                      {{"reason", "the scheduler worker running this "
                                  "reactor did not let go of it in 30 s"}});
    return;
  }
  if (!thread_.joinable())
    return;
  inbox_->request_stop();
  thread_.join();
}

void reactor::finish_on_worker(caf::execution_unit* unit) {
  unit_ = unit;
  shut_down();
  flush_owners();
}

void reactor::signal_detached() {
  std::lock_guard<std::mutex> guard{detach_mutex_};
  detached_ = true;
  detach_cv_.notify_all();
}

bool reactor::watch(int fd, std::uint64_t id, std::uint32_t events, bool add) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = id;
  return ::epoll_ctl(epoll_, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev)
         == 0;
}

void reactor::unwatch(int fd) {
  ::epoll_ctl(epoll_, EPOLL_CTL_DEL, fd, nullptr);
}

void reactor::add_timer(clock::time_point deadline, std::uint64_t id) {
  timers_.push_back(timer{deadline, id});
}

int reactor::next_timeout_ms() const {
  if (timers_.empty())
    return -1;
  auto first = std::min_element(
    timers_.begin(), timers_.end(),
    [](const timer& a, const timer& b) { return a.deadline < b.deadline; });
  auto left = std::chrono::ceil<std::chrono::milliseconds>(first->deadline
                                                           - clock::now());
  return static_cast<int>(
    std::clamp<std::chrono::milliseconds::rep>(left.count(), 0, 60'000));
}

void reactor::fire_timers() {
  if (timers_.empty())
    return;
  auto now = clock::now();
  std::vector<std::uint64_t> due;
  auto rest
    = std::partition(timers_.begin(), timers_.end(),
                     [now](const timer& t) { return t.deadline > now; });
  for (auto i = rest; i != timers_.end(); ++i)
    due.push_back(i->id);
  timers_.erase(rest, timers_.end());
  for (auto id : due)
    dispatch(id, 0);
}

void reactor::dispatch(std::uint64_t id, std::uint32_t events) {
  // events == 0 means a timer fired.
  if (auto i = channels_.find(id); i != channels_.end()) {
    auto chan = i->second; // keeps it alive while it runs
    if (events == 0)
      chan->on_timer();
    else
      chan->on_events(events);
    if (chan->finished())
      channels_.erase(id);
    return;
  }
  if (auto i = listeners_.find(id); i != listeners_.end()) {
    auto lst = i->second;
    if (events == 0)
      lst->on_timer();
    else
      lst->on_events(events);
    if (lst->finished())
      listeners_.erase(id);
  }
}

void reactor::run(command& cmd) {
  switch (cmd.kind) {
    case command_kind::start_channel: {
      auto& chan = cmd.chan;
      chan->on_start(std::move(cmd.owner));
      if (!chan->finished())
        channels_.emplace(chan->id(), chan);
      break;
    }
    case command_kind::flush_channel:
      cmd.chan->on_flush();
      break;
    case command_kind::resume_read:
      cmd.chan->on_resume_read();
      break;
    case command_kind::close_channel:
      cmd.chan->on_close_request();
      break;
    case command_kind::abort_channel:
      cmd.chan->on_abort();
      break;
    case command_kind::add_listener:
      cmd.lst->on_add();
      if (!cmd.lst->finished())
        listeners_.emplace(cmd.lst->id(), cmd.lst);
      break;
    case command_kind::close_listener:
      cmd.lst->on_close();
      break;
  }
  if (cmd.chan && cmd.chan->finished())
    channels_.erase(cmd.chan->id());
  if (cmd.lst && cmd.lst->finished())
    listeners_.erase(cmd.lst->id());
}

void reactor::poll(caf::execution_unit* unit, bool may_block,
                   absl::FunctionRef<bool()> busy, int max_wait_ms,
                   bool helping) {
  unit_ = unit;
  int timeout = 0;
  bool parked = false;
  if (may_block) {
    timeout = next_timeout_ms();
    if (max_wait_ms >= 0 && (timeout < 0 || timeout > max_wait_ms))
      timeout = max_wait_ms;
    if (timeout != 0) {
      // Park first, then look once more: work added after this look
      // unparks us (parking_spot). A helper (worker_core::help) may have
      // taken a stop request from the inbox since our last turn.
      inbox_->spot()->park();
      parked = true;
      if (inbox_->pending() || stopping_ || busy())
        timeout = 0;
    }
  }
  std::array<epoll_event, max_events> events;
  int n = ::epoll_wait(epoll_, events.data(), max_events, timeout);
  // Only the thread that parked may leave: a helper's look must not clear
  // the owner's flag (its next unpark would then not wake it).
  if (parked)
    inbox_->spot()->leave();
  if (n < 0) {
    if (errno != EINTR) {
      opts_.log.error("io.reactor.epoll_failed",
                      {{"error", errno_status("epoll_wait", errno)}});
      stopping_ = true;
    }
    n = 0;
  }
  for (int i = 0; i < n; ++i) {
    auto& ev = events[static_cast<std::size_t>(i)];
    if (ev.data.u64 == wake_tag) {
      // The owner's wake-up: only the owner may reset it. A helper that
      // took it would leave the owner asleep with its work undone.
      if (!helping)
        inbox_->spot()->drain();
    } else
      dispatch(ev.data.u64, ev.events);
  }
  if (inbox_->pending())
    run_inbox(unit);
  fire_timers();
  flush_owners();
}

void reactor::run_inbox(caf::execution_unit* unit) {
  unit_ = unit;
  bool stop_requested = false;
  auto commands = inbox_->take(stop_requested);
  for (auto& cmd : commands)
    run(cmd);
  if (stop_requested)
    stopping_ = true;
}

void reactor::loop() {
  while (!stopping_)
    poll(nullptr, true, [] { return false; });
  shut_down();
  flush_owners();
}

void reactor::deliver(const caf::actor& owner, caf::message msg) {
  if (!owner)
    return;
  if (unit_ != nullptr) {
    // On the running worker's own queue: the actor runs next on this
    // thread.
    owner->enqueue(nullptr, caf::make_message_id(), std::move(msg), unit_);
    return;
  }
  if (!relay_) {
    owner->enqueue(nullptr, caf::make_message_id(), std::move(msg), nullptr);
    return;
  }
  to_owners_.emplace_back(owner, std::move(msg));
}

void reactor::flush_owners() {
  if (to_owners_.empty())
    return;
  // shared_ptr: background_task holds a copyable std::function; the relay
  // runs it once.
  auto batch = std::make_shared<std::vector<std::pair<caf::actor, caf::message>>>(
    std::move(to_owners_));
  to_owners_.clear();
  caf::anon_send(relay_, background_atom_v, background_task{[batch] {
                   for (auto& [owner, msg] : *batch)
                     owner->enqueue(nullptr, caf::make_message_id(),
                                    std::move(msg), nullptr);
                 }});
}

void reactor::shut_down() {
  // Refuse new commands, then honour the ones already accepted so that each
  // started channel's owner still gets exactly one io_closed.
  for (auto& cmd : inbox_->shut())
    run(cmd);
  auto channels = std::move(channels_);
  channels_.clear();
  for (auto& [id, chan] : channels)
    chan->on_reactor_stop();
  auto listeners = std::move(listeners_);
  listeners_.clear();
  for (auto& [id, lst] : listeners)
    lst->on_close();
  timers_.clear();
}

} // namespace weft::io::internal
