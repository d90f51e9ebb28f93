/*
 * The benchmark harness: one figure's work through one subject, measured,
 * printed as one JSON line for bench/suite.py (which runs the subjects
 * interleaved, repeats, and takes medians). Wall time and process CPU time
 * of the measured part only; under callgrind (valgrind --tool=callgrind
 * --instr-atstart=no) only that part is instrumented, so the instruction
 * count is the figure's own.
 *
 * usage: harness FIGURE SUBJECT [options] FILE...
 *   FIGURE   cold        add each FILE, look its entry up, call it (per module)
 *            warm        the same, after a priming pass by another instance
 *                        (a warm disk cache, host cache or floor object)
 *            lookup      add FILE, compile the --names, then time --iters
 *                        lookups of each (ns per lookup)
 *            throughput  add every FILE, then look their entries up at once
 *                        (modules per second)
 *            memory      --cycles add/lookup/call/remove cycles of FILE after
 *                        100 warm-up cycles (RSS growth); with --rename each
 *                        cycle's module calls its entry <entry>_<cycle>, so
 *                        every cycle compiles new code (MCJIT keeps a
 *                        removed module's code and would answer from it)
 *   SUBJECT  engine session lljit floor mcjit unitfloor
 *   options  -O0..-O3 (default -O2), --disk-cache DIR, --callback-cache,
 *            --lazy, --threads N, --passes (lljit: default<On> first),
 *            --sym NAME (entry of every FILE; default: the file's stem),
 *            --names A,B (lookup), --iters N (lookup), --cycles N and
 *            --rename (memory), --rounds N (warm: N measured passes after
 *            the priming one, each in a fresh instance; the median is
 *            printed, default 1)
 * An entry is called as int64_t (*)(int64_t) with 3.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <unistd.h>

#include <valgrind/callgrind.h>

#include "subject.h"

typedef struct Input {
    char *name; /* the file's stem: module name and, by default, entry */
    const char *entry;
    char *ir;
    size_t len;
} Input;

typedef struct Clock {
    double wall, cpu;
    long faults; /* minor page faults (first touches of memory and code) */
} Clock;

static double seconds(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static long minor_faults(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_minflt;
}

/* The fault count is read outside the timed and instrumented part. */
static Clock start(void)
{
    long faults = minor_faults();
    CALLGRIND_START_INSTRUMENTATION;
    return (Clock){seconds(CLOCK_MONOTONIC), seconds(CLOCK_PROCESS_CPUTIME_ID), faults};
}

static Clock stop(Clock c)
{
    Clock e = {seconds(CLOCK_MONOTONIC) - c.wall, seconds(CLOCK_PROCESS_CPUTIME_ID) - c.cpu, 0};
    CALLGRIND_STOP_INSTRUMENTATION;
    e.faults = minor_faults() - c.faults;
    CALLGRIND_DUMP_STATS; /* one dump per measured part, in order */
    return e;
}

static Input read_input(const char *path, const char *entry)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        harness_die(path, "cannot open");
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    Input in = {NULL, entry, malloc((size_t)len + 1), (size_t)len};
    if (fread(in.ir, 1, in.len, f) != in.len)
        harness_die(path, "cannot read");
    in.ir[in.len] = 0;
    fclose(f);
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    in.name = strndup(base, strcspn(base, "."));
    if (!in.entry)
        in.entry = in.name;
    return in;
}

static long rss_kb(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f || fscanf(f, "%ld %ld", &pages, &resident) != 2)
        harness_die("/proc/self/statm", "cannot read");
    fclose(f);
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static int64_t call(uint64_t address)
{
    return ((int64_t(*)(int64_t))(uintptr_t)address)(3);
}

/* Adds every input, looks its entry up and calls it; returns a checksum. */
static int64_t add_all(const Subject *s, Jit *j, const Input *in, int n)
{
    int64_t sum = 0;
    for (int i = 0; i < n; i++) {
        s->add(j, in[i].name, in[i].ir, in[i].len);
        sum += call(s->lookup(j, in[i].entry));
    }
    return sum;
}

