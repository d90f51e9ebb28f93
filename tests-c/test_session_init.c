/*
 * test_session_init.c: initializers and finalizers of session dylibs
 * (JitcoreDylibInitialize / JitcoreDylibDeinitialize).
 *
 *  - constructors run by priority, then in the order modules were added,
 *    across a dylib and the dylibs of its link order; initializing a
 *    dependency first runs only its own
 *  - a second initialization runs only what was added since
 *  - a constructor whose module cannot link yet fails Initialize with
 *    UNRESOLVED_SYMBOL (eager and lazy modules); it and the ones after it
 *    run on a later Initialize once the symbol is defined
 *  - Deinitialize runs the atexit / __cxa_atexit handlers jitted code
 *    registered (in constructors and later), last registered first, then
 *    the destructors of initialized modules in reverse order; each once;
 *    modules added after the last Initialize keep their destructors
 *  - a handler may register another (it runs too); handlers of object
 *    files (LLJIT's platform records them) run after those of modules
 *  - removing a tracker drops its destructors and handlers unrun
 *  - a C++ module (clang++-22 -O1 IR of global objects, an atexit handler,
 *    a function-local static, constructor/destructor priorities) runs in
 *    the order a native build does, eager, lazy and with compile threads
 *  - two threads initializing at once run each constructor once; a
 *    constructor may initialize (nested) on its own thread
 *  - handlers of a session disposed of without Deinitialize never run (the
 *    process exits cleanly after its code is gone)
 */
#define _POSIX_C_SOURCE 200809L /* before any system header: see test_util.h */
#include "test_util.h"

#include <time.h>
#include <unistd.h>

/* The trace every jitted function writes to through the host's trace(). */
static pthread_mutex_t trace_lock = PTHREAD_MUTEX_INITIALIZER;
static int trace_buf[256];
static int trace_len;

static void trace(int v)
{
    pthread_mutex_lock(&trace_lock);
    if (trace_len < (int)(sizeof trace_buf / sizeof trace_buf[0]))
        trace_buf[trace_len++] = v;
    pthread_mutex_unlock(&trace_lock);
}

static void trace_reset(void)
{
    pthread_mutex_lock(&trace_lock);
    trace_len = 0;
    pthread_mutex_unlock(&trace_lock);
}

static void check_trace(const int *expected, int n, int line)
{
    pthread_mutex_lock(&trace_lock);
    int ok = trace_len == n;
    for (int i = 0; ok && i < n; i++)
        ok = trace_buf[i] == expected[i];
    char got[512] = "", want[512] = "";
    size_t gl = 0, wl = 0;
    for (int i = 0; i < trace_len && gl < sizeof got - 16; i++)
        gl += (size_t)snprintf(got + gl, sizeof got - gl, "%s%d", i ? "," : "", trace_buf[i]);
    for (int i = 0; i < n && wl < sizeof want - 16; i++)
        wl += (size_t)snprintf(want + wl, sizeof want - wl, "%s%d", i ? "," : "", expected[i]);
    pthread_mutex_unlock(&trace_lock);
    tu_record(ok, __FILE__, line, "expected trace [%s], got [%s]", want, got);
}
#define CHECK_TRACE(...)                                                                     \
    do {                                                                                   \
        static const int expected_[] = {__VA_ARGS__};                                      \
        check_trace(expected_, (int)(sizeof expected_ / sizeof expected_[0]), __LINE__);  \
    } while (0)
#define CHECK_TRACE_EMPTY() check_trace(NULL, 0, __LINE__)

/* Makes `trace` (and any other host functions given) resolvable in `d`. */
static void define_trace(JitcoreDylibRef d)
{
    JitcoreSymbolDefinition sym = {"trace", HOST_ADDR(trace)};
    CHECK_OK(JitcoreDylibDefineAbsoluteSymbols(d, &sym, 1));
}

/*
 * A module whose constructors trace value+priority and destructors
 * -(value+priority), for the given priorities (n_ctors, then n_dtors).
 */
