; Source: tests-c/data/tls_cxx.cpp (clang++-22 -O1 -S -emit-llvm); see test_thread_locals.c.
; ModuleID = '/tmp/tls_cxx.cpp'
source_filename = "/tmp/tls_cxx.cpp"

%struct.A = type { i32 }
%struct.B = type { i32 }

$_ZN1AD2Ev = comdat any

$_ZN1BD2Ev = comdat any

$_ZTW1a = comdat any

$_ZTW1b = comdat any

$__clang_call_terminate = comdat any

$_ZTW4uses = comdat any

@a = dso_local thread_local global %struct.A zeroinitializer, align 4
@__dso_handle = external hidden global i8
@b = dso_local thread_local global %struct.B zeroinitializer, align 4
@uses = dso_local thread_local global i32 0, align 4
@__tls_guard = internal thread_local global i8 0, align 1

@_ZTH1b = dso_local alias void (), ptr @_ZTH1a

; Function Attrs: uwtable
define internal fastcc void @__cxx_global_var_init() unnamed_addr #0 section ".text.startup" {
  store i32 1, ptr @a, align 4, !tbaa !9
  tail call void @tl_record(i32 noundef 1)
  %1 = tail call i32 @__cxa_thread_atexit(ptr nonnull @_ZN1AD2Ev, ptr nonnull @a, ptr nonnull @__dso_handle) #2
  ret void
}

; Function Attrs: mustprogress nounwind uwtable
define linkonce_odr dso_local void @_ZN1AD2Ev(ptr noundef nonnull align 4 dereferenceable(4) %0) unnamed_addr #1 comdat align 2 personality ptr @__gxx_personality_v0 {
  invoke void @tl_record(i32 noundef -1)
          to label %2 unwind label %3

2:                                                ; preds = %1
  ret void

3:                                                ; preds = %1
  %4 = landingpad { ptr, i32 }
          catch ptr null
  %5 = extractvalue { ptr, i32 } %4, 0
  tail call void @__clang_call_terminate(ptr %5) #9
  unreachable
}

; Function Attrs: nounwind
declare i32 @__cxa_thread_atexit(ptr, ptr, ptr) local_unnamed_addr #2

; Function Attrs: uwtable
define internal fastcc void @__cxx_global_var_init.1() unnamed_addr #0 section ".text.startup" {
  store i32 2, ptr @b, align 4, !tbaa !11
  tail call void @tl_record(i32 noundef 2)
  %1 = tail call i32 @__cxa_thread_atexit(ptr nonnull @_ZN1BD2Ev, ptr nonnull @b, ptr nonnull @__dso_handle) #2
  ret void
}

; Function Attrs: mustprogress nounwind uwtable
define linkonce_odr dso_local void @_ZN1BD2Ev(ptr noundef nonnull align 4 dereferenceable(4) %0) unnamed_addr #1 comdat align 2 personality ptr @__gxx_personality_v0 {
  invoke void @tl_record(i32 noundef -2)
          to label %2 unwind label %3

2:                                                ; preds = %1
  ret void

3:                                                ; preds = %1
  %4 = landingpad { ptr, i32 }
          catch ptr null
  %5 = extractvalue { ptr, i32 } %4, 0
  tail call void @__clang_call_terminate(ptr %5) #9
  unreachable
}

; Function Attrs: uwtable
define dso_local i32 @tl_touch() local_unnamed_addr #3 {
  %1 = tail call align 4 ptr @llvm.threadlocal.address.p0(ptr align 4 @uses)
  %2 = load i32, ptr %1, align 4, !tbaa !5
  %3 = add nsw i32 %2, 1
  store i32 %3, ptr %1, align 4, !tbaa !5
  %4 = load i8, ptr @__tls_guard, align 1
  %5 = icmp eq i8 %4, 0
  br i1 %5, label %6, label %8, !prof !13

