#pragma once

#include <csignal>
#include <string>

#include <absl/strings/string_view.h>

#include "runtime/cli/cli_args.hpp"
#include "runtime/cli/exit_code.hpp"

namespace weft::cli {

/// Runs `weft listen`: connects (no reconnect), claims --client-id if
/// given, subscribes to each --topic, prints `listening as ...` on stderr,
/// then one line per push on stdout (format_push_line), flushed at once,
/// until --count pushes, the end of --timeout, one of `interrupts` (all
/// exit 0) or a lost connection (3). Main thread only; pushes come from the
/// client's thread through a bounded push_queue.
exit_code run_listen(const cli_args& args, const sigset_t& interrupts);

/// `bytes` for a terminal: printable UTF-8 kept, `\` as `\\`, newline, tab
/// and carriage return as `\n`, `\t`, `\r`, and every other control
/// character (C0, DEL, C1) and every byte that is not part of valid UTF-8
/// as `\xHH`. The result has no control characters. Pure, for tests.
std::string escape_text(absl::string_view bytes);

/// `bytes` as a JSON string literal, quotes included: `"` and `\` escaped,
/// control characters as `\n`-style or `\u00XX` escapes, U+2028/U+2029 as
/// `\u2028`/`\u2029`, and each byte that is not part of valid UTF-8 as
/// U+FFFD. Sets `*lossless` (if given) to false when a byte was replaced.
/// Pure, for tests.
std::string json_string(absl::string_view bytes, bool* lossless = nullptr);

/// One output line of `weft listen`, newline included:
///   text: `ROUTE<TAB>BODY`, both through escape_text();
///   json: `{"route":R,"content_type":C,"body":B}` through json_string(),
///         plus `"body_base64":...` (the exact bytes) when the body is not
///         valid UTF-8.
/// Pure, for tests.
std::string format_push_line(output_format format, absl::string_view route,
                             absl::string_view content_type,
                             absl::string_view body);

} // namespace weft::cli
