/*
 * Debugger and profiler support:
 *  - EnableDebugger: jitted code with debug info is registered with GDB's JIT
 *    interface (the __jit_debug_descriptor gains an entry);
 *  - EnablePerf: /tmp/perf-<pid>.map names the jitted function at its address.
 */
#include "test_util.h"

#include <dlfcn.h>
#include <time.h>

struct jit_code_entry {
    struct jit_code_entry *next_entry;
    struct jit_code_entry *prev_entry;
    const char *symfile_addr;
    uint64_t symfile_size;
};

struct jit_descriptor {
    uint32_t version;
    uint32_t action_flag;
    struct jit_code_entry *relevant_entry;
    struct jit_code_entry *first_entry;
};

static const char *DEBUG_IR =
    "define i32 @dbg_fn(i32 %x) !dbg !4 {\n"
    "  %r = add i32 %x, 42, !dbg !7\n"
    "  ret i32 %r, !dbg !7\n"
    "}\n"
    "!llvm.dbg.cu = !{!0}\n"
    "!llvm.module.flags = !{!2, !3}\n"
    "!0 = distinct !DICompileUnit(language: DW_LANG_C99, file: !1, producer: \"jitcore-test\", isOptimized: false, "
    "runtimeVersion: 0, emissionKind: FullDebug)\n"
    "!1 = !DIFile(filename: \"dbg.c\", directory: \"/tmp\")\n"
    "!2 = !{i32 2, !\"Dwarf Version\", i32 4}\n"
    "!3 = !{i32 2, !\"Debug Info Version\", i32 3}\n"
    "!4 = distinct !DISubprogram(name: \"dbg_fn\", scope: !1, file: !1, line: 1, type: !5, scopeLine: 1, "
    "spFlags: DISPFlagDefinition, unit: !0)\n"
    "!5 = !DISubroutineType(types: !6)\n"
    "!6 = !{null}\n"
    "!7 = !DILocation(line: 2, column: 3, scope: !4)\n";

static int count_entries(const struct jit_descriptor *d)
{
    int n = 0;
    for (const struct jit_code_entry *e = d->first_entry; e != NULL && n < 100000; e = e->next_entry)
        n++;
    return n;
}

typedef int (*ifn)(int);

static void gdb_registration(void)
{
    const struct jit_descriptor *desc = dlsym(RTLD_DEFAULT, "__jit_debug_descriptor");
    CHECK_MSG(desc != NULL, "libLLVM exports __jit_debug_descriptor");
    if (desc == NULL)
        return;
    int before = count_entries(desc);
    JitcoreSessionOptions o;
    JitcoreSessionOptionsInit(&o);
    o.EnableDebugger = 1;
    o.OptLevel = JITCORE_OPT_LEVEL_O0;
    JitcoreSessionRef s = NULL;
    CHECK_OK(JitcoreCreateSession(&s, &o));
    JitcoreDylibRef d = JitcoreSessionGetMainDylib(s);
    CHECK_OK(JitcoreDylibAddModule(d, MAKE_MODULE("dbg.c", DEBUG_IR), NULL));
    uint64_t a = 0;
    CHECK_OK(JitcoreSessionLookup(s, d, &a, "dbg_fn"));
    CHECK_EQ_INT(FN(ifn, a)(1), 43);
    int after = count_entries(desc);
    tu_note("GDB JIT descriptor: %d entries before, %d after", before, after);
    CHECK_MSG(after > before, "the descriptor gained an entry (%d -> %d)", before, after);
    const struct jit_code_entry *e = desc->relevant_entry;
    CHECK_MSG(e != NULL && e->symfile_size > 4 && memcmp(e->symfile_addr, "\177ELF", 4) == 0,
              "the registered entry is an ELF debug object");
    JitcoreDisposeSession(s);
}

static void perf_map(void)
{
    JitcoreSessionOptions o;
    JitcoreSessionOptionsInit(&o);
    o.EnablePerf = 1;
    JitcoreSessionRef s = NULL;
    CHECK_OK(JitcoreCreateSession(&s, &o));
    JitcoreDylibRef d = JitcoreSessionGetMainDylib(s);
    CHECK_OK(JitcoreDylibAddModule(d, MAKE_MODULE("perf.ll",
        "define i32 @perf_named_function(i32 %x) { %r = mul i32 %x, 3\n ret i32 %r }\n"), NULL));
    uint64_t a = 0;
    CHECK_OK(JitcoreSessionLookup(s, d, &a, "perf_named_function"));
    CHECK_EQ_INT(FN(ifn, a)(5), 15);

    char path[64];
    snprintf(path, sizeof path, "/tmp/perf-%d.map", (int)getpid());
    char want[128];
    snprintf(want, sizeof want, "%" PRIx64 " ", a);
    int found = 0;
    for (int attempt = 0; attempt < 200 && !found; attempt++) {
        FILE *f = fopen(path, "r");
        if (f != NULL) {
            char line[512];
            while (fgets(line, sizeof line, f) != NULL) {
                if (strncmp(line, want, strlen(want)) == 0 && strstr(line, " perf_named_function") != NULL)
                    found = 1;
            }
            fclose(f);
        }
        if (!found)
            nanosleep(&(struct timespec){0, 10000000}, NULL);
    }
    CHECK_MSG(found, "%s names perf_named_function at %" PRIx64, path, a);
    JitcoreDisposeSession(s);
    unlink(path);
}

int main(void)
{
    RUN_TEST(gdb_registration());
    RUN_TEST(perf_map());
    return tu_finish("test_session_debug");
}
