#pragma once

namespace weft {

/// The weft release this binary was built from: CMake's project version.
inline constexpr const char* version_string = WEFT_VERSION;

} // namespace weft
