/*
 * The floor of a warm cache *through a custom materialization unit under a
 * resource tracker*, the way LLVM-C lets jitcore's one compile path work
 * (architecture.md; src/session/unit.rs), in C and without any of
 * jitcore's own work (no verifier, no object validation, no content key,
 * no bookkeeping). LLVM-C defines a custom unit only into a JITDylib's
 * default tracker, so a module is added as a placeholder IR module (one
 * empty definition per symbol, in one shared context) under a tracker of
 * its own; the first lookup runs LLJIT's IR transform, which replaces the
 * placeholder's responsibility with a custom unit
 * (LLVMOrcMaterializationResponsibilityReplace) and ends the now empty
 * placeholder with an error the reporter ignores; the unit, materialized at
 * once, drops the parsed module and emits the cached object into the object
 * linking layer (LLVMOrcObjectLayerEmit). Objects come from floor.c's table,
 * so the priming pass compiles exactly as the floor's does.
 *
 * Single-threaded: the shared placeholder context is used without the
 * ThreadSafeContext's lock (jitcore takes it), so this floor is, if
 * anything, slightly cheaper than the path could be.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llvm-c/Core.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>

#include "subject.h"

#define DONE "unit floor: placeholder replaced"

/* A module between its add and its unit's materialization. */
typedef struct Pending {
    char *name;
    LLVMContextRef ctx;
    LLVMModuleRef module;
    LLVMMemoryBufferRef object; /* floor.c's, not owned */
    LLVMOrcLLJITRef jit;        /* what the unit emits into */
    struct Pending *next;
} Pending;

struct Jit {
    LLVMOrcLLJITRef j; /* first: harness_lljit_subject_lookup */
    int opt_level;
    LLVMOrcThreadSafeContextRef tsc;
    LLVMContextRef shared; /* the placeholders' context, owned by tsc */
    Pending *pending;
};

static void ignore_done(void *ctx, LLVMErrorRef err)
{
    (void)ctx;
    char *msg = LLVMGetErrorMessage(err);
    if (strcmp(msg, DONE) != 0)
        harness_die("unit floor: ORC reported", msg);
    LLVMDisposeErrorMessage(msg);
}

static void materialize(void *ctx, LLVMOrcMaterializationResponsibilityRef mr)
{
    Pending *p = ctx;
    LLVMDisposeModule(p->module);
    LLVMContextDispose(p->ctx);
    p->module = NULL;
    p->ctx = NULL;
    LLVMMemoryBufferRef copy = LLVMCreateMemoryBufferWithMemoryRangeCopy(
        LLVMGetBufferStart(p->object), LLVMGetBufferSize(p->object), p->name);
    LLVMOrcObjectLayerEmit(LLVMOrcLLJITGetObjLinkingLayer(p->jit), mr, copy);
    /* A custom unit's materialize takes its context (no destroy follows). */
    free(p->name);
    free(p);
}

static void discard(void *ctx, LLVMOrcJITDylibRef jd, LLVMOrcSymbolStringPoolEntryRef sym)
{
    (void)ctx, (void)jd, (void)sym;
}

static void destroy(void *ctx)
{
    Pending *p = ctx;
    if (p->module) {
        LLVMDisposeModule(p->module);
        LLVMContextDispose(p->ctx);
    }
    free(p->name);
    free(p);
}

static LLVMErrorRef module_name(void *ctx, LLVMModuleRef m)
{
    size_t n = 0;
    const char *id = LLVMGetModuleIdentifier(m, &n);
    snprintf(ctx, 256, "%.*s", (int)n, id);
    return NULL;
}

static LLVMErrorRef transform(void *ctx, LLVMOrcThreadSafeModuleRef *tsm, LLVMOrcMaterializationResponsibilityRef mr)
{
    Jit *j = ctx;
    char name[256];
    harness_llvm_check(LLVMOrcThreadSafeModuleWithModuleDo(*tsm, module_name, name), "placeholder name");
    Pending **at = &j->pending;
    while (*at && strcmp((*at)->name, name) != 0)
        at = &(*at)->next;
    if (!*at)
        harness_die("unit floor", "no module for the placeholder");
    Pending *p = *at;
    *at = p->next;
    p->next = NULL;

    size_t n = 0;
    LLVMOrcCSymbolFlagsMapPairs syms = LLVMOrcMaterializationResponsibilityGetSymbols(mr, &n);
    for (size_t i = 0; i < n; i++)
        LLVMOrcRetainSymbolStringPoolEntry(syms[i].Name); /* the unit takes them */
    LLVMOrcMaterializationUnitRef mu =
        LLVMOrcCreateCustomMaterializationUnit(p->name, p, syms, n, NULL, materialize, discard, destroy);
    LLVMOrcDisposeCSymbolFlagsMap(syms);
    harness_llvm_check(LLVMOrcMaterializationResponsibilityReplace(mr, mu), "replace");
    LLVMOrcDisposeThreadSafeModule(*tsm);
    *tsm = NULL;
    return LLVMCreateStringError(DONE);
}

