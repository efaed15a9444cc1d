#pragma once

#include <cstddef>
#include <string>

#include <absl/status/statusor.h>

namespace weft::protocol {

/// The path prefix of this process's spill files in `dir`:
/// "<dir>/weft-spill-<host>-<pid>-" (mkostemp appends six characters).
/// Naming the host and process lets sweep_stale_spill_files tell the
/// files of a process that died from those of one still running.
std::string spill_file_prefix(const std::string& dir);

/// The same for process `pid` of this host (tests make a dead one's).
std::string spill_file_prefix(const std::string& dir, long pid);

/// Removes the spill files in `dir` that a process of this host left
/// behind when it died without cleaning up (a crash, SIGKILL): files named
/// by spill_file_prefix whose host is ours and whose process is gone.
/// Files of other hosts (a directory shared between containers) and of
/// running processes stay. Returns how many were removed; fails only when
/// `dir` cannot be read. Call at start-up, from any thread.
absl::StatusOr<std::size_t> sweep_stale_spill_files(const std::string& dir);

} // namespace weft::protocol
