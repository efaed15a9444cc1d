#include "runtime/shutdown_signals.hpp"

#include <algorithm>
#include <cerrno>
#include <pthread.h>

namespace weft {

sigset_t block_shutdown_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

int wait_for_signal(const sigset_t& set, absl::Duration timeout) {
  auto ts = absl::ToTimespec(std::max(timeout, absl::ZeroDuration()));
  for (;;) {
    int sig = sigtimedwait(&set, nullptr, &ts);
    if (sig > 0)
      return sig;
    // EINTR (a stop/continue) restarts with the full budget: good enough for
    // a pause between pings or a 100 ms poll.
    if (errno != EINTR)
      return 0;
  }
}

} // namespace weft