static JitcoreModuleRef structors(const char *name, int value, const int *ctors, int n_ctors, const int *dtors,
                                  int n_dtors)
{
    char ir[8192];
    size_t l = 0;
    l += (size_t)snprintf(ir + l, sizeof ir - l, "declare void @trace(i32)\n");
    for (int i = 0; i < n_ctors; i++)
        l += (size_t)snprintf(ir + l, sizeof ir - l,
                              "define internal void @c%d() {\n  call void @trace(i32 %d)\n  ret void\n}\n", i,
                              value + ctors[i]);
    for (int i = 0; i < n_dtors; i++)
        l += (size_t)snprintf(ir + l, sizeof ir - l,
                              "define internal void @d%d() {\n  call void @trace(i32 %d)\n  ret void\n}\n", i,
                              -(value + dtors[i]));
    const char *which[2] = {"ctors", "dtors"};
    const int *prios[2] = {ctors, dtors};
    int counts[2] = {n_ctors, n_dtors};
    const char fn[2] = {'c', 'd'};
    for (int k = 0; k < 2; k++) {
        if (!counts[k])
            continue;
        l += (size_t)snprintf(ir + l, sizeof ir - l, "@llvm.global_%s = appending global [%d x { i32, ptr, ptr }] [",
                              which[k], counts[k]);
        for (int i = 0; i < counts[k]; i++)
            l += (size_t)snprintf(ir + l, sizeof ir - l, "%s{ i32, ptr, ptr } { i32 %d, ptr @%c%d, ptr null }",
                                  i ? ", " : "", prios[k][i], fn[k], i);
        l += (size_t)snprintf(ir + l, sizeof ir - l, "]\n");
    }
    l += (size_t)snprintf(ir + l, sizeof ir - l, "define i32 @value_%s() {\n  ret i32 %d\n}\n", name, value);
    return MAKE_MODULE(name, ir);
}

/* A session (trace emptied) whose main dylib resolves trace(). */
static JitcoreSessionRef traced_session(JitcoreDylibRef *main_jd)
{
    trace_reset();
    JitcoreSessionRef s = NEW_SESSION();
    if (!s)
        return NULL;
    *main_jd = JitcoreSessionGetMainDylib(s);
    define_trace(*main_jd);
    return s;
}

/* A session (trace emptied) whose main dylib links a dylib "lib"; both
   resolve trace(). NULL on failure. */
static JitcoreSessionRef main_linking_lib(JitcoreDylibRef *main_jd, JitcoreDylibRef *lib)
{
    trace_reset();
    JitcoreSessionRef s = NEW_SESSION();
    if (!s)
        return NULL;
    *main_jd = JitcoreSessionGetMainDylib(s);
    CHECK_OK(JitcoreSessionCreateDylib(s, lib, "lib"));
    define_trace(*main_jd);
    define_trace(*lib);
    CHECK_OK(JitcoreDylibSetLinkOrder(*main_jd, lib, 1));
    return s;
}

static void test_priority_order_across_modules_and_dylibs(void)
{
    JitcoreDylibRef main_jd = NULL, lib = NULL;
    JitcoreSessionRef s = main_linking_lib(&main_jd, &lib);
    if (!s)
        return;
    static const int a_c[] = {200, 100}, a_d[] = {200, 100};
    static const int b_c[] = {100, 150}, b_d[] = {150};
    static const int c_c[] = {50}, c_d[] = {50};
    CHECK_OK(JitcoreDylibAddModule(main_jd, structors("a", 1000, a_c, 2, a_d, 2), NULL));
    CHECK_OK(JitcoreDylibAddModule(lib, structors("b", 2000, b_c, 2, b_d, 1), NULL));
    CHECK_OK(JitcoreDylibAddModule(main_jd, structors("c", 3000, c_c, 1, c_d, 1), NULL));
    CHECK_TRACE_EMPTY(); /* adding runs nothing */

    /* main and its link order: by priority, then the order of addition */
    CHECK_OK(JitcoreDylibInitialize(main_jd));
    CHECK_TRACE(3050, 1100, 2100, 2150, 1200);
    /* nothing is due any more */
    CHECK_OK(JitcoreDylibInitialize(main_jd));
    CHECK_OK(JitcoreDylibInitialize(lib));
    CHECK_TRACE(3050, 1100, 2100, 2150, 1200);

    /* handlers (none here), then destructors in the reverse order */
    trace_reset();
    CHECK_OK(JitcoreDylibDeinitialize(main_jd));
    CHECK_TRACE(-1200, -2150, -1100, -3050);
    CHECK_OK(JitcoreDylibDeinitialize(main_jd));
    CHECK_TRACE(-1200, -2150, -1100, -3050);
    JitcoreDisposeSession(s);
}

