#pragma once

#include <absl/strings/string_view.h>

#include "runtime/errc.hpp"

namespace weft::http {

/// The HTTP status that answers a request failed with `code` (the table in
/// docs/guide.md, "Errors over HTTP").
int status_of(errc code) noexcept;

/// The reason phrase of `status` ("Not Found"); "Unknown" if not known.
absl::string_view reason_phrase(int status) noexcept;

} // namespace weft::http
