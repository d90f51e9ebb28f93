/*
 * The benchmark harness's view of a JIT: one interface that jitcore's
 * engine and session and the raw LLVM-C peers (LLJIT, MCJIT) implement, so
 * every figure (main.c) runs the same work through each. Every subject
 * parses the same IR text; any error ends the process (harness_die).
 */
#ifndef BENCH_SUBJECT_H
#define BENCH_SUBJECT_H

#include <stddef.h>
#include <stdint.h>

#include <llvm-c/Core.h>
#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/TargetMachine.h>

#include "jitcore.h"

typedef struct BenchConfig {
    int opt_level;          /* 0..3: codegen, and the IR pipeline where one runs */
    const char *disk_cache; /* jitcore: a JitcoreDiskCache directory, or NULL */
    int callback_cache;     /* jitcore: host object cache callbacks (in memory) */
    int lazy;               /* session: JitcoreDylibAddModuleLazy */
    unsigned threads;       /* session: JitcoreSessionOptions.CompileThreads */
    int passes;             /* lljit: LLVMRunPasses("default<On>") before adding */
} BenchConfig;

typedef struct Jit Jit; /* each subject's own state */

typedef struct Subject {
    const char *name;
    Jit *(*create)(const BenchConfig *config);
    /* Adds the IR text `ir` as a module named `name`; returns what
       `remove` takes to remove it again. */
    void *(*add)(Jit *jit, const char *name, const char *ir, size_t len);
    uint64_t (*lookup)(Jit *jit, const char *symbol);
    /* Looks `n` symbols up at once (NULL: one lookup after another). */
    void (*lookup_many)(Jit *jit, const char *const *symbols, size_t n, uint64_t *out);
    void (*remove)(Jit *jit, void *added);
    void (*dispose)(Jit *jit);
} Subject;

extern const Subject subject_engine;  /* jitcore_engine.c */
extern const Subject subject_session; /* jitcore_session.c */
extern const Subject subject_lljit;   /* lljit.c */
extern const Subject subject_floor;   /* floor.c */
extern const Subject subject_mcjit;   /* mcjit.c */
extern const Subject subject_unitfloor; /* unit_floor.c */

/* util.c */
_Noreturn void harness_die(const char *what, const char *message);
LLVMTargetMachineRef harness_host_target_machine(int opt_level);
void harness_llvm_check(LLVMErrorRef err, const char *what);
LLVMModuleRef harness_parse_ir(LLVMContextRef ctx, const char *name, const char *ir, size_t len);
void harness_jitcore_check(JitcoreErrorRef err, const char *what);

/* lljit.c: a raw LLJIT for the host machine at `opt_level` (PIC, small
   code model, host CPU), resolving the process's symbols; a lookup in its
   main JITDylib; removing a resource tracker (and releasing it). */
LLVMOrcLLJITRef harness_create_lljit(int opt_level);
uint64_t harness_lljit_lookup(LLVMOrcLLJITRef j, const char *symbol);
void harness_lljit_remove(void *tracker);

/* lljit.c: a Subject's lookup and remove for the subjects whose Jit starts
   with its LLVMOrcLLJITRef and whose `add` returns a resource tracker
   (lljit, floor, unitfloor). */
uint64_t harness_lljit_subject_lookup(Jit *j, const char *symbol);
void harness_lljit_subject_remove(Jit *j, void *added);

/* floor.c: the object of the module `name` (parsed as `m`), compiled at
   `opt_level` the first time it is asked for and kept for the life of the
   process (the priming pass of the warm figure); the caller does not own it. */
LLVMMemoryBufferRef floor_object(int opt_level, const char *name, LLVMModuleRef m);

/* util.c: a disk cache for `dir`, the caller's handle. */
JitcoreObjectCacheRef harness_disk_cache(const char *dir);

/* host_cache.c: the object cache callbacks of a host (an in-memory table
   by module name, kept for the life of the process, so a later engine or
   session of the harness finds what an earlier one compiled). */
void host_cache_notify(void *ctx, JitcoreModuleRef m, const uint8_t *object, size_t len);
JitcoreObjectBufferRef host_cache_get_buffer(void *ctx, JitcoreModuleRef m);

#endif
