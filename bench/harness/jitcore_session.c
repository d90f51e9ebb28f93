/*
 * jitcore's session as a benchmark subject: the main JITDylib, each module
 * under a resource tracker of its own (removing it removes the module),
 * eager or lazy, 0..N compile threads, its default IR pipeline
 * (default<On>), optionally a disk cache or the host cache callbacks.
 */
#include <stdlib.h>

#include "jitcore.h"
#include "subject.h"

struct Jit {
    JitcoreSessionRef s;
    JitcoreDylibRef main;
    int lazy;
};

static Jit *create(const BenchConfig *c)
{
    Jit *j = calloc(1, sizeof *j);
    JitcoreSessionOptions o;
    JitcoreSessionOptionsInit(&o);
    o.OptLevel = (JitcoreOptLevel)c->opt_level;
    o.CompileThreads = c->threads;
    harness_jitcore_check(JitcoreCreateSession(&j->s, &o), "session");
    j->main = JitcoreSessionGetMainDylib(j->s);
    j->lazy = c->lazy;
    if (c->disk_cache) {
        JitcoreObjectCacheRef cache = harness_disk_cache(c->disk_cache);
        JitcoreSessionSetDiskCache(j->s, cache);
        JitcoreDisposeObjectCache(cache);
    }
    if (c->callback_cache)
        JitcoreSessionSetObjectCache(j->s, host_cache_notify, host_cache_get_buffer, NULL);
    return j;
}

static void *add(Jit *j, const char *name, const char *ir, size_t len)
{
    JitcoreModuleRef m = NULL;
    harness_jitcore_check(JitcoreCreateModuleFromIR(&m, name, ir, len), name);
    JitcoreResourceTrackerRef rt = JitcoreDylibCreateResourceTracker(j->main);
    harness_jitcore_check(j->lazy ? JitcoreDylibAddModuleLazy(j->main, m, rt) : JitcoreDylibAddModule(j->main, m, rt),
                          name);
    return rt;
}

static uint64_t lookup(Jit *j, const char *symbol)
{
    uint64_t a = 0;
    harness_jitcore_check(JitcoreSessionLookup(j->s, j->main, &a, symbol), symbol);
    return a;
}

static void lookup_many(Jit *j, const char *const *symbols, size_t n, uint64_t *out)
{
    harness_jitcore_check(JitcoreSessionLookupMany(j->s, j->main, out, symbols, n), "lookup many");
}

static void remove_module(Jit *j, void *added)
{
    (void)j;
    harness_jitcore_check(JitcoreResourceTrackerRemove(added), "remove");
    JitcoreDisposeResourceTracker(added);
}

static void dispose(Jit *j)
{
    JitcoreDisposeSession(j->s);
    free(j);
}

const Subject subject_session = {"session", create, add, lookup, lookup_many, remove_module, dispose};
