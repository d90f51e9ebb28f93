/*
 * The raw LLVM-C LLJIT peer (LLVMOrcCreateLLJIT, LLVMOrcLLJITAddLLVMIRModule,
 * LLVMOrcLLJITLookup): each module parsed into a context of its own (as
 * jitcore does), added under a resource tracker of its own; with `passes`,
 * LLVMRunPasses("default<On>") runs on it first (jitcore's default
 * pipeline), without, LLJIT's codegen only. The target machine is the one
 * jitcore uses (harness_host_target_machine). No verifier runs.
 */
#include <stdio.h>
#include <stdlib.h>

#include <llvm-c/Core.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include "subject.h"

LLVMOrcLLJITRef harness_create_lljit(int opt_level)
{
    LLVMOrcLLJITBuilderRef b = LLVMOrcCreateLLJITBuilder();
    LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(
        b, LLVMOrcJITTargetMachineBuilderCreateFromTargetMachine(harness_host_target_machine(opt_level)));
    LLVMOrcLLJITRef j = NULL;
    harness_llvm_check(LLVMOrcCreateLLJIT(&j, b), "LLJIT");
    LLVMOrcDefinitionGeneratorRef gen = NULL;
    harness_llvm_check(
        LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(&gen, LLVMOrcLLJITGetGlobalPrefix(j), NULL, NULL),
        "process symbols");
    LLVMOrcJITDylibAddGenerator(LLVMOrcLLJITGetMainJITDylib(j), gen);
    return j;
}

struct Jit {
    LLVMOrcLLJITRef j; /* first: harness_lljit_subject_lookup */
    LLVMTargetMachineRef tm; /* for the passes */
    char passes[16];
};

static Jit *create(const BenchConfig *c)
{
    Jit *j = calloc(1, sizeof *j);
    j->j = harness_create_lljit(c->opt_level);
    if (c->passes) {
        j->tm = harness_host_target_machine(c->opt_level);
        snprintf(j->passes, sizeof j->passes, "default<O%d>", c->opt_level);
    }
    return j;
}

static void *add(Jit *j, const char *name, const char *ir, size_t len)
{
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMModuleRef m = harness_parse_ir(ctx, name, ir, len);
    if (j->tm) {
        LLVMPassBuilderOptionsRef o = LLVMCreatePassBuilderOptions();
        harness_llvm_check(LLVMRunPasses(m, j->passes, j->tm, o), j->passes);
        LLVMDisposePassBuilderOptions(o);
    }
    LLVMOrcThreadSafeContextRef tsc = LLVMOrcCreateNewThreadSafeContextFromLLVMContext(ctx);
    LLVMOrcThreadSafeModuleRef tsm = LLVMOrcCreateNewThreadSafeModule(m, tsc);
    LLVMOrcDisposeThreadSafeContext(tsc);
    LLVMOrcResourceTrackerRef rt = LLVMOrcJITDylibCreateResourceTracker(LLVMOrcLLJITGetMainJITDylib(j->j));
    harness_llvm_check(LLVMOrcLLJITAddLLVMIRModuleWithRT(j->j, rt, tsm), name);
    return rt;
}

uint64_t harness_lljit_lookup(LLVMOrcLLJITRef j, const char *symbol)
{
    LLVMOrcExecutorAddress a = 0;
    harness_llvm_check(LLVMOrcLLJITLookup(j, &a, symbol), symbol);
    return a;
}

void harness_lljit_remove(void *tracker)
{
    harness_llvm_check(LLVMOrcResourceTrackerRemove(tracker), "remove");
    LLVMOrcReleaseResourceTracker(tracker);
}

uint64_t harness_lljit_subject_lookup(Jit *j, const char *symbol)
{
    /* The subject's state starts with its LLJIT (subject.h). */
    return harness_lljit_lookup(*(LLVMOrcLLJITRef *)(void *)j, symbol);
}

void harness_lljit_subject_remove(Jit *j, void *added)
{
    (void)j;
    harness_lljit_remove(added);
}

static void dispose(Jit *j)
{
    harness_llvm_check(LLVMOrcDisposeLLJIT(j->j), "dispose");
    if (j->tm)
        LLVMDisposeTargetMachine(j->tm);
    free(j);
}

const Subject subject_lljit = {"lljit", create, add, harness_lljit_subject_lookup, NULL, harness_lljit_subject_remove, dispose};