static void test_a_dependency_initialized_alone(void)
{
    JitcoreDylibRef main_jd = NULL, lib = NULL;
    JitcoreSessionRef s = main_linking_lib(&main_jd, &lib);
    if (!s)
        return;
    static const int p10[] = {10}, p20[] = {20};
    CHECK_OK(JitcoreDylibAddModule(main_jd, structors("m", 100, p10, 1, p10, 1), NULL));
    CHECK_OK(JitcoreDylibAddModule(lib, structors("l", 200, p20, 1, p20, 1), NULL));
    /* lib's link order is empty: only its own constructors */
    CHECK_OK(JitcoreDylibInitialize(lib));
    CHECK_TRACE(220);
    CHECK_OK(JitcoreDylibInitialize(main_jd));
    CHECK_TRACE(220, 110);
    /* deinitializing lib alone: its destructors only */
    CHECK_OK(JitcoreDylibDeinitialize(lib));
    CHECK_TRACE(220, 110, -220);
    CHECK_OK(JitcoreDylibDeinitialize(main_jd));
    CHECK_TRACE(220, 110, -220, -110);
    JitcoreDisposeSession(s);
}

static void test_only_what_was_added_since(void)
{
    JitcoreDylibRef d = NULL;
    JitcoreSessionRef s = traced_session(&d);
    if (!s)
        return;
    static const int p5[] = {5}, p1[] = {1};
    CHECK_OK(JitcoreDylibAddModule(d, structors("first", 100, p5, 1, p5, 1), NULL));
    CHECK_OK(JitcoreDylibInitialize(d));
    CHECK_TRACE(105);
    /* a lower priority added later still runs after: it was not due before */
    CHECK_OK(JitcoreDylibAddModule(d, structors("second", 200, p1, 1, p1, 1), NULL));
    CHECK_OK(JitcoreDylibInitialize(d));
    CHECK_TRACE(105, 201);
    /* a module added after the last initialization is not initialized:
       Deinitialize leaves its destructors alone */
    CHECK_OK(JitcoreDylibAddModule(d, structors("third", 300, p1, 1, p1, 1), NULL));
    trace_reset();
    CHECK_OK(JitcoreDylibDeinitialize(d));
    CHECK_TRACE(-105, -201);
    /* initialized now, and deinitialized next time */
    CHECK_OK(JitcoreDylibInitialize(d));
    CHECK_TRACE(-105, -201, 301);
    CHECK_OK(JitcoreDylibDeinitialize(d));
    CHECK_TRACE(-105, -201, 301, -301);
    JitcoreDisposeSession(s);
}

static void later_symbol(void) { trace(99); }

static void failed_constructor_runs_later(int lazy)
{
    JitcoreDylibRef d = NULL;
    JitcoreSessionRef s = traced_session(&d);
    if (!s)
        return;
    static const int p10[] = {10}, p30[] = {30};
    CHECK_OK(JitcoreDylibAddModule(d, structors("good", 100, p10, 1, NULL, 0), NULL));
    static const char BAD[] = "declare void @trace(i32)\n"
                              "declare void @later_symbol()\n"
                              "define internal void @bad_ctor() {\n"
                              "  call void @trace(i32 20)\n"
                              "  call void @later_symbol()\n"
                              "  ret void\n"
                              "}\n"
                              "define internal void @bad_dtor() {\n"
                              "  call void @trace(i32 -20)\n"
                              "  ret void\n"
                              "}\n"
                              "@llvm.global_ctors = appending global [1 x { i32, ptr, ptr }] [\n"
                              "  { i32, ptr, ptr } { i32 20, ptr @bad_ctor, ptr null }\n"
                              "]\n"
                              "@llvm.global_dtors = appending global [1 x { i32, ptr, ptr }] [\n"
                              "  { i32, ptr, ptr } { i32 20, ptr @bad_dtor, ptr null }\n"
                              "]\n"
                              "define i32 @bad_value() {\n  ret i32 20\n}\n";
    JitcoreModuleRef bad = MAKE_MODULE("bad_module", BAD);
    CHECK_OK(lazy ? JitcoreDylibAddModuleLazy(d, bad, NULL) : JitcoreDylibAddModule(d, bad, NULL));
    CHECK_OK(JitcoreDylibAddModule(d, structors("after", 300, p30, 1, NULL, 0), NULL));

    CHECK_ERR2(JitcoreDylibInitialize(d), JITCORE_ERROR_UNRESOLVED_SYMBOL, "later_symbol", "bad_module");
    CHECK_TRACE(110); /* the one before it ran; it and the one after did not */
    /* still missing: the same failure, nothing runs twice */
    CHECK_ERR(JitcoreDylibInitialize(d), JITCORE_ERROR_UNRESOLVED_SYMBOL, "later_symbol");
    CHECK_TRACE(110);
    /* once the symbol exists, it and the ones after it run (lazily added
       too: the failed body is reset like an eager module) */
    JitcoreSymbolDefinition sym = {"later_symbol", HOST_ADDR(later_symbol)};
    CHECK_OK(JitcoreDylibDefineAbsoluteSymbols(d, &sym, 1));
    CHECK_OK(JitcoreDylibInitialize(d));
    CHECK_TRACE(110, 20, 99, 330);
    CHECK_OK(JitcoreDylibInitialize(d));
    CHECK_TRACE(110, 20, 99, 330);
    CHECK_OK(JitcoreDylibDeinitialize(d));
    CHECK_TRACE(110, 20, 99, 330, -20);
    JitcoreDisposeSession(s);
}

