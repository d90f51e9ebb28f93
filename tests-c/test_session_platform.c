/*
 * LLJIT's platform support in dylibs the session creates: code there can
 * register exit handlers (__cxa_atexit with __dso_handle), as in main; and a
 * host lookup from main finds the process's symbols; thread-local variables
 * work there too (jitcore's runtime is reachable from every dylib).
 */
#include "test_util.h"
int main(void){
  JitcoreSessionRef s; CHECK_OK(JitcoreCreateSession(&s,NULL));
  JitcoreDylibRef d; CHECK_OK(JitcoreSessionCreateDylib(s,&d,"libx"));
  CHECK_OK(JitcoreDylibAddProcessSymbols(d,NULL,NULL));
  CHECK_OK(JitcoreDylibAddModule(d, MAKE_MODULE("ax",
    "@__dso_handle = external hidden global i8\n"
    "declare i32 @__cxa_atexit(ptr, ptr, ptr)\n"
    "define internal void @h(ptr %p) { ret void }\n"
    "define i32 @reg() { %r = call i32 @__cxa_atexit(ptr @h, ptr null, ptr @__dso_handle)\n ret i32 %r }\n"), NULL));
  uint64_t a=0; CHECK_OK(JitcoreSessionLookup(s,d,&a,"reg"));
  if (a) CHECK_EQ_INT(FN(int(*)(void),a)(), 0);
  uint64_t p=0; CHECK_OK(JitcoreSessionLookup(s,JitcoreSessionGetMainDylib(s),&p,"printf"));
  CHECK_MSG(p != 0, "printf from main");
  /* Thread-local variables work in a created dylib: the lowered accesses
     call jitcore's runtime, which every dylib reaches. */
  CHECK_OK(JitcoreDylibAddModule(d, MAKE_MODULE("tls", "@tv = thread_local global i32 42\n"
                                           "define i32 @get_tv() { %x = load i32, ptr @tv\n ret i32 %x }\n"), NULL));
  uint64_t tv = 0; CHECK_OK(JitcoreSessionLookup(s, d, &tv, "get_tv"));
  if (tv) CHECK_EQ_INT(FN(int(*)(void), tv)(), 42);
  JitcoreDisposeSession(s);
  return tu_finish("test_session_platform");
}
