/*
 * The raw LLVM-C MCJIT peer (LLVMCreateMCJITCompilerForModule,
 * LLVMAddModule, LLVMGetFunctionAddress, LLVMRemoveModule): one engine,
 * created on an empty module, every module parsed into one context of the
 * engine's (as llvmlite parses into its one global context). MCJIT's C API takes no CPU nor relocation model: it
 * generates for the generic CPU of the host triple, static relocations,
 * RuntimeDyld, the JIT code model; no IR passes, no verifier.
 */
#include <stdlib.h>

#include <llvm-c/Core.h>
#include <llvm-c/ExecutionEngine.h>
#include <llvm-c/Target.h>

#include "subject.h"

struct Jit {
    LLVMExecutionEngineRef ee;
    LLVMContextRef ctx;
};

static Jit *create(const BenchConfig *c)
{
    LLVMLinkInMCJIT();
    LLVMInitializeNativeTarget();
    LLVMInitializeNativeAsmPrinter();
    Jit *j = calloc(1, sizeof *j);
    j->ctx = LLVMContextCreate();
    struct LLVMMCJITCompilerOptions o;
    LLVMInitializeMCJITCompilerOptions(&o, sizeof o);
    o.OptLevel = (unsigned)c->opt_level;
    char *msg = NULL;
    if (LLVMCreateMCJITCompilerForModule(&j->ee, LLVMModuleCreateWithNameInContext("empty", j->ctx), &o, sizeof o, &msg))
        harness_die("MCJIT", msg);
    return j;
}

static void *add(Jit *j, const char *name, const char *ir, size_t len)
{
    LLVMModuleRef m = harness_parse_ir(j->ctx, name, ir, len);
    LLVMAddModule(j->ee, m);
    return m;
}

static uint64_t lookup(Jit *j, const char *symbol)
{
    uint64_t a = LLVMGetFunctionAddress(j->ee, symbol);
    if (!a)
        harness_die(symbol, "not found");
    return a;
}

static void remove_module(Jit *j, void *added)
{
    LLVMModuleRef out = NULL;
    char *msg = NULL;
    if (LLVMRemoveModule(j->ee, added, &out, &msg))
        harness_die("remove", msg);
    LLVMDisposeModule(out);
}

static void dispose(Jit *j)
{
    LLVMDisposeExecutionEngine(j->ee);
    LLVMContextDispose(j->ctx);
    free(j);
}

const Subject subject_mcjit = {"mcjit", create, add, lookup, NULL, remove_module, dispose};
