/* trampolines.h: the C side of the Go binding (see trampolines.c). */
#ifndef JITCORE_GO_TRAMPOLINES_H
#define JITCORE_GO_TRAMPOLINES_H

#include <jitcore.h>
#include <stdint.h>

/* Installing callbacks: the context jitcore hands back is a runtime/cgo
   Handle, which is an integer, not a pointer. It is turned into a void *
   here, in C, and back into an integer in the trampolines, so Go code never
   holds it as an unsafe.Pointer (checkptr would refuse that). */
void jitcore_go_engine_set_object_cache(JitcoreEngineRef ee, int on, uintptr_t h);
void jitcore_go_session_set_object_cache(JitcoreSessionRef s, int on, uintptr_t h);
void jitcore_go_engine_set_error_reporter(JitcoreEngineRef ee, int on, uintptr_t h);
void jitcore_go_session_set_error_reporter(JitcoreSessionRef s, int on, uintptr_t h);
JitcoreErrorRef jitcore_go_add_process_symbols(JitcoreDylibRef d, int filtered, uintptr_t h);
JitcoreErrorRef jitcore_go_add_library_symbols(JitcoreDylibRef d, const char *path, int filtered, uintptr_t h);
JitcoreErrorRef jitcore_go_add_materializer(JitcoreDylibRef d, const char *const *syms, size_t n, uintptr_t h,
                                            JitcoreResourceTrackerRef rt);

/* Calling jitted code: a function at address f with n (0..6) arguments. */
int64_t jitcore_go_call_i64(uint64_t f, int n, const int64_t *args);
int32_t jitcore_go_call_i32(uint64_t f, int n, const int32_t *args);
double jitcore_go_call_f64(uint64_t f, int n, const double *args);
void jitcore_go_call_void(uint64_t f, int n, const int64_t *args);

#endif