static void test_failed_constructor_runs_later(void) { failed_constructor_runs_later(0); }
static void test_failed_lazy_constructor_runs_later(void) { failed_constructor_runs_later(1); }

/* Handlers: one registered by each kind of call in a constructor, one
   registered later by a function the host calls. */
static const char HANDLERS_IR[] =
    "@__dso_handle = external hidden global i8\n"
    "declare void @trace(i32)\n"
    "declare i32 @atexit(ptr)\n"
    "declare i32 @__cxa_atexit(ptr, ptr, ptr)\n"
    "@arg = internal global i32 7\n"
    "define internal void @cxa_handler(ptr %p) {\n"
    "  %v = load i32, ptr %p\n"
    "  call void @trace(i32 %v)\n"
    "  ret void\n"
    "}\n"
    "define internal void @atexit_handler() {\n"
    "  call void @trace(i32 8)\n"
    "  ret void\n"
    "}\n"
    "define internal void @late_handler() {\n"
    "  call void @trace(i32 9)\n"
    "  ret void\n"
    "}\n"
    "define internal void @ctor() {\n"
    "  call void @trace(i32 1)\n"
    "  %a = call i32 @__cxa_atexit(ptr @cxa_handler, ptr @arg, ptr @__dso_handle)\n"
    "  %b = call i32 @atexit(ptr @atexit_handler)\n"
    "  ret void\n"
    "}\n"
    "define internal void @dtor_high() {\n"
    "  call void @trace(i32 -2)\n"
    "  ret void\n"
    "}\n"
    "define internal void @dtor_low() {\n"
    "  call void @trace(i32 -1)\n"
    "  ret void\n"
    "}\n"
    "define i32 @register_late() {\n"
    "  %r = call i32 @atexit(ptr @late_handler)\n"
    "  ret i32 %r\n"
    "}\n"
    "@llvm.global_ctors = appending global [1 x { i32, ptr, ptr }] [\n"
    "  { i32, ptr, ptr } { i32 100, ptr @ctor, ptr null }\n"
    "]\n"
    "@llvm.global_dtors = appending global [2 x { i32, ptr, ptr }] [\n"
    "  { i32, ptr, ptr } { i32 100, ptr @dtor_low, ptr null },\n"
    "  { i32, ptr, ptr } { i32 200, ptr @dtor_high, ptr null }\n"
    "]\n";

