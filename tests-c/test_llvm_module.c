/*
 * test_llvm_module.c: JitcoreCreateModuleFromLLVMModule with a module a host
 * built with LLVM-C.
 *
 * NEEDS EXTRA FLAGS (the build harness adds them for files named
 * test_llvm_*.c):
 *     -I/usr/lib/llvm-22/include -L/usr/lib/llvm-22/lib -lLLVM-22
 * (and at run time libLLVM-22 must be found, e.g. -Wl,-rpath,/usr/lib/llvm-22/lib).
 *
 *  - build `i32 @twice(i32)` with an LLVMBuilder, copy it into jitcore, JIT
 *    it, call it
 *  - the host module stays the host's: it is still usable afterwards (add a
 *    function, verify, copy again), and the host disposes of it
 *  - a host module that does not verify -> INVALID_IR; NULL arguments
 */
#define _POSIX_C_SOURCE 200809L /* before any system header: see test_util.h */
#include "test_util.h"

#include <llvm-c/Analysis.h>
#include <llvm-c/Core.h>

/* Adds `i32 @name(i32 %x) { ret (x * factor) }` (twice as x + x). */
static LLVMValueRef add_scale_function(LLVMContextRef ctx, LLVMModuleRef mod, const char *name, int factor)
{
    LLVMTypeRef i32 = LLVMInt32TypeInContext(ctx);
    LLVMTypeRef params[] = {i32};
    LLVMTypeRef fty = LLVMFunctionType(i32, params, 1, 0);
    LLVMValueRef fn = LLVMAddFunction(mod, name, fty);
    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(ctx, fn, "entry");
    LLVMBuilderRef b = LLVMCreateBuilderInContext(ctx);
    LLVMPositionBuilderAtEnd(b, entry);
    LLVMValueRef x = LLVMGetParam(fn, 0);
    LLVMValueRef r = factor == 2 ? LLVMBuildAdd(b, x, x, "r")
                                 : LLVMBuildMul(b, x, LLVMConstInt(i32, (unsigned long long)factor, 0), "r");
    LLVMBuildRet(b, r);
    LLVMDisposeBuilder(b);
    return fn;
}

static void test_twice(void)
{
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMModuleRef mod = LLVMModuleCreateWithNameInContext("host_built", ctx);
    add_scale_function(ctx, mod, "twice", 2);
    char *verr = NULL;
    CHECK_MSG(LLVMVerifyModule(mod, LLVMReturnStatusAction, &verr) == 0, "expected the host module to verify: %s",
              verr ? verr : "");
    LLVMDisposeMessage(verr);

    JitcoreModuleRef jm = NULL;
    CHECK_OK(JitcoreCreateModuleFromLLVMModule(&jm, mod));
    CHECK(jm != NULL);
    CHECK_STR_EQ(JitcoreModuleGetName(jm), "host_built");
    JitcoreEngineRef ee = MAKE_ENGINE(jm);
    uint64_t a = LOOKUP(ee, "twice");
    if (a) {
        CHECK_EQ_INT(FN(int (*)(int), a)(21), 42);
        CHECK_EQ_INT(FN(int (*)(int), a)(-8), -16);
    }

    /* the host module is still the host's and usable */
    CHECK(LLVMGetNamedFunction(mod, "twice") != NULL);
    add_scale_function(ctx, mod, "thrice", 3);
    verr = NULL;
    CHECK_MSG(LLVMVerifyModule(mod, LLVMReturnStatusAction, &verr) == 0, "expected the host module to verify: %s",
              verr ? verr : "");
    LLVMDisposeMessage(verr);
    char *text = LLVMPrintModuleToString(mod);
    CHECK_CONTAINS(text, "define i32 @twice");
    CHECK_CONTAINS(text, "define i32 @thrice");
    LLVMDisposeMessage(text);

    /* a second copy of the grown module, into another engine */
    JitcoreModuleRef jm2 = NULL;
    CHECK_OK(JitcoreCreateModuleFromLLVMModule(&jm2, mod));
    JitcoreEngineRef ee2 = MAKE_ENGINE(jm2);
    uint64_t t3 = LOOKUP(ee2, "thrice");
    uint64_t t2 = LOOKUP(ee2, "twice");
    if (t3)
        CHECK_EQ_INT(FN(int (*)(int), t3)(14), 42);
    if (t2)
        CHECK_EQ_INT(FN(int (*)(int), t2)(50), 100);
    /* the jitcore copy does not see later host changes */
    uint64_t out = 0x55;
    CHECK_ERR(JitcoreEngineGetFunctionAddress(ee, &out, "thrice"), JITCORE_ERROR_SYMBOL_NOT_FOUND, "thrice");

    /* disposing the host module and context leaves the jitted code alone */
    LLVMDisposeModule(mod);
    LLVMContextDispose(ctx);
    if (a)
        CHECK_EQ_INT(FN(int (*)(int), a)(5), 10);
    CHECK_STR_EQ(JitcoreModuleGetName(jm), "host_built");
    JitcoreDisposeEngine(ee);
    JitcoreDisposeEngine(ee2);
}