static Jit *create(const BenchConfig *c)
{
    Jit *j = calloc(1, sizeof *j);
    j->j = harness_create_lljit(c->opt_level);
    j->opt_level = c->opt_level;
    j->shared = LLVMContextCreate();
    j->tsc = LLVMOrcCreateNewThreadSafeContextFromLLVMContext(j->shared);
    LLVMOrcExecutionSessionSetErrorReporter(LLVMOrcLLJITGetExecutionSession(j->j), ignore_done, NULL);
    LLVMOrcIRTransformLayerSetTransform(LLVMOrcLLJITGetIRTransformLayer(j->j), transform, j);
    return j;
}

/* What ORC derives symbol flags from: weakness and visibility. */
static void copy_kind(LLVMValueRef from, LLVMValueRef to)
{
    switch (LLVMGetLinkage(from)) {
    case LLVMWeakAnyLinkage:
    case LLVMWeakODRLinkage:
    case LLVMLinkOnceAnyLinkage:
    case LLVMLinkOnceODRLinkage:
    case LLVMCommonLinkage:
        LLVMSetLinkage(to, LLVMWeakAnyLinkage);
        break;
    default:
        break;
    }
    LLVMSetVisibility(to, LLVMGetVisibility(from));
}

static void *add(Jit *j, const char *name, const char *ir, size_t len)
{
    Pending *p = calloc(1, sizeof *p);
    p->name = strdup(name);
    p->jit = j->j;
    p->ctx = LLVMContextCreate();
    p->module = harness_parse_ir(p->ctx, name, ir, len);
    p->object = floor_object(j->opt_level, name, p->module);

    /* The placeholder: an empty definition of each defined function and
       variable, weak where it is, with the same visibility (as jitcore's). */
    LLVMModuleRef ph = LLVMModuleCreateWithNameInContext(name, j->shared);
    LLVMTypeRef void_fn = LLVMFunctionType(LLVMVoidTypeInContext(j->shared), NULL, 0, 0);
    LLVMTypeRef i8 = LLVMInt8TypeInContext(j->shared);
    LLVMBuilderRef b = LLVMCreateBuilderInContext(j->shared);
    for (LLVMValueRef f = LLVMGetFirstFunction(p->module); f; f = LLVMGetNextFunction(f)) {
        if (LLVMIsDeclaration(f) || LLVMGetLinkage(f) == LLVMInternalLinkage || LLVMGetLinkage(f) == LLVMPrivateLinkage)
            continue;
        size_t n = 0;
        const char *fname = LLVMGetValueName2(f, &n);
        LLVMValueRef d = LLVMAddFunction(ph, fname, void_fn);
        LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(j->shared, d, "entry"));
        LLVMBuildRetVoid(b);
        copy_kind(f, d);
    }
    for (LLVMValueRef g = LLVMGetFirstGlobal(p->module); g; g = LLVMGetNextGlobal(g)) {
        if (LLVMIsDeclaration(g) || LLVMGetLinkage(g) == LLVMInternalLinkage || LLVMGetLinkage(g) == LLVMPrivateLinkage)
            continue;
        size_t n = 0;
        LLVMValueRef d = LLVMAddGlobal(ph, i8, LLVMGetValueName2(g, &n));
        LLVMSetInitializer(d, LLVMConstInt(i8, 0, 0));
        copy_kind(g, d);
    }
    LLVMDisposeBuilder(b);

    p->next = j->pending;
    j->pending = p;
    LLVMOrcResourceTrackerRef rt = LLVMOrcJITDylibCreateResourceTracker(LLVMOrcLLJITGetMainJITDylib(j->j));
    harness_llvm_check(LLVMOrcLLJITAddLLVMIRModuleWithRT(j->j, rt, LLVMOrcCreateNewThreadSafeModule(ph, j->tsc)), name);
    return rt;
}

static void dispose(Jit *j)
{
    harness_llvm_check(LLVMOrcDisposeLLJIT(j->j), "dispose");
    LLVMOrcDisposeThreadSafeContext(j->tsc);
    while (j->pending) {
        Pending *p = j->pending;
        j->pending = p->next;
        destroy(p);
    }
    free(j);
}

const Subject subject_unitfloor = {"unitfloor", create, add, harness_lljit_subject_lookup, NULL, harness_lljit_subject_remove, dispose};
