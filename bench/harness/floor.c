/*
 * The floor of a warm cache: what any cache hit must do at least. Parse
 * the IR text (a host holds IR, not objects), then add the module's object,
 * compiled before, to a raw LLJIT (LLVMOrcLLJITAddObjectFile) and look it
 * up. The first `add` of a module name compiles its object (default<On>,
 * then codegen with jitcore's target machine) and keeps it for the life of
 * the process: the priming pass of the warm figure.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llvm-c/Core.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include "subject.h"

typedef struct Object {
    char *name;
    LLVMMemoryBufferRef buffer;
    struct Object *next;
} Object;

static Object *objects;

struct Jit {
    LLVMOrcLLJITRef j; /* first: harness_lljit_subject_lookup */
    int opt_level;
};

static Jit *create(const BenchConfig *c)
{
    Jit *j = calloc(1, sizeof *j);
    j->j = harness_create_lljit(c->opt_level);
    j->opt_level = c->opt_level;
    return j;
}

static LLVMMemoryBufferRef compile(int opt_level, LLVMModuleRef m)
{
    LLVMTargetMachineRef tm = harness_host_target_machine(opt_level);
    char passes[16];
    snprintf(passes, sizeof passes, "default<O%d>", opt_level);
    LLVMPassBuilderOptionsRef o = LLVMCreatePassBuilderOptions();
    harness_llvm_check(LLVMRunPasses(m, passes, tm, o), passes);
    LLVMDisposePassBuilderOptions(o);
    LLVMMemoryBufferRef out = NULL;
    char *msg = NULL;
    if (LLVMTargetMachineEmitToMemoryBuffer(tm, m, LLVMObjectFile, &msg, &out))
        harness_die("codegen", msg);
    LLVMDisposeTargetMachine(tm);
    return out;
}

LLVMMemoryBufferRef floor_object(int opt_level, const char *name, LLVMModuleRef m)
{
    Object *o = objects;
    while (o && strcmp(o->name, name) != 0)
        o = o->next;
    if (!o) {
        o = malloc(sizeof *o);
        o->name = strdup(name);
        o->buffer = compile(opt_level, m);
        o->next = objects;
        objects = o;
    }
    return o->buffer;
}

static void *add(Jit *j, const char *name, const char *ir, size_t len)
{
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMModuleRef m = harness_parse_ir(ctx, name, ir, len);
    LLVMMemoryBufferRef object = floor_object(j->opt_level, name, m);
    LLVMDisposeModule(m);
    LLVMContextDispose(ctx);
    LLVMMemoryBufferRef copy = LLVMCreateMemoryBufferWithMemoryRangeCopy(
        LLVMGetBufferStart(object), LLVMGetBufferSize(object), name);
    LLVMOrcResourceTrackerRef rt = LLVMOrcJITDylibCreateResourceTracker(LLVMOrcLLJITGetMainJITDylib(j->j));
    harness_llvm_check(LLVMOrcLLJITAddObjectFileWithRT(j->j, rt, copy), name);
    return rt;
}

static void dispose(Jit *j)
{
    harness_llvm_check(LLVMOrcDisposeLLJIT(j->j), "dispose");
    free(j);
}

const Subject subject_floor = {"floor", create, add, harness_lljit_subject_lookup, NULL, harness_lljit_subject_remove, dispose};