static void print_time(const char *figure, const char *subject, Clock c, int per, const char *extra)
{
    printf("{\"figure\": \"%s\", \"subject\": \"%s\", \"wall\": %.9g, \"cpu\": %.9g, \"faults\": %.9g, \"per\": %d%s}\n",
           figure, subject, c.wall / per, c.cpu / per, (double)c.faults / per, per, extra);
}

static int by_cpu(const void *a, const void *b)
{
    double x = ((const Clock *)a)->cpu, y = ((const Clock *)b)->cpu;
    return (x > y) - (x < y);
}

/* cold: one measured pass in a fresh instance. warm: a priming pass, then
 * `rounds` measured passes, each in a fresh instance; the one of median CPU
 * time is printed (one process gives `rounds` samples of the same warm
 * state, so a slow moment of the machine moves the figure less). */
static void cold(const Subject *s, const BenchConfig *cfg, const Input *in, int n, int prime, int rounds)
{
    if (prime) {
        Jit *j = s->create(cfg);
        add_all(s, j, in, n);
        s->dispose(j);
    }
    Clock *c = calloc((size_t)rounds, sizeof *c);
    if (!c)
        harness_die("--rounds", "cannot allocate the samples");
    int64_t sum = 0;
    for (int r = 0; r < rounds; r++) {
        Jit *j = s->create(cfg);
        c[r] = start();
        int64_t got = add_all(s, j, in, n);
        c[r] = stop(c[r]);
        if (r > 0 && got != sum)
            harness_die(s->name, "rounds computed different checksums");
        sum = got;
        s->dispose(j);
    }
    qsort(c, (size_t)rounds, sizeof *c, by_cpu);
    char extra[96];
    snprintf(extra, sizeof extra, ", \"checksum\": %lld, \"rounds\": %d", (long long)sum, rounds);
    print_time(prime ? "warm" : "cold", s->name, c[rounds / 2], n, extra);
    free(c);
}

static void lookups(const Subject *s, const BenchConfig *cfg, const Input *in, char *names, int iters)
{
    Jit *j = s->create(cfg);
    s->add(j, in->name, in->ir, in->len);
    for (char *name = strtok(names, ","); name; name = strtok(NULL, ",")) {
        uint64_t first = s->lookup(j, name), again = 0;
        Clock c = start();
        for (int i = 0; i < iters; i++)
            again |= s->lookup(j, name);
        c = stop(c);
        if (again != first)
            harness_die(name, "lookups disagree");
        char extra[128];
        snprintf(extra, sizeof extra, ", \"name\": \"%s\"", name);
        print_time("lookup", s->name, c, iters, extra);
    }
    s->dispose(j);
}

static void throughput(const Subject *s, const BenchConfig *cfg, const Input *in, int n)
{
    Jit *j = s->create(cfg);
    const char **names = malloc(sizeof *names * (size_t)n);
    uint64_t *addresses = malloc(sizeof *addresses * (size_t)n);
    for (int i = 0; i < n; i++) {
        s->add(j, in[i].name, in[i].ir, in[i].len);
        names[i] = in[i].entry;
    }
    Clock c = start();
    if (s->lookup_many)
        s->lookup_many(j, names, (size_t)n, addresses);
    else
        for (int i = 0; i < n; i++)
            addresses[i] = s->lookup(j, names[i]);
    int64_t sum = 0;
    for (int i = 0; i < n; i++)
        sum += call(addresses[i]);
    c = stop(c);
    char extra[96];
    snprintf(extra, sizeof extra, ", \"threads\": %u, \"checksum\": %lld", cfg->threads, (long long)sum);
    print_time("throughput", s->name, c, n, extra);
    free(names);
    free(addresses);
    s->dispose(j);
}

/* Writes `in` with every "@<entry>(" renamed "@<entry>_<cycle>(" to `ir`
   (room for twice the text) and that name to `entry`; returns the length. */
static size_t rename_entry(const Input *in, int cycle, char *ir, char *entry, size_t entry_size)
{
    char from[128];
    snprintf(from, sizeof from, "@%s(", in->entry);
    snprintf(entry, entry_size, "%s_%d", in->entry, cycle);
    size_t from_len = strlen(from), len = 0;
    for (const char *p = in->ir; *p;) {
        if (!strncmp(p, from, from_len)) {
            len += (size_t)sprintf(ir + len, "@%s(", entry);
            p += from_len;
        } else {
            ir[len++] = *p++;
        }
    }
    return len;
}

