/* header_standalone (C11): include/jitcore.h must compile on its own, first,
   with -std=c11 -Wall -Wextra -Werror -pedantic, and be idempotent. */
#include "jitcore.h"
#include "jitcore.h"

#if !defined(JITCORE_VERSION_MAJOR) || !defined(JITCORE_VERSION_MINOR) || !defined(JITCORE_VERSION_PATCH)
#error "jitcore.h does not define the JITCORE_VERSION_* macros"
#endif

_Static_assert(JITCORE_ERROR_SUCCESS == 0, "JITCORE_ERROR_SUCCESS must be 0");
_Static_assert(JITCORE_OPT_LEVEL_O3 == 3, "JitcoreOptLevel values are part of the ABI");

int jitcore_header_c_check(void);

int jitcore_header_c_check(void) {
  JitcoreStatistics stats = {0};
  JitcoreErrorRef err = (JitcoreErrorRef)0;
  const char *(*version)(void) = JitcoreGetVersionString;
  (void)err;
  (void)version;
  return (int)sizeof stats;
}
