/* canary_asan.c: a heap overflow by one byte. Built with the flags of the
   asan configuration, it must die with an AddressSanitizer report; the
   test (sanitizer_canary_asan) passes only if that report appears. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    (void)argv;
    volatile char *p = malloc(8);
    p[8 + argc - 1] = 1; /* one past the end */
    printf("canary_asan: the overflow was not detected\n");
    free((void *)p);
    return 0;
}