static void memory(const Subject *s, const BenchConfig *cfg, const Input *in, int cycles, int rename)
{
    Jit *j = s->create(cfg);
    long before = 0;
    Clock c = {0, 0, 0};
    char *ir = malloc(in->len * 2 + 64), entry[128];
    for (int i = 0; i < 100 + cycles; i++) {
        if (i == 100) {
            before = rss_kb();
            c = start();
        }
        size_t len = rename ? rename_entry(in, i, ir, entry, sizeof entry) : in->len;
        void *added = s->add(j, in->name, rename ? ir : in->ir, len);
        call(s->lookup(j, rename ? entry : in->entry));
        s->remove(j, added);
    }
    free(ir);
    c = stop(c);
    char extra[96];
    snprintf(extra, sizeof extra, ", \"rss_before_kb\": %ld, \"growth_kb\": %ld", before, rss_kb() - before);
    print_time("memory", s->name, c, cycles, extra);
    s->dispose(j);
}

static const Subject *subject_named(const char *name)
{
    const Subject *all[] = {&subject_engine, &subject_session, &subject_lljit, &subject_floor, &subject_mcjit, &subject_unitfloor};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        if (strcmp(all[i]->name, name) == 0)
            return all[i];
    harness_die(name, "no such subject");
}

int main(int argc, char **argv)
{
    if (argc < 4)
        harness_die("usage", "harness FIGURE SUBJECT [options] FILE... (see bench/harness/main.c)");
    const char *figure = argv[1];
    const Subject *s = subject_named(argv[2]);
    BenchConfig cfg = {.opt_level = 2};
    const char *entry = NULL;
    char names[256] = "f0";
    int iters = 1000, cycles = 10000, rename = 0, rounds = 1;
    const char **paths = malloc(sizeof *paths * (size_t)argc);
    int n = 0;
    for (int i = 3; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (a[0] == '-' && a[1] == 'O' && a[2] >= '0' && a[2] <= '3' && !a[3])
            cfg.opt_level = a[2] - '0';
        else if (!strcmp(a, "--disk-cache") && more)
            cfg.disk_cache = argv[++i];
        else if (!strcmp(a, "--callback-cache"))
            cfg.callback_cache = 1;
        else if (!strcmp(a, "--lazy"))
            cfg.lazy = 1;
        else if (!strcmp(a, "--rename"))
            rename = 1;
        else if (!strcmp(a, "--passes"))
            cfg.passes = 1;
        else if (!strcmp(a, "--threads") && more)
            cfg.threads = (unsigned)atoi(argv[++i]);
        else if (!strcmp(a, "--sym") && more)
            entry = argv[++i];
        else if (!strcmp(a, "--names") && more)
            snprintf(names, sizeof names, "%s", argv[++i]);
        else if (!strcmp(a, "--iters") && more)
            iters = atoi(argv[++i]);
        else if (!strcmp(a, "--cycles") && more)
            cycles = atoi(argv[++i]);
        else if (!strcmp(a, "--rounds") && more)
            rounds = atoi(argv[++i]);
        else if (a[0] == '-')
            harness_die(a, "unknown option");
        else
            paths[n++] = a;
    }
    if (n == 0)
        harness_die("usage", "no FILE");
    Input *in = malloc(sizeof *in * (size_t)n);
    for (int i = 0; i < n; i++)
        in[i] = read_input(paths[i], entry);
    if (rounds < 1 || (rounds > 1 && strcmp(figure, "warm") != 0))
        harness_die("--rounds", "takes a positive count, and more than 1 only for the warm figure");
    if (!strcmp(figure, "cold") || !strcmp(figure, "warm"))
        cold(s, &cfg, in, n, !strcmp(figure, "warm"), rounds);
    else if (!strcmp(figure, "lookup"))
        lookups(s, &cfg, in, names, iters);
    else if (!strcmp(figure, "throughput"))
        throughput(s, &cfg, in, n);
    else if (!strcmp(figure, "memory"))
        memory(s, &cfg, in, cycles, rename);
    else
        harness_die(figure, "no such figure");
    return 0;
}