static void handlers_then_destructors(int lazy)
{
    trace_reset();
    JitcoreSessionRef s = NEW_SESSION();
    if (!s)
        return;
    JitcoreDylibRef d = NULL;
    CHECK_OK(JitcoreSessionCreateDylib(s, &d, "handlers"));
    define_trace(d);
    JitcoreModuleRef m = MAKE_MODULE("handlers", HANDLERS_IR);
    CHECK_OK(lazy ? JitcoreDylibAddModuleLazy(d, m, NULL) : JitcoreDylibAddModule(d, m, NULL));
    CHECK_OK(JitcoreDylibInitialize(d));
    CHECK_TRACE(1);
    CHECK_EQ_INT(SESSION_CALL_INT(s, d, "register_late"), 0);
    CHECK_TRACE(1); /* registering runs nothing */
    CHECK_OK(JitcoreDylibDeinitialize(d));
    /* handlers last registered first, then destructors highest priority first */
    CHECK_TRACE(1, 9, 8, 7, -2, -1);
    /* each once */
    CHECK_OK(JitcoreDylibDeinitialize(d));
    CHECK_TRACE(1, 9, 8, 7, -2, -1);
    /* a handler registered after a deinitialization runs at the next one */
    CHECK_EQ_INT(SESSION_CALL_INT(s, d, "register_late"), 0);
    CHECK_OK(JitcoreDylibDeinitialize(d));
    CHECK_TRACE(1, 9, 8, 7, -2, -1, 9);
    JitcoreDisposeSession(s);
}

static void test_handlers_then_destructors(void) { handlers_then_destructors(0); }
static void test_lazy_handlers_then_destructors(void) { handlers_then_destructors(1); }

static void test_removal_drops_destructors_and_handlers(void)
{
    JitcoreDylibRef d = NULL;
    JitcoreSessionRef s = traced_session(&d);
    if (!s)
        return;
    static const int p50[] = {50};
    CHECK_OK(JitcoreDylibAddModule(d, structors("stays", 500, p50, 1, p50, 1), NULL));
    JitcoreResourceTrackerRef rt = JitcoreDylibCreateResourceTracker(d);
    CHECK(rt != NULL);
    CHECK_OK(JitcoreDylibAddModule(d, MAKE_MODULE("removed", HANDLERS_IR), rt));
    CHECK_OK(JitcoreDylibInitialize(d));
    CHECK_TRACE(550, 1);
    CHECK_EQ_INT(SESSION_CALL_INT(s, d, "register_late"), 0);
    /* the removed module's destructors and handlers are dropped unrun */
    CHECK_OK(JitcoreResourceTrackerRemove(rt));
    CHECK_TRACE(550, 1);
    CHECK_OK(JitcoreDylibDeinitialize(d));
    CHECK_TRACE(550, 1, -550);
    /* added again, it is a new module: initialized, it registers again */
    trace_reset();
    JitcoreResourceTrackerRef rt2 = JitcoreDylibCreateResourceTracker(d);
    CHECK_OK(JitcoreDylibAddModule(d, MAKE_MODULE("removed", HANDLERS_IR), rt2));
    CHECK_OK(JitcoreDylibInitialize(d));
    CHECK_OK(JitcoreDylibDeinitialize(d));
    CHECK_TRACE(1, 8, 7, -2, -1);
    JitcoreDisposeResourceTracker(rt);
    JitcoreDisposeResourceTracker(rt2);
    JitcoreDisposeSession(s);
}

/* The C++ module: what a native build of it prints (see its header). */
static void cxx_objects(const char *data_dir, int lazy, unsigned threads)
{
    trace_reset();
    char *path = tu_path_join(data_dir, "cxx_objects.ll");
    size_t len = 0;
    unsigned char *ir = tu_read_file(path, &len);
    free(path);
    CHECK_MSG(ir != NULL, "cannot read cxx_objects.ll");
    if (!ir)
        return;
    JitcoreSessionOptions o;
    JitcoreSessionOptionsInit(&o);
    o.CompileThreads = threads;
    JitcoreSessionRef s = NULL;
    CHECK_OK(JitcoreCreateSession(&s, &o));
    if (!s) {
        free(ir);
        return;
    }
    /* a dylib of its own, as a shared library: libc and libstdc++ through
       the process's symbols */
    JitcoreDylibRef d = NULL;
    CHECK_OK(JitcoreSessionCreateDylib(s, &d, "cxx"));
    CHECK_OK(JitcoreDylibAddProcessSymbols(d, NULL, NULL));
    define_trace(d);
    JitcoreModuleRef m = NULL;
    CHECK_OK(JitcoreCreateModuleFromIR(&m, "cxx_objects.ll", (const char *)ir, len));
    free(ir);
    if (!m) {
        JitcoreDisposeSession(s);
        return;
    }
    CHECK_OK(lazy ? JitcoreDylibAddModuleLazy(d, m, NULL) : JitcoreDylibAddModule(d, m, NULL));
    CHECK_OK(JitcoreDylibInitialize(d));
    CHECK_TRACE(0, 1, 2, 3);
    CHECK_EQ_INT(SESSION_CALL_INT(s, d, "use_local"), 4);
    CHECK_EQ_INT(SESSION_CALL_INT(s, d, "use_local"), 4);
    CHECK_TRACE(0, 1, 2, 3, 4);
    CHECK_OK(JitcoreDylibDeinitialize(d));
    /* the native order: exit's handlers (the objects' destructors and the
       atexit handler, last registered first), then the destructor function */
    CHECK_TRACE(0, 1, 2, 3, 4, -4, 100, -2, -1, -1000);
    CHECK_OK(JitcoreDylibDeinitialize(d));
    CHECK_TRACE(0, 1, 2, 3, 4, -4, 100, -2, -1, -1000);
    JitcoreDisposeSession(s);
}

