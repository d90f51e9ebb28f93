// Module::from_llvm_module: a module a host built with LLVM-C (same
// libLLVM-22) is copied into jitcore and jitted. Built only when LLVM-C's
// headers and library are found (tests/CMakeLists.txt).
#include "test_util.hpp"

#include <llvm-c/Core.h>

TEST(module_from_llvm_c) {
  LLVMContextRef ctx = LLVMContextCreate();
  LLVMModuleRef lm = LLVMModuleCreateWithNameInContext("built", ctx);
  LLVMTypeRef i32 = LLVMInt32TypeInContext(ctx);
  LLVMTypeRef params[] = {i32, i32};
  LLVMValueRef fn = LLVMAddFunction(lm, "mul", LLVMFunctionType(i32, params, 2, 0));
  LLVMBuilderRef b = LLVMCreateBuilderInContext(ctx);
  LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(ctx, fn, "entry"));
  LLVMBuildRet(b, LLVMBuildMul(b, LLVMGetParam(fn, 0), LLVMGetParam(fn, 1), "r"));
  LLVMDisposeBuilder(b);

  auto m = jitcore::Module::from_llvm_module(lm); // a copy: the host keeps lm
  LLVMDisposeModule(lm);
  LLVMContextDispose(ctx);
  CHECK_EQ(m.name(), std::string("built"));
  auto ee = jitcore::Engine::create();
  ee.add_module(std::move(m));
  CHECK_EQ(ee.function<int(int, int)>("mul")(6, 7), 42);
  CHECK_ERROR(jitcore::Module::from_llvm_module(nullptr), InvalidArgument, "");
}

JITCORE_TEST_MAIN()
