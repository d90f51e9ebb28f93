// header_standalone (C++17): include/jitcore.h must compile on its own, first,
// with -std=c++17 -Wall -Wextra -Werror -pedantic, and declare its functions
// with C linkage.
#include "jitcore.h"
#include "jitcore.h"

#include <type_traits>

static_assert(JITCORE_ERROR_SUCCESS == 0, "JITCORE_ERROR_SUCCESS must be 0");
static_assert(std::is_standard_layout<JitcoreStatistics>::value, "JitcoreStatistics must be standard layout");

extern "C" {
typedef const char *(*jitcore_header_version_fn)(void);
}

int jitcore_header_cxx_check();

int jitcore_header_cxx_check() {
  JitcoreStatistics stats{};
  JitcoreErrorRef err = nullptr;
  jitcore_header_version_fn version = &JitcoreGetVersionString;
  (void)err;
  (void)version;
  return static_cast<int>(sizeof stats);
}