static const char *data_dir = ".";
static void test_cxx_objects(void) { cxx_objects(data_dir, 0, 0); }
static void test_cxx_objects_lazy(void) { cxx_objects(data_dir, 1, 0); }
static void test_cxx_objects_compile_threads(void) { cxx_objects(data_dir, 1, 2); }

/* Concurrent initializations: constructors count their runs. */
static atomic_int runs[8];
static void count_run(int i)
{
    /* the first one is slow, so the other thread arrives while it runs */
    if (i == 0) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    atomic_fetch_add(&runs[i], 1);
}

struct init_arg {
    JitcoreDylibRef d;
    JitcoreErrorRef err;
    int all_ran;
};

static void *initialize_thread(void *p)
{
    struct init_arg *a = p;
    a->err = JitcoreDylibInitialize(a->d);
    a->all_ran = 1;
    for (int i = 0; i < 8; i++)
        a->all_ran &= atomic_load(&runs[i]) >= 1;
    return NULL;
}

static void test_concurrent_initialize_runs_each_once(void)
{
    for (int i = 0; i < 8; i++)
        atomic_store(&runs[i], 0);
    JitcoreSessionRef s = NEW_SESSION();
    if (!s)
        return;
    JitcoreDylibRef d = JitcoreSessionGetMainDylib(s);
    JitcoreSymbolDefinition sym = {"count_run", HOST_ADDR(count_run)};
    CHECK_OK(JitcoreDylibDefineAbsoluteSymbols(d, &sym, 1));
    for (int m = 0; m < 4; m++) {
        char ir[2048], name[16];
        size_t l = (size_t)snprintf(ir, sizeof ir, "declare void @count_run(i32)\n");
        for (int k = 0; k < 2; k++)
            l += (size_t)snprintf(ir + l, sizeof ir - l,
                                  "define internal void @c%d() {\n  call void @count_run(i32 %d)\n  ret void\n}\n", k,
                                  m * 2 + k);
        l += (size_t)snprintf(ir + l, sizeof ir - l,
                              "@llvm.global_ctors = appending global [2 x { i32, ptr, ptr }] ["
                              "{ i32, ptr, ptr } { i32 %d, ptr @c0, ptr null }, { i32, ptr, ptr } { i32 %d, ptr @c1, ptr null }]\n"
                              "define i32 @m%d() {\n  ret i32 0\n}\n",
                              10 + m, 20 + m, m);
        snprintf(name, sizeof name, "concurrent%d", m);
        CHECK_OK(JitcoreDylibAddModule(d, MAKE_MODULE(name, ir), NULL));
    }
    struct init_arg args[2] = {{d, NULL, 0}, {d, NULL, 0}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, initialize_thread, &args[i]);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 2; i++) {
        CHECK_OK(args[i].err);
        CHECK_MSG(args[i].all_ran, "thread %d returned before every constructor had run", i);
    }
    for (int i = 0; i < 8; i++)
        CHECK_MSG(atomic_load(&runs[i]) == 1, "constructor %d ran %d times", i, atomic_load(&runs[i]));
    JitcoreDisposeSession(s);
}

