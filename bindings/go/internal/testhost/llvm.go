package testhost

// An LLVM-C module built here, for NewModuleFromLLVMModule's test. libjitcore
// links libLLVM-22 dynamically, so LLVM-C's functions are already in the
// process: they are found with dlsym, and no LLVM header or library search
// path is needed beyond the jitcore prefix.

/*
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include <stdlib.h>

typedef void *P;

// Builds module `name` in a new context: define i64 @llvm_sum(i64 %a, i64 %b)
// returning a + b. Returns the module and its context, or NULL if LLVM-C is
// not in the process.
static P testhost_llvm_sum_module(const char *name, P *ctx_out)
{
    P (*ContextCreate)(void) = (P(*)(void))dlsym(RTLD_DEFAULT, "LLVMContextCreate");
    P (*ModuleCreate)(const char *, P) = (P(*)(const char *, P))dlsym(RTLD_DEFAULT, "LLVMModuleCreateWithNameInContext");
    P (*Int64Type)(P) = (P(*)(P))dlsym(RTLD_DEFAULT, "LLVMInt64TypeInContext");
    P (*FunctionType)(P, P *, unsigned, int) = (P(*)(P, P *, unsigned, int))dlsym(RTLD_DEFAULT, "LLVMFunctionType");
    P (*AddFunction)(P, const char *, P) = (P(*)(P, const char *, P))dlsym(RTLD_DEFAULT, "LLVMAddFunction");
    P (*AppendBlock)(P, P, const char *) = (P(*)(P, P, const char *))dlsym(RTLD_DEFAULT, "LLVMAppendBasicBlockInContext");
    P (*CreateBuilder)(P) = (P(*)(P))dlsym(RTLD_DEFAULT, "LLVMCreateBuilderInContext");
    void (*PositionAtEnd)(P, P) = (void (*)(P, P))dlsym(RTLD_DEFAULT, "LLVMPositionBuilderAtEnd");
    P (*GetParam)(P, unsigned) = (P(*)(P, unsigned))dlsym(RTLD_DEFAULT, "LLVMGetParam");
    P (*BuildAdd)(P, P, P, const char *) = (P(*)(P, P, P, const char *))dlsym(RTLD_DEFAULT, "LLVMBuildAdd");
    P (*BuildRet)(P, P) = (P(*)(P, P))dlsym(RTLD_DEFAULT, "LLVMBuildRet");
    void (*DisposeBuilder)(P) = (void (*)(P))dlsym(RTLD_DEFAULT, "LLVMDisposeBuilder");
    if (!ContextCreate || !ModuleCreate || !Int64Type || !FunctionType || !AddFunction || !AppendBlock ||
        !CreateBuilder || !PositionAtEnd || !GetParam || !BuildAdd || !BuildRet || !DisposeBuilder)
        return NULL;
    P ctx = ContextCreate();
    P mod = ModuleCreate(name, ctx);
    P i64 = Int64Type(ctx);
    P params[2] = {i64, i64};
    P fn = AddFunction(mod, "llvm_sum", FunctionType(i64, params, 2, 0));
    P b = CreateBuilder(ctx);
    PositionAtEnd(b, AppendBlock(ctx, fn, "entry"));
    BuildRet(b, BuildAdd(b, GetParam(fn, 0), GetParam(fn, 1), "r"));
    DisposeBuilder(b);
    *ctx_out = ctx;
    return mod;
}

static void testhost_llvm_dispose(P mod, P ctx)
{
    void (*DisposeModule)(P) = (void (*)(P))dlsym(RTLD_DEFAULT, "LLVMDisposeModule");
    void (*ContextDispose)(P) = (void (*)(P))dlsym(RTLD_DEFAULT, "LLVMContextDispose");
    if (DisposeModule)
        DisposeModule(mod);
    if (ContextDispose)
        ContextDispose(ctx);
}
*/
import "C"

import "unsafe"

// LLVMSumModule builds, with LLVM-C, a module named name defining
// i64 @llvm_sum(i64, i64), and returns its LLVMModuleRef and a func that
// disposes of it and its context. ok is false if LLVM-C is not loaded.
func LLVMSumModule(name string) (module unsafe.Pointer, dispose func(), ok bool) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var ctx C.P
	m := C.testhost_llvm_sum_module(cname, &ctx)
	if m == nil {
		return nil, func() {}, false
	}
	return unsafe.Pointer(m), func() { C.testhost_llvm_dispose(m, ctx) }, true
}
