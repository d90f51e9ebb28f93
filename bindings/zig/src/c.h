/* The C API, as the translate-c step of build.zig sees it: jitcore.h from
   the include directory pkg-config names (pkg-config --cflags jitcore). */
#include <jitcore.h>
