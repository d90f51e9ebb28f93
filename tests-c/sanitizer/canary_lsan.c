/* canary_lsan.c: loses the only pointer to a heap block. Built with the
   flags of the asan configuration and run with its ASAN_OPTIONS, it must
   end with a LeakSanitizer report; the test (sanitizer_canary_lsan) passes
   only if that report appears, so leak detection is known to be on. */
#include <stdio.h>
#include <stdlib.h>

static void *volatile held;

int main(void)
{
    held = malloc(77);
    printf("canary_lsan: allocated %p\n", held);
    held = NULL; /* leaked */
    return 0;
}
