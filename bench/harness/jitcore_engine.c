/*
 * jitcore's engine (the MCJIT-style facade) as a benchmark subject: one
 * engine for the host machine at the opt level, its default IR pipeline
 * (default<On>), optionally a disk cache or the host cache callbacks.
 */
#include <stdlib.h>

#include "jitcore.h"
#include "subject.h"

struct Jit {
    JitcoreEngineRef ee;
};

static Jit *create(const BenchConfig *c)
{
    Jit *j = calloc(1, sizeof *j);
    JitcoreTargetMachineRef tm = NULL;
    harness_jitcore_check(JitcoreCreateHostTargetMachine(&tm, (JitcoreOptLevel)c->opt_level), "target machine");
    harness_jitcore_check(JitcoreCreateMCJITCompiler(&j->ee, NULL, tm), "engine");
    JitcoreDisposeTargetMachine(tm);
    if (c->disk_cache) {
        JitcoreObjectCacheRef cache = harness_disk_cache(c->disk_cache);
        JitcoreEngineSetDiskCache(j->ee, cache);
        JitcoreDisposeObjectCache(cache);
    }
    if (c->callback_cache)
        JitcoreEngineSetObjectCache(j->ee, host_cache_notify, host_cache_get_buffer, NULL);
    return j;
}

static void *add(Jit *j, const char *name, const char *ir, size_t len)
{
    JitcoreModuleRef m = NULL;
    harness_jitcore_check(JitcoreCreateModuleFromIR(&m, name, ir, len), name);
    harness_jitcore_check(JitcoreEngineAddModule(j->ee, m), name);
    return m;
}

static uint64_t lookup(Jit *j, const char *symbol)
{
    uint64_t a = 0;
    harness_jitcore_check(JitcoreEngineGetFunctionAddress(j->ee, &a, symbol), symbol);
    return a;
}

static void remove_module(Jit *j, void *added)
{
    harness_jitcore_check(JitcoreEngineRemoveModule(j->ee, added), "remove");
    JitcoreDisposeModule(added);
}

static void dispose(Jit *j)
{
    JitcoreDisposeEngine(j->ee);
    free(j);
}

const Subject subject_engine = {"engine", create, add, lookup, NULL, remove_module, dispose};
