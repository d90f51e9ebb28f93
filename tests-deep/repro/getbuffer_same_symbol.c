/*
 * repro/getbuffer_same_symbol.c: an object cache GetBuffer that returns
 * the (valid) object of ANOTHER module defining the same symbol is used as
 * the object of the module being compiled: f() returns 2, not 1, and
 * CacheRejected stays 0. The disk cache guards against this with the key
 * in its header; the callback cache has no such check.
 * Expected (header: "A buffer that is not a valid object for M is
 * ignored"): rejected, the module compiled, f() == 1.
 */
#include "../../tests-c/test_util.h"

static unsigned char *saved;
static size_t saved_len;

static void save(void *ctx, JitcoreModuleRef m, const uint8_t *o, size_t n)
{
    (void)ctx; (void)m;
    saved = malloc(n);
    memcpy(saved, o, n);
    saved_len = n;
}

static JitcoreObjectBufferRef give(void *ctx, JitcoreModuleRef m)
{
    (void)ctx; (void)m;
    return JitcoreCreateObjectBufferCopy(saved, saved_len);
}

int main(void)
{
    JitcoreEngineRef other = MAKE_ENGINE(MAKE_MODULE("other_module", "define i32 @f() { ret i32 2 }\n"));
    JitcoreEngineSetObjectCache(other, save, NULL, NULL);
    LOOKUP(other, "f");
    JitcoreDisposeEngine(other);

    JitcoreEngineRef ee = MAKE_ENGINE(NULL);
    JitcoreEngineSetObjectCache(ee, NULL, give, NULL);
    CHECK_OK(JitcoreEngineAddModule(ee, MAKE_MODULE("my_module", "define i32 @f() { ret i32 1 }\n")));
    uint64_t a = LOOKUP(ee, "f");
    int got = a ? FN(int (*)(void), a)() : -1;
    JitcoreStatistics st = GET_STATS(ee);
    printf("getbuffer_same_symbol: f() == %d (expected 1), CacheRejected=%llu CacheHits=%llu\n", got,
           (unsigned long long)st.CacheRejected, (unsigned long long)st.CacheHits);
    CHECK_EQ_INT(got, 1);
    JitcoreDisposeEngine(ee);
    free(saved);
    return tu_finish("getbuffer_same_symbol");
}
