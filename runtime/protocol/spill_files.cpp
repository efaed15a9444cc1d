#include "runtime/protocol/spill_files.hpp"

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include <absl/strings/numbers.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/string_view.h>
#include <absl/strings/strip.h>

#include "runtime/error_bridge.hpp"

namespace weft::protocol {

namespace {

constexpr absl::string_view name_prefix = "weft-spill-";

/// This machine's name as it appears in spill file names ("-" and "/"
/// would confuse the parsing or the path, so they become "_").
std::string host_tag() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0')
    return "localhost";
  std::string tag{name};
  for (auto& c : tag)
    if (c == '-' || c == '/')
      c = '_';
  return tag;
}

/// The process that made spill file `name` of this host, or 0 if `name`
/// is not one: "weft-spill-<host>-<pid>-XXXXXX".
pid_t owner_of(absl::string_view name, const std::string& host) {
  if (!absl::ConsumePrefix(&name, name_prefix))
    return 0;
  if (!absl::ConsumePrefix(&name, host) || !absl::ConsumePrefix(&name, "-"))
    return 0;
  auto dash = name.find('-');
  if (dash == absl::string_view::npos || name.size() - dash - 1 != 6)
    return 0;
  int pid = 0;
  if (!absl::SimpleAtoi(name.substr(0, dash), &pid) || pid <= 0)
    return 0;
  return static_cast<pid_t>(pid);
}

} // namespace

std::string spill_file_prefix(const std::string& dir) {
  return spill_file_prefix(dir, ::getpid());
}

std::string spill_file_prefix(const std::string& dir, long pid) {
  return absl::StrCat(dir, "/", name_prefix, host_tag(), "-", pid, "-");
}

absl::StatusOr<std::size_t> sweep_stale_spill_files(const std::string& dir) {
  std::unique_ptr<DIR, int (*)(DIR*)> d{::opendir(dir.c_str()), ::closedir};
  if (!d)
    return make_status(errc::io_error,
                       absl::StrCat("cannot read the spill directory ", dir,
                                    ": ", std::strerror(errno)));
  auto host = host_tag();
  std::size_t removed = 0;
  while (auto* entry = ::readdir(d.get())) {
    auto pid = owner_of(entry->d_name, host);
    if (pid == 0 || pid == ::getpid())
      continue;
    // Gone: no such process. EPERM means it exists under another user.
    if (::kill(pid, 0) == 0 || errno != ESRCH)
      continue;
    if (::unlink(absl::StrCat(dir, "/", entry->d_name).c_str()) == 0)
      ++removed;
  }
  return removed;
}

} // namespace weft::protocol