6:                                                ; preds = %0
  store i8 1, ptr @__tls_guard, align 1
  %7 = tail call ptr @llvm.invariant.start.p0(i64 1, ptr nonnull @__tls_guard)
  tail call fastcc void @__cxx_global_var_init()
  tail call fastcc void @__cxx_global_var_init.1()
  br label %8

8:                                                ; preds = %0, %6
  %9 = tail call noundef align 4 ptr @llvm.threadlocal.address.p0(ptr align 4 @a)
  %10 = load i32, ptr %9, align 4, !tbaa !9
  %11 = load i8, ptr @__tls_guard, align 1
  %12 = icmp eq i8 %11, 0
  br i1 %12, label %13, label %15, !prof !13

13:                                               ; preds = %8
  store i8 1, ptr @__tls_guard, align 1
  %14 = tail call ptr @llvm.invariant.start.p0(i64 1, ptr nonnull @__tls_guard)
  tail call fastcc void @__cxx_global_var_init()
  tail call fastcc void @__cxx_global_var_init.1()
  br label %15

15:                                               ; preds = %8, %13
  %16 = mul nsw i32 %10, 100
  %17 = tail call noundef align 4 ptr @llvm.threadlocal.address.p0(ptr align 4 @b)
  %18 = load i32, ptr %17, align 4, !tbaa !11
  %19 = mul nsw i32 %18, 10
  %20 = add nsw i32 %19, %16
  %21 = load i32, ptr %1, align 4, !tbaa !5
  %22 = add nsw i32 %20, %21
  ret i32 %22
}

; Function Attrs: mustprogress nocallback nofree nosync nounwind speculatable willreturn memory(none)
declare nonnull ptr @llvm.threadlocal.address.p0(ptr nonnull) #4

; Function Attrs: uwtable
define weak_odr hidden noundef ptr @_ZTW1a() local_unnamed_addr #3 comdat {
  %1 = load i8, ptr @__tls_guard, align 1
  %2 = icmp eq i8 %1, 0
  br i1 %2, label %3, label %5, !prof !13

3:                                                ; preds = %0
  store i8 1, ptr @__tls_guard, align 1
  %4 = tail call ptr @llvm.invariant.start.p0(i64 1, ptr nonnull @__tls_guard)
  tail call fastcc void @__cxx_global_var_init()
  tail call fastcc void @__cxx_global_var_init.1()
  br label %5

5:                                                ; preds = %0, %3
  %6 = tail call align 4 ptr @llvm.threadlocal.address.p0(ptr align 4 @a)
  ret ptr %6
}

; Function Attrs: uwtable
define weak_odr hidden noundef ptr @_ZTW1b() local_unnamed_addr #3 comdat {
  %1 = load i8, ptr @__tls_guard, align 1
  %2 = icmp eq i8 %1, 0
  br i1 %2, label %3, label %5, !prof !13

3:                                                ; preds = %0
  store i8 1, ptr @__tls_guard, align 1
  %4 = tail call ptr @llvm.invariant.start.p0(i64 1, ptr nonnull @__tls_guard)
  tail call fastcc void @__cxx_global_var_init()
  tail call fastcc void @__cxx_global_var_init.1()
  br label %5

5:                                                ; preds = %0, %3
  %6 = tail call align 4 ptr @llvm.threadlocal.address.p0(ptr align 4 @b)
  ret ptr %6
}

declare void @tl_record(i32 noundef) local_unnamed_addr #5

declare i32 @__gxx_personality_v0(...)

; Function Attrs: noinline noreturn nounwind uwtable
define linkonce_odr hidden void @__clang_call_terminate(ptr noundef %0) local_unnamed_addr #6 comdat {
  %2 = tail call ptr @__cxa_begin_catch(ptr %0) #2
  tail call void @_ZSt9terminatev() #9
  unreachable
}

declare ptr @__cxa_begin_catch(ptr) local_unnamed_addr

; Function Attrs: cold nofree noreturn
declare void @_ZSt9terminatev() local_unnamed_addr #7

