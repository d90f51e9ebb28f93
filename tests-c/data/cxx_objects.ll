; clang++-22 -O1 -S -emit-llvm objects.cpp, then the target triple, data layout and
; target-cpu/target-features/tune-cpu attributes removed (jitcore compiles for the host).
; objects.cpp:
;   // Global objects with constructors and destructors, an atexit handler, a
;   // function-local static, and constructor/destructor functions with a priority.
;   #include <cstdlib>
;   extern "C" void trace(int);
;   struct Obj {
;       int v;
;       Obj(int v) : v(v) { trace(v); }
;       ~Obj() { trace(-v); }
;   };
;   Obj first(1);
;   Obj second(2);
;   static void handler() { trace(100); }
;   struct Registers {
;       Registers() { std::atexit(handler); trace(3); }
;   } registers;
;   extern "C" int use_local() {
;       static Obj local(4);
;       return local.v;
;   }
;   __attribute__((constructor(101))) static void early() { trace(0); }
;   __attribute__((destructor(101))) static void late() { trace(-1000); }
;
; Run natively (main calls use_local() once), trace prints:
;   0 1 2 3 main 4 end -4 100 -2 -1 -1000
; ModuleID = 'objects.cpp'
source_filename = "objects.cpp"

%struct.Obj = type { i32 }
%struct.Registers = type { i8 }

$_ZN3ObjD2Ev = comdat any

$__clang_call_terminate = comdat any

@first = dso_local global %struct.Obj zeroinitializer, align 4
@__dso_handle = external hidden global i8
@second = dso_local global %struct.Obj zeroinitializer, align 4
@registers = dso_local local_unnamed_addr global %struct.Registers zeroinitializer, align 1
@_ZZ9use_localE5local = internal global %struct.Obj zeroinitializer, align 4
@_ZGVZ9use_localE5local = internal global i64 0, align 8
@llvm.global_ctors = appending global [2 x { i32, ptr, ptr }] [{ i32, ptr, ptr } { i32 101, ptr @_ZL5earlyv, ptr null }, { i32, ptr, ptr } { i32 65535, ptr @_GLOBAL__sub_I_objects.cpp, ptr null }]
@llvm.global_dtors = appending global [1 x { i32, ptr, ptr }] [{ i32, ptr, ptr } { i32 101, ptr @_ZL4latev, ptr null }]

; Function Attrs: mustprogress nounwind uwtable
define linkonce_odr dso_local void @_ZN3ObjD2Ev(ptr noundef nonnull align 4 dereferenceable(4) %0) unnamed_addr #0 comdat align 2 personality ptr @__gxx_personality_v0 {
  %2 = load i32, ptr %0, align 4, !tbaa !9
  %3 = sub nsw i32 0, %2
  invoke void @trace(i32 noundef %3)
          to label %4 unwind label %5

4:                                                ; preds = %1
  ret void

5:                                                ; preds = %1
  %6 = landingpad { ptr, i32 }
          catch ptr null
  %7 = extractvalue { ptr, i32 } %6, 0
  tail call void @__clang_call_terminate(ptr %7) #8
  unreachable
}

; Function Attrs: nofree nounwind
declare i32 @__cxa_atexit(ptr, ptr, ptr) local_unnamed_addr #1

; Function Attrs: mustprogress uwtable
define dso_local i32 @use_local() local_unnamed_addr #2 personality ptr @__gxx_personality_v0 {
  %1 = load atomic i8, ptr @_ZGVZ9use_localE5local acquire, align 8
  %2 = icmp eq i8 %1, 0
  br i1 %2, label %3, label %9, !prof !11

3:                                                ; preds = %0
  %4 = tail call i32 @__cxa_guard_acquire(ptr nonnull @_ZGVZ9use_localE5local) #9
  %5 = icmp eq i32 %4, 0
  br i1 %5, label %9, label %6

6:                                                ; preds = %3
  store i32 4, ptr @_ZZ9use_localE5local, align 4, !tbaa !9
  invoke void @trace(i32 noundef 4)
          to label %7 unwind label %11

7:                                                ; preds = %6
  %8 = tail call i32 @__cxa_atexit(ptr nonnull @_ZN3ObjD2Ev, ptr nonnull @_ZZ9use_localE5local, ptr nonnull @__dso_handle) #9
  tail call void @__cxa_guard_release(ptr nonnull @_ZGVZ9use_localE5local) #9
  br label %9

9:                                                ; preds = %7, %3, %0
  %10 = load i32, ptr @_ZZ9use_localE5local, align 4, !tbaa !9
  ret i32 %10