/* A constructor that initializes its own dylib (on its thread) again. */
static JitcoreDylibRef nested_dylib;
static JitcoreErrorCode nested_code = (JitcoreErrorCode)-1;
static void initialize_again(void)
{
    JitcoreErrorRef e = JitcoreDylibInitialize(nested_dylib);
    nested_code = e ? JitcoreGetErrorCode(e) : JITCORE_ERROR_SUCCESS;
    if (e)
        JitcoreConsumeError(e);
}

static void test_a_constructor_may_initialize(void)
{
    JitcoreDylibRef d = NULL;
    JitcoreSessionRef s = traced_session(&d);
    if (!s)
        return;
    nested_dylib = d;
    JitcoreSymbolDefinition sym = {"initialize_again", HOST_ADDR(initialize_again)};
    CHECK_OK(JitcoreDylibDefineAbsoluteSymbols(d, &sym, 1));
    static const char IR[] = "declare void @trace(i32)\n"
                             "declare void @initialize_again()\n"
                             "define internal void @first() {\n"
                             "  call void @trace(i32 1)\n"
                             "  call void @initialize_again()\n"
                             "  ret void\n"
                             "}\n"
                             "define internal void @second() {\n"
                             "  call void @trace(i32 2)\n"
                             "  ret void\n"
                             "}\n"
                             "@llvm.global_ctors = appending global [2 x { i32, ptr, ptr }] ["
                             "{ i32, ptr, ptr } { i32 1, ptr @first, ptr null }, { i32, ptr, ptr } { i32 2, ptr @second, ptr null }]\n"
                             "define i32 @nested() {\n  ret i32 0\n}\n";
    CHECK_OK(JitcoreDylibAddModule(d, MAKE_MODULE("nested", IR), NULL));
    CHECK_OK(JitcoreDylibInitialize(d));
    CHECK_EQ_INT(nested_code, JITCORE_ERROR_SUCCESS);
    /* the nested call ran the second; the outer one did not run it again */
    CHECK_TRACE(1, 2);
    JitcoreDisposeSession(s);
}

static void test_bad_arguments(void)
{
    CHECK_ERR(JitcoreDylibInitialize(NULL), JITCORE_ERROR_INVALID_ARGUMENT, "dylib");
    CHECK_ERR(JitcoreDylibDeinitialize(NULL), JITCORE_ERROR_INVALID_ARGUMENT, "dylib");
    JitcoreSessionRef s = NEW_SESSION();
    if (!s)
        return;
    JitcoreDylibRef d = JitcoreSessionGetMainDylib(s);
    /* an empty dylib: nothing to do */
    CHECK_OK(JitcoreDylibInitialize(d));
    CHECK_OK(JitcoreDylibDeinitialize(d));
    JitcoreDisposeSession(s);
    CHECK_ERR(JitcoreDylibInitialize(d), JITCORE_ERROR_INVALID_ARGUMENT, "disposed");
}

/* A handler that registers another one: it runs too, in the same
   deinitialization (as under the C library's exit). */
static void test_a_handler_may_register_a_handler(void)
{
    JitcoreDylibRef d = NULL;
    JitcoreSessionRef s = traced_session(&d);
    if (!s)
        return;
    static const char IR[] = "declare void @trace(i32)\n"
                             "declare i32 @atexit(ptr)\n"
                             "define internal void @second() {\n"
                             "  call void @trace(i32 2)\n"
                             "  ret void\n"
                             "}\n"
                             "define internal void @first() {\n"
                             "  call void @trace(i32 1)\n"
                             "  %r = call i32 @atexit(ptr @second)\n"
                             "  ret void\n"
                             "}\n"
                             "define i32 @register_first() {\n"
                             "  %r = call i32 @atexit(ptr @first)\n"
                             "  ret i32 %r\n"
                             "}\n";
    CHECK_OK(JitcoreDylibAddModule(d, MAKE_MODULE("chained", IR), NULL));
    CHECK_OK(JitcoreDylibInitialize(d));
    CHECK_EQ_INT(SESSION_CALL_INT(s, d, "register_first"), 0);
    CHECK_OK(JitcoreDylibDeinitialize(d));
    CHECK_TRACE(1, 2);
    CHECK_OK(JitcoreDylibDeinitialize(d));
    CHECK_TRACE(1, 2);
    JitcoreDisposeSession(s);
}

/* An object file's code (which jitcore does not rewrite) registers its
   handlers with LLJIT's platform support: they run after the modules'. */
