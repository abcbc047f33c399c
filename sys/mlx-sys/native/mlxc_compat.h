/* Force-included into every mlx-c translation unit when building on Linux
 * with GCC 12 (see scripts/setup.sh). Two gaps are filled:
 *  - GCC 12's libstdc++ has no <format>; mlx-c only uses plain "{}"
 *    placeholders with strings and integers, so a tiny streaming substitute
 *    is enough.
 *  - mlx-c only declares its float16/bfloat16 accessors on ARM. On x86 we
 *    declare both as raw 16-bit storage so the accessors exist; the bits are
 *    passed through unchanged (mlx-rs reinterprets them as half::f16/bf16). */
#ifndef SOVITS_MLXC_COMPAT_H
#define SOVITS_MLXC_COMPAT_H

#include <stdint.h>

#if !defined(__aarch64__)
#define HAS_FLOAT16
#define HAS_BFLOAT16
typedef uint16_t float16_t;
typedef uint16_t bfloat16_t;
#endif

#ifdef __cplusplus
#include <version>
#if !defined(__cpp_lib_format)
#include <sstream>
#include <string>
#include <string_view>

namespace std {
namespace sovits_compat {
inline void format_into(std::ostringstream& out, std::string_view rest) {
  out << rest;
}
template <typename First, typename... Rest>
void format_into(std::ostringstream& out, std::string_view rest,
                 const First& first, const Rest&... others) {
  auto hole = rest.find("{}");
  if (hole == std::string_view::npos) {
    out << rest;
    return;
  }
  out << rest.substr(0, hole) << first;
  format_into(out, rest.substr(hole + 2), others...);
}
}  // namespace sovits_compat

template <typename... Args>
std::string format(std::string_view pattern, const Args&... args) {
  std::ostringstream out;
  sovits_compat::format_into(out, pattern, args...);
  return out.str();
}
}  // namespace std
#endif
#endif

#endif
