#include "runtime/sse_event.hpp"

#include <absl/strings/str_cat.h>
#include <absl/strings/str_replace.h>
#include <absl/strings/str_split.h>

#include "runtime/error_bridge.hpp"

namespace weft {

namespace {

bool single_line(absl::string_view field) {
  return field.find_first_of(absl::string_view{"\r\n\0", 3})
         == absl::string_view::npos;
}

} // namespace

absl::StatusOr<std::string> encode_sse(const sse_event& ev) {
  if (!single_line(ev.event) || !single_line(ev.id))
    return make_status(errc::invalid_argument,
                       "an event's type and id must be one line");
  std::string out;
  if (!ev.id.empty())
    absl::StrAppend(&out, "id: ", ev.id, "\n");
  if (!ev.event.empty())
    absl::StrAppend(&out, "event: ", ev.event, "\n");
  if (ev.retry_ms && *ev.retry_ms >= 0)
    absl::StrAppend(&out, "retry: ", *ev.retry_ms, "\n");
  // CR LF, CR and LF all end a line for the browser: each gives a new
  // data line, so no line of the data can become a field of its own.
  auto data = absl::StrReplaceAll(ev.data, {{"\r\n", "\n"}, {"\r", "\n"}});
  for (auto line : absl::StrSplit(data, '\n'))
    absl::StrAppend(&out, "data: ", line, "\n");
  out += "\n";
  return out;
}

} // namespace weft