static void test_object_file_handlers(void)
{
    if (system("cc --version >/dev/null 2>&1") != 0) {
        tu_note("  SKIP object file handlers: no `cc`");
        return;
    }
    static const char SRC[] = "#include <stdlib.h>\n"
                              "extern void trace(int);\n"
                              "extern int __cxa_atexit(void (*)(void *), void *, void *);\n"
                              "extern char __dso_handle;\n"
                              "static int arg = 51;\n"
                              "static void h(void) { trace(50); }\n"
                              "static void cxa(void *p) { trace(*(int *)p); }\n"
                              "void reg_obj(void) { atexit(h); __cxa_atexit(cxa, &arg, &__dso_handle); }\n";
    char *dir = tu_make_temp_dir();
    char *c = tu_path_join(dir, "handlers.c");
    char *o = tu_path_join(dir, "handlers.o");
    CHECK(tu_write_file(c, SRC, strlen(SRC)));
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "cc -c -fPIC -O1 -o '%s' '%s'", o, c);
    int rc = system(cmd);
    CHECK_MSG(rc == 0, "expected `%s` to succeed, got %d", cmd, rc);
    size_t len = 0;
    unsigned char *obj = rc == 0 ? tu_read_file(o, &len) : NULL;
    remove(c);
    remove(o);
    rmdir(dir);
    free(c);
    free(o);
    free(dir);
    if (!obj)
        return;
    JitcoreDylibRef d = NULL;
    JitcoreSessionRef s = traced_session(&d);
    if (!s) {
        free(obj);
        return;
    }
    CHECK_OK(JitcoreDylibAddObjectBuffer(d, obj, len, NULL));
    free(obj);
    CHECK_OK(JitcoreDylibAddModule(d, MAKE_MODULE("module_handlers", HANDLERS_IR), NULL));
    CHECK_OK(JitcoreDylibInitialize(d));
    /* (LLJIT's atexit and __cxa_atexit return garbage: not checked) */
    uint64_t reg = SESSION_LOOKUP(s, d, "reg_obj");
    if (reg)
        FN(void (*)(void), reg)();
    CHECK_OK(JitcoreDylibDeinitialize(d));
    CHECK_TRACE(1, 8, 7, 51, 50, -2, -1);
    CHECK_OK(JitcoreDylibDeinitialize(d));
    CHECK_TRACE(1, 8, 7, 51, 50, -2, -1);
    JitcoreDisposeSession(s);
}

/* Handlers registered by jitted code of a session disposed of without
   Deinitialize: none of them may run at process exit (their code is gone;
   if one did, this process would crash after main returns). */
static void test_nothing_runs_at_process_exit(void)
{
    JitcoreDylibRef d = NULL;
    JitcoreSessionRef s = traced_session(&d);
    if (!s)
        return;
    CHECK_OK(JitcoreDylibAddModule(d, MAKE_MODULE("left", HANDLERS_IR), NULL));
    CHECK_OK(JitcoreDylibInitialize(d));
    CHECK_EQ_INT(SESSION_CALL_INT(s, d, "register_late"), 0);
    JitcoreDisposeSession(s);
    CHECK_TRACE(1);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        data_dir = argv[1];
    RUN_TEST(test_priority_order_across_modules_and_dylibs());
    RUN_TEST(test_a_dependency_initialized_alone());
    RUN_TEST(test_only_what_was_added_since());
    RUN_TEST(test_failed_constructor_runs_later());
    RUN_TEST(test_failed_lazy_constructor_runs_later());
    RUN_TEST(test_handlers_then_destructors());
    RUN_TEST(test_lazy_handlers_then_destructors());
    RUN_TEST(test_removal_drops_destructors_and_handlers());
    RUN_TEST(test_cxx_objects());
    RUN_TEST(test_cxx_objects_lazy());
    RUN_TEST(test_cxx_objects_compile_threads());
    RUN_TEST(test_concurrent_initialize_runs_each_once());
    RUN_TEST(test_a_constructor_may_initialize());
    RUN_TEST(test_a_handler_may_register_a_handler());
    RUN_TEST(test_object_file_handlers());
    RUN_TEST(test_bad_arguments());
    RUN_TEST(test_nothing_runs_at_process_exit());
    return tu_finish("test_session_init");
}
