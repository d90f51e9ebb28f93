@counter = thread_local global i32 5
@buf = thread_local global [4 x i64] [i64 1, i64 2, i64 3, i64 4], align 32
@ext = external thread_local global i32
declare ptr @llvm.threadlocal.address.p0(ptr)
define i32 @f() {
  %p = call ptr @llvm.threadlocal.address.p0(ptr @counter)
  %v = load i32, ptr %p
  %s = load i64, ptr getelementptr ([4 x i64], ptr @buf, i64 0, i64 2)
  %t = trunc i64 %s to i32
  %r = add i32 %v, %t
  ret i32 %r
}
define i32 @g(i1 %c) {
entry:
  br i1 %c, label %a, label %b
a:
  br label %b
b:
  %q = phi ptr [ @counter, %entry ], [ @ext, %a ]
  %v = load i32, ptr %q
  ret i32 %v
}