static void test_module_calling_jitcore_code(void)
{
    /* a host-built module declaring `sum`, defined by a jitcore IR module */
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMModuleRef mod = LLVMModuleCreateWithNameInContext("calls_sum", ctx);
    LLVMTypeRef i32 = LLVMInt32TypeInContext(ctx);
    LLVMTypeRef params[] = {i32, i32};
    LLVMTypeRef sum_ty = LLVMFunctionType(i32, params, 2, 0);
    LLVMValueRef sum = LLVMAddFunction(mod, "sum", sum_ty); /* a declaration */
    LLVMTypeRef p1[] = {i32};
    LLVMValueRef fn = LLVMAddFunction(mod, "add_ten", LLVMFunctionType(i32, p1, 1, 0));
    LLVMBuilderRef b = LLVMCreateBuilderInContext(ctx);
    LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(ctx, fn, "entry"));
    LLVMValueRef args[] = {LLVMGetParam(fn, 0), LLVMConstInt(i32, 10, 0)};
    LLVMValueRef r = LLVMBuildCall2(b, sum_ty, sum, args, 2, "r");
    LLVMBuildRet(b, r);
    LLVMDisposeBuilder(b);

    JitcoreModuleRef jm = NULL;
    CHECK_OK(JitcoreCreateModuleFromLLVMModule(&jm, mod));
    JitcoreEngineRef ee = MAKE_ENGINE(MAKE_MODULE("sum_module", SUM_IR));
    CHECK_OK(JitcoreEngineAddModule(ee, jm));
    uint64_t a = LOOKUP(ee, "add_ten");
    if (a)
        CHECK_EQ_INT(FN(int (*)(int), a)(32), 42);
    JitcoreDisposeEngine(ee);
    LLVMDisposeModule(mod);
    LLVMContextDispose(ctx);
}

static void test_invalid_host_module(void)
{
    /* a block without a terminator does not verify */
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMModuleRef mod = LLVMModuleCreateWithNameInContext("broken_host_module", ctx);
    LLVMTypeRef i32 = LLVMInt32TypeInContext(ctx);
    LLVMTypeRef params[] = {i32};
    LLVMValueRef fn = LLVMAddFunction(mod, "broken", LLVMFunctionType(i32, params, 1, 0));
    LLVMBuilderRef b = LLVMCreateBuilderInContext(ctx);
    LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(ctx, fn, "entry"));
    LLVMBuildAdd(b, LLVMGetParam(fn, 0), LLVMGetParam(fn, 0), "x"); /* no ret */
    LLVMDisposeBuilder(b);

    JitcoreModuleRef jm = (JitcoreModuleRef)(uintptr_t)0x99;
    CHECK_ERR(JitcoreCreateModuleFromLLVMModule(&jm, mod), JITCORE_ERROR_INVALID_IR, "broken_host_module");
    CHECK(jm == (JitcoreModuleRef)(uintptr_t)0x99);

    /* the host can repair it and try again */
    b = LLVMCreateBuilderInContext(ctx);
    LLVMPositionBuilderAtEnd(b, LLVMGetEntryBasicBlock(fn));
    LLVMBuildRet(b, LLVMGetParam(fn, 0));
    LLVMDisposeBuilder(b);
    CHECK_OK(JitcoreCreateModuleFromLLVMModule(&jm, mod));
    JitcoreEngineRef ee = MAKE_ENGINE(jm);
    uint64_t a = LOOKUP(ee, "broken");
    if (a)
        CHECK_EQ_INT(FN(int (*)(int), a)(17), 17);
    JitcoreDisposeEngine(ee);
    LLVMDisposeModule(mod);
    LLVMContextDispose(ctx);

    /* NULL arguments */
    LLVMContextRef c2 = LLVMContextCreate();
    LLVMModuleRef m2 = LLVMModuleCreateWithNameInContext("unused", c2);
    CHECK_ERR(JitcoreCreateModuleFromLLVMModule(NULL, m2), JITCORE_ERROR_INVALID_ARGUMENT, "Result");
    JitcoreModuleRef out = (JitcoreModuleRef)(uintptr_t)0x99;
    CHECK_ERR(JitcoreCreateModuleFromLLVMModule(&out, NULL), JITCORE_ERROR_INVALID_ARGUMENT, "M|module");
    CHECK(out == (JitcoreModuleRef)(uintptr_t)0x99);
    LLVMDisposeModule(m2);
    LLVMContextDispose(c2);
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    RUN_TEST(test_twice());
    RUN_TEST(test_module_calling_jitcore_code());
    RUN_TEST(test_invalid_host_module());
    return tu_finish("test_llvm_module");
}
