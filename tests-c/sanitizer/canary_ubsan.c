/* canary_ubsan.c: a signed integer overflow. Built with the flags of the
   asan configuration (-fsanitize=undefined -fno-sanitize-recover=undefined),
   it must stop with a UBSan "runtime error"; the test
   (sanitizer_canary_ubsan) passes only if that report appears. */
#include <limits.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    (void)argv;
    volatile int x = INT_MAX;
    int y = x + argc; /* INT_MAX + 1 */
    printf("canary_ubsan: the overflow was not detected (%d)\n", y);
    return 0;
}