11:                                               ; preds = %6
  %12 = landingpad { ptr, i32 }
          cleanup
  tail call void @__cxa_guard_abort(ptr nonnull @_ZGVZ9use_localE5local) #9
  resume { ptr, i32 } %12
}

; Function Attrs: nofree nounwind
declare i32 @__cxa_guard_acquire(ptr) local_unnamed_addr #1

declare i32 @__gxx_personality_v0(...)

; Function Attrs: nofree nounwind
declare void @__cxa_guard_abort(ptr) local_unnamed_addr #1

; Function Attrs: nofree nounwind
declare void @__cxa_guard_release(ptr) local_unnamed_addr #1

; Function Attrs: mustprogress uwtable
define internal void @_ZL5earlyv() #2 {
  tail call void @trace(i32 noundef 0)
  ret void
}

declare void @trace(i32 noundef) local_unnamed_addr #3

; Function Attrs: mustprogress uwtable
define internal void @_ZL4latev() #2 {
  tail call void @trace(i32 noundef -1000)
  ret void
}

; Function Attrs: noinline noreturn nounwind uwtable
define linkonce_odr hidden void @__clang_call_terminate(ptr noundef %0) local_unnamed_addr #4 comdat {
  %2 = tail call ptr @__cxa_begin_catch(ptr %0) #9
  tail call void @_ZSt9terminatev() #8
  unreachable
}

declare ptr @__cxa_begin_catch(ptr) local_unnamed_addr

; Function Attrs: cold nofree noreturn
declare void @_ZSt9terminatev() local_unnamed_addr #5

; Function Attrs: nofree nounwind
declare i32 @atexit(ptr noundef) local_unnamed_addr #6

; Function Attrs: mustprogress uwtable
define internal void @_ZL7handlerv() #2 {
  tail call void @trace(i32 noundef 100)
  ret void
}

; Function Attrs: uwtable
define internal void @_GLOBAL__sub_I_objects.cpp() #7 section ".text.startup" {
  store i32 1, ptr @first, align 4, !tbaa !9
  tail call void @trace(i32 noundef 1)
  %1 = tail call i32 @__cxa_atexit(ptr nonnull @_ZN3ObjD2Ev, ptr nonnull @first, ptr nonnull @__dso_handle) #9
  store i32 2, ptr @second, align 4, !tbaa !9
  tail call void @trace(i32 noundef 2)
  %2 = tail call i32 @__cxa_atexit(ptr nonnull @_ZN3ObjD2Ev, ptr nonnull @second, ptr nonnull @__dso_handle) #9
  %3 = tail call i32 @atexit(ptr noundef nonnull @_ZL7handlerv) #9
  tail call void @trace(i32 noundef 3)
  ret void
}

attributes #0 = { mustprogress nounwind uwtable "min-legal-vector-width"="0" "no-trapping-math"="true" "stack-protector-buffer-size"="8" }
attributes #1 = { nofree nounwind }
attributes #2 = { mustprogress uwtable "min-legal-vector-width"="0" "no-trapping-math"="true" "stack-protector-buffer-size"="8" }
attributes #3 = { "no-trapping-math"="true" "stack-protector-buffer-size"="8" }
attributes #4 = { noinline noreturn nounwind uwtable "no-trapping-math"="true" "stack-protector-buffer-size"="8" }
attributes #5 = { cold nofree noreturn }
attributes #6 = { nofree nounwind "no-trapping-math"="true" "stack-protector-buffer-size"="8" }
attributes #7 = { uwtable "min-legal-vector-width"="0" "no-trapping-math"="true" "stack-protector-buffer-size"="8" }
attributes #8 = { noreturn nounwind }
attributes #9 = { nounwind }

!llvm.module.flags = !{!0, !1, !2, !3}
!llvm.errno.tbaa = !{!5}

!0 = !{i32 1, !"wchar_size", i32 4}
!1 = !{i32 8, !"PIC Level", i32 2}
!2 = !{i32 7, !"PIE Level", i32 2}
!3 = !{i32 7, !"uwtable", i32 2}
!5 = !{!6, !6, i64 0}
!6 = !{!"int", !7, i64 0}
!7 = !{!"omnipotent char", !8, i64 0}
!8 = !{!"Simple C++ TBAA"}
!9 = !{!10, !6, i64 0}
!10 = !{!"_ZTS3Obj", !6, i64 0}
!11 = !{!"branch_weights", i32 1, i32 1048575}
