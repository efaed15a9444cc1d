#include "runtime/cli/signals.hpp"

namespace weft::cli {

sigset_t block_interrupts() {
  auto set = block_shutdown_signals();
  struct sigaction ignore = {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  sigaction(SIGPIPE, &ignore, nullptr);
  return set;
}

} // namespace weft::cli
