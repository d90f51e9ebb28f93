/*
 * What the subjects share: dying on an error, the host target machine the
 * raw LLVM peers use (the one jitcore's JitcoreCreateHostTargetMachine
 * describes: host triple, CPU and features, PIC, small code model), and
 * parsing IR text with LLVM-C, checking jitcore's errors.
 */
#include <stdio.h>
#include <stdlib.h>

#include <llvm-c/Core.h>
#include <llvm-c/Error.h>
#include <llvm-c/IRReader.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>

#include "jitcore.h"
#include "subject.h"

_Noreturn void harness_die(const char *what, const char *message)
{
    fprintf(stderr, "harness: %s: %s\n", what, message ? message : "failed");
    exit(1);
}

LLVMTargetMachineRef harness_host_target_machine(int opt_level)
{
    LLVMInitializeNativeTarget();
    LLVMInitializeNativeAsmPrinter();
    char *triple = LLVMGetDefaultTargetTriple();
    char *cpu = LLVMGetHostCPUName();
    char *features = LLVMGetHostCPUFeatures();
    LLVMTargetRef target;
    char *msg = NULL;
    if (LLVMGetTargetFromTriple(triple, &target, &msg))
        harness_die("target", msg);
    LLVMTargetMachineRef tm = LLVMCreateTargetMachine(target, triple, cpu, features,
                                                      (LLVMCodeGenOptLevel)opt_level, LLVMRelocPIC,
                                                      LLVMCodeModelSmall);
    LLVMDisposeMessage(triple);
    LLVMDisposeMessage(cpu);
    LLVMDisposeMessage(features);
    return tm;
}

void harness_llvm_check(LLVMErrorRef err, const char *what)
{
    if (err) {
        char *m = LLVMGetErrorMessage(err);
        harness_die(what, m);
    }
}

LLVMModuleRef harness_parse_ir(LLVMContextRef ctx, const char *name, const char *ir, size_t len)
{
    LLVMMemoryBufferRef buf = LLVMCreateMemoryBufferWithMemoryRange(ir, len, name, 0);
    LLVMModuleRef m = NULL;
    char *msg = NULL;
    if (LLVMParseIRInContext(ctx, buf, &m, &msg)) /* takes the buffer */
        harness_die(name, msg);
    return m;
}

void harness_jitcore_check(JitcoreErrorRef err, const char *what)
{
    if (err)
        harness_die(what, JitcoreGetErrorMessage(err));
}

JitcoreObjectCacheRef harness_disk_cache(const char *dir)
{
    JitcoreObjectCacheRef cache = NULL;
    harness_jitcore_check(JitcoreCreateDiskCache(&cache, dir, 0), "disk cache");
    return cache;
}
