/* trampolines.c: C functions of the Go binding.
 *
 * jitcore calls C function pointers with a void *Ctx. These trampolines
 * turn the Ctx back into the runtime/cgo Handle it was made from and call
 * the //export'ed Go functions of callbacks.go, which find the Go func
 * behind the handle. They may run on any thread (jitcore's compile threads
 * included): cgo attaches such threads to the Go runtime for the call. */
#include "trampolines.h"
#include "_cgo_export.h"

#include <stddef.h>

static void notify_tramp(void *ctx, JitcoreModuleRef m, const uint8_t *obj, size_t len)
{
    jitcoreGoNotify((uintptr_t)ctx, m, (uint8_t *)obj, len);
}

static JitcoreObjectBufferRef getbuffer_tramp(void *ctx, JitcoreModuleRef m)
{
    return jitcoreGoGetBuffer((uintptr_t)ctx, m);
}

static void report_tramp(void *ctx, enum JitcoreErrorCode code, const char *msg)
{
    jitcoreGoReport((uintptr_t)ctx, (int)code, (char *)msg);
}

static int filter_tramp(void *ctx, const char *name)
{
    return jitcoreGoFilter((uintptr_t)ctx, (char *)name);
}

static JitcoreErrorRef materialize_tramp(void *ctx, const char *const *syms, size_t n, JitcoreModuleRef *mod_out,
                                         JitcoreObjectBufferRef *obj_out)
{
    return jitcoreGoMaterialize((uintptr_t)ctx, (char **)syms, n, mod_out, obj_out);
}

static void materializer_dispose_tramp(void *ctx)
{
    jitcoreGoMaterializerDispose((uintptr_t)ctx);
}

void jitcore_go_engine_set_object_cache(JitcoreEngineRef ee, int on, uintptr_t h)
{
    if (on)
        JitcoreEngineSetObjectCache(ee, notify_tramp, getbuffer_tramp, (void *)h);
    else
        JitcoreEngineSetObjectCache(ee, NULL, NULL, NULL);
}

void jitcore_go_session_set_object_cache(JitcoreSessionRef s, int on, uintptr_t h)
{
    if (on)
        JitcoreSessionSetObjectCache(s, notify_tramp, getbuffer_tramp, (void *)h);
    else
        JitcoreSessionSetObjectCache(s, NULL, NULL, NULL);
}

void jitcore_go_engine_set_error_reporter(JitcoreEngineRef ee, int on, uintptr_t h)
{
    JitcoreEngineSetErrorReporter(ee, on ? report_tramp : NULL, on ? (void *)h : NULL);
}

void jitcore_go_session_set_error_reporter(JitcoreSessionRef s, int on, uintptr_t h)
{
    JitcoreSessionSetErrorReporter(s, on ? report_tramp : NULL, on ? (void *)h : NULL);
}

JitcoreErrorRef jitcore_go_add_process_symbols(JitcoreDylibRef d, int filtered, uintptr_t h)
{
    return JitcoreDylibAddProcessSymbols(d, filtered ? filter_tramp : NULL, filtered ? (void *)h : NULL);
}

JitcoreErrorRef jitcore_go_add_library_symbols(JitcoreDylibRef d, const char *path, int filtered, uintptr_t h)
{
    return JitcoreDylibAddLibrarySymbols(d, path, filtered ? filter_tramp : NULL, filtered ? (void *)h : NULL);
}

JitcoreErrorRef jitcore_go_add_materializer(JitcoreDylibRef d, const char *const *syms, size_t n, uintptr_t h,
                                            JitcoreResourceTrackerRef rt)
{
    return JitcoreDylibAddMaterializer(d, syms, n, materialize_tramp, materializer_dispose_tramp, (void *)h, rt);
}

/* Calls of jitted functions. The Go side checks that f is not 0 and that n
   is in range; the signature is the caller's promise, as a C cast is. One
   switch, over the argument count, for each argument and return type. */
#define CALL_SWITCH(R, T, RET)                                                                         \
    void *p = (void *)(uintptr_t)f;                                                                    \
    const T *a = args;                                                                                 \
    switch (n) {                                                                                       \
    case 0: RET((R(*)(void))p)(); break;                                                               \
    case 1: RET((R(*)(T))p)(a[0]); break;                                                              \
    case 2: RET((R(*)(T, T))p)(a[0], a[1]); break;                                                     \
    case 3: RET((R(*)(T, T, T))p)(a[0], a[1], a[2]); break;                                            \
    case 4: RET((R(*)(T, T, T, T))p)(a[0], a[1], a[2], a[3]); break;                                   \
    case 5: RET((R(*)(T, T, T, T, T))p)(a[0], a[1], a[2], a[3], a[4]); break;                          \
    default: RET((R(*)(T, T, T, T, T, T))p)(a[0], a[1], a[2], a[3], a[4], a[5]); break;                \
    }

#define RETURN return
#define DISCARD (void)

int64_t jitcore_go_call_i64(uint64_t f, int n, const int64_t *args)
{
    CALL_SWITCH(int64_t, int64_t, RETURN)
}

int32_t jitcore_go_call_i32(uint64_t f, int n, const int32_t *args)
{
    CALL_SWITCH(int32_t, int32_t, RETURN)
}

double jitcore_go_call_f64(uint64_t f, int n, const double *args)
{
    CALL_SWITCH(double, double, RETURN)
}

void jitcore_go_call_void(uint64_t f, int n, const int64_t *args)
{
    CALL_SWITCH(void, int64_t, DISCARD)
}