; Function Attrs: uwtable
define dso_local void @_ZTH1a() #0 {
  %1 = load i8, ptr @__tls_guard, align 1
  %2 = icmp eq i8 %1, 0
  br i1 %2, label %3, label %5, !prof !13

3:                                                ; preds = %0
  store i8 1, ptr @__tls_guard, align 1
  %4 = tail call ptr @llvm.invariant.start.p0(i64 1, ptr nonnull @__tls_guard)
  tail call fastcc void @__cxx_global_var_init()
  tail call fastcc void @__cxx_global_var_init.1()
  br label %5

5:                                                ; preds = %3, %0
  ret void
}

; Function Attrs: mustprogress nocallback nofree nosync nounwind willreturn memory(argmem: readwrite)
declare ptr @llvm.invariant.start.p0(i64 immarg, ptr captures(none)) #8

; Function Attrs: uwtable
define weak_odr hidden noundef ptr @_ZTW4uses() local_unnamed_addr #3 comdat {
  %1 = tail call align 4 ptr @llvm.threadlocal.address.p0(ptr align 4 @uses)
  ret ptr %1
}

attributes #0 = { uwtable "min-legal-vector-width"="0" "no-trapping-math"="true" "stack-protector-buffer-size"="8" "target-cpu"="x86-64" "target-features"="+cmov,+cx8,+fxsr,+mmx,+sse,+sse2,+x87" "tune-cpu"="generic" }
attributes #1 = { mustprogress nounwind uwtable "min-legal-vector-width"="0" "no-trapping-math"="true" "stack-protector-buffer-size"="8" "target-cpu"="x86-64" "target-features"="+cmov,+cx8,+fxsr,+mmx,+sse,+sse2,+x87" "tune-cpu"="generic" }
attributes #2 = { nounwind }
attributes #3 = { uwtable "no-trapping-math"="true" "stack-protector-buffer-size"="8" "target-cpu"="x86-64" "target-features"="+cmov,+cx8,+fxsr,+mmx,+sse,+sse2,+x87" "tune-cpu"="generic" }
attributes #4 = { mustprogress nocallback nofree nosync nounwind speculatable willreturn memory(none) }
attributes #5 = { "no-trapping-math"="true" "stack-protector-buffer-size"="8" "target-cpu"="x86-64" "target-features"="+cmov,+cx8,+fxsr,+mmx,+sse,+sse2,+x87" "tune-cpu"="generic" }
attributes #6 = { noinline noreturn nounwind uwtable "no-trapping-math"="true" "stack-protector-buffer-size"="8" "target-cpu"="x86-64" "target-features"="+cmov,+cx8,+fxsr,+mmx,+sse,+sse2,+x87" "tune-cpu"="generic" }
attributes #7 = { cold nofree noreturn }
attributes #8 = { mustprogress nocallback nofree nosync nounwind willreturn memory(argmem: readwrite) }
attributes #9 = { noreturn nounwind }

!llvm.module.flags = !{!0, !1, !2, !3}
!llvm.ident = !{!4}
!llvm.errno.tbaa = !{!5}

!0 = !{i32 1, !"wchar_size", i32 4}
!1 = !{i32 8, !"PIC Level", i32 2}
!2 = !{i32 7, !"PIE Level", i32 2}
!3 = !{i32 7, !"uwtable", i32 2}
!4 = !{!"Debian clang version 22.1.8 (1~deb12u1)"}
!5 = !{!6, !6, i64 0}
!6 = !{!"int", !7, i64 0}
!7 = !{!"omnipotent char", !8, i64 0}
!8 = !{!"Simple C++ TBAA"}
!9 = !{!10, !6, i64 0}
!10 = !{!"_ZTS1A", !6, i64 0}
!11 = !{!12, !6, i64 0}
!12 = !{!"_ZTS1B", !6, i64 0}
!13 = !{!"branch_weights", i32 1, i32 1023}
