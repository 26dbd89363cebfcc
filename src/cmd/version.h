// ebb's version, from the project version in CMakeLists.txt.
#pragma once

namespace ebb::cmd {
inline constexpr char kVersion[] = EBB_VERSION;
}  // namespace ebb::cmd
