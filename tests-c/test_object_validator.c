/*
 * test_object_validator.c: crafted objects never reach JITLink.
 *
 * A real object (IR compiled by the JIT, captured by the object cache's
 * Notify) is copied and one ELF field is patched (parsed with <elf.h>):
 *   reloc_offset   a relocation of .text patches offset 0x100000
 *   reloc_sym0     a relocation against symbol index 0 (NULL deref in JITLink)
 *   reloc_sym_big  a relocation against a symbol index past the table
 *   reloc_type     a relocation type JITLink does not know
 *   local_name     a local symbol's name offset past the string table
 *   section_name   a section's name offset past the section-header strtab
 *   sym_shndx      a symbol's section index past the section table
 *   dup_flags      .data renamed '.text' (one name, two flag sets)
 *   strtab_link    the symbol table's sh_link names .text, not a strtab
 * Each variant must be refused with INVALID_OBJECT naming the problem by
 *  - JitcoreEngineAddObjectBuffer (the engine works after each),
 *  - JitcoreDylibAddObjectBuffer (the session works after each),
 *  - an object cache: GetBuffer returning the variant makes the module
 *    compile instead (right result, CacheRejected == 1, CacheHits == 0),
 *  - JitcoreDylibAddArchive: an archive with one bad member is refused
 *    naming the member; the same archive with good members works.
 */
#define _POSIX_C_SOURCE 200809L /* before any system header: see test_util.h */
#include "test_util.h"

#include <elf.h>

static const char VOBJ_IR[] =
    "@vcount = global i32 5\n"
    "define i32 @vsum(i32 %a, i32 %b) {\n"
    "  %c = load i32, ptr @vcount\n"
    "  %s = add i32 %a, %b\n"
    "  %r = add i32 %s, %c\n"
    "  ret i32 %r\n"
    "}\n";
typedef int (*vsum_fn)(int, int);

struct saved {
    unsigned char *bytes;
    size_t len;
};

static void save_notify(void *ctx, JitcoreModuleRef m, const uint8_t *object, size_t len)
{
    (void)m;
    struct saved *s = ctx;
    free(s->bytes);
    s->bytes = malloc(len);
    memcpy(s->bytes, object, len);
    s->len = len;
}

/* ---- ELF access on a (malloc-aligned) copy ---- */

static Elf64_Shdr *shdr(unsigned char *b, size_t i)
{
    Elf64_Ehdr *eh = (Elf64_Ehdr *)(void *)b;
    return (Elf64_Shdr *)(void *)(b + eh->e_shoff + i * sizeof(Elf64_Shdr));
}

static size_t shnum(unsigned char *b) { return ((Elf64_Ehdr *)(void *)b)->e_shnum; }

static const char *secname(unsigned char *b, size_t i)
{
    Elf64_Ehdr *eh = (Elf64_Ehdr *)(void *)b;
    return (const char *)b + shdr(b, eh->e_shstrndx)->sh_offset + shdr(b, i)->sh_name;
}

static size_t find_section(unsigned char *b, const char *name)
{
    for (size_t i = 1; i < shnum(b); i++)
        if (strcmp(secname(b, i), name) == 0)
            return i;
    return 0;
}

static size_t find_type(unsigned char *b, uint32_t type)
{
    for (size_t i = 1; i < shnum(b); i++)
        if (shdr(b, i)->sh_type == type)
            return i;
    return 0;
}

/* The first relocation patching .text (NULL if none). */
static Elf64_Rela *text_rela(unsigned char *b)
{
    size_t text = find_section(b, ".text");
    for (size_t i = 1; i < shnum(b); i++) {
        Elf64_Shdr *s = shdr(b, i);
        if (s->sh_type == SHT_RELA && s->sh_info == text && s->sh_size >= sizeof(Elf64_Rela))
            return (Elf64_Rela *)(void *)(b + s->sh_offset);
    }
    return NULL;
}

static Elf64_Sym *symbol(unsigned char *b, size_t i)
{
    Elf64_Shdr *st = shdr(b, find_type(b, SHT_SYMTAB));
    return (Elf64_Sym *)(void *)(b + st->sh_offset + i * sizeof(Elf64_Sym));
}

static size_t nsyms(unsigned char *b) { return shdr(b, find_type(b, SHT_SYMTAB))->sh_size / sizeof(Elf64_Sym); }

/* ---- the variants: each patches b and returns the message expected ---- */

static const char *reloc_offset(unsigned char *b)
{
    text_rela(b)->r_offset = 0x100000;
    return "patches offset 0x100000, past the end of '.text'";
}
static const char *reloc_sym0(unsigned char *b)
{
    Elf64_Rela *r = text_rela(b);
    r->r_info = ELF64_R_INFO(0, ELF64_R_TYPE(r->r_info));
    return "names symbol 0";
}
static const char *reloc_sym_big(unsigned char *b)
{
    Elf64_Rela *r = text_rela(b);
    r->r_info = ELF64_R_INFO(nsyms(b) + 7, ELF64_R_TYPE(r->r_info));
    return "which does not exist";
}
static const char *reloc_type(unsigned char *b)
{
    Elf64_Rela *r = text_rela(b);
    r->r_info = ELF64_R_INFO(ELF64_R_SYM(r->r_info), 250);
    return "has type 250";
}
static const char *local_name(unsigned char *b)
{
    symbol(b, 1)->st_name = 0x7fffff;
    return "the name of symbol 1 (offset 0x7fffff) lies outside its string table";
}
static const char *section_name(unsigned char *b)
{
    shdr(b, 1)->sh_name = 0xffffff;
    return "the name of section 1 (offset 0xffffff) lies outside the section-header string table";
}
static const char *sym_shndx(unsigned char *b)
{
    symbol(b, 1)->st_shndx = (Elf64_Section)(shnum(b) + 10);
    return "which does not exist";
}
static const char *dup_flags(unsigned char *b)
{
    shdr(b, find_section(b, ".data"))->sh_name = shdr(b, find_section(b, ".text"))->sh_name;
    return "are both named '.text' but have different flags";
}
static const char *strtab_link(unsigned char *b)
{
    shdr(b, find_type(b, SHT_SYMTAB))->sh_link = (Elf64_Word)find_section(b, ".text");
    return "is not a string table (SHT_STRTAB)";
}

struct variant {
    const char *name;
    const char *(*craft)(unsigned char *);
};
static const struct variant VARIANTS[] = {
    {"reloc_offset", reloc_offset}, {"reloc_sym0", reloc_sym0},     {"reloc_sym_big", reloc_sym_big},
    {"reloc_type", reloc_type},     {"local_name", local_name},     {"section_name", section_name},
    {"sym_shndx", sym_shndx},       {"dup_flags", dup_flags},       {"strtab_link", strtab_link},
};
#define N_VARIANTS (sizeof VARIANTS / sizeof VARIANTS[0])

static struct saved good;

static unsigned char *crafted(size_t v, const char **expect)
{
    unsigned char *b = malloc(good.len);
    memcpy(b, good.bytes, good.len);
    *expect = VARIANTS[v].craft(b);
    return b;
}

static int check_vsum(int r, int line)
{
    return tu_record(r == 2 + 3 + 5, __FILE__, line, "expected vsum(2, 3) == 10, got %d", r);
}

static void test_the_object_has_what_we_patch(void)
{
    unsigned char *b = good.bytes;
    CHECK(text_rela(b) != NULL);
    CHECK(find_section(b, ".data") != 0);
    CHECK(find_type(b, SHT_SYMTAB) != 0);
    CHECK_MSG(ELF64_ST_BIND(symbol(b, 1)->st_info) == STB_LOCAL, "expected symbol 1 to be local");
}

static void test_engine_refuses(void)
{
    JitcoreEngineRef ee = MAKE_ENGINE(MAKE_MODULE("sum_module", SUM_IR));
    if (!ee)
        return;
    for (size_t v = 0; v < N_VARIANTS; v++) {
        const char *expect;
        unsigned char *b = crafted(v, &expect);
        JitcoreErrorRef e = JitcoreEngineAddObjectBuffer(ee, b, good.len);
        CHECK_MSG(JitcoreGetErrorCode(e) == JITCORE_ERROR_INVALID_OBJECT, "%s: expected INVALID_OBJECT, got %s",
                  VARIANTS[v].name, tu_code_name(JitcoreGetErrorCode(e)));
        char *msg = JitcoreGetErrorMessage(e);
        CHECK_MSG(tu_contains_any(msg, expect) && tu_contains_any(msg, "is not a usable object file"),
                  "%s: expected a message with '%s', got '%s'", VARIANTS[v].name, expect, msg ? msg : "(null)");
        if (getenv("TU_VERBOSE"))
            tu_note("  %s: %s", VARIANTS[v].name, msg ? msg : "(null)");
        JitcoreDisposeErrorMessage(msg);
        free(b);
        CHECK_SUM_WORKS(ee);
    }
    JitcoreStatistics st = GET_STATS(ee);
    CHECK_EQ_U64(st.ObjectsLoaded, 1); /* only sum_module */
    CHECK_OK(JitcoreEngineAddObjectBuffer(ee, good.bytes, good.len));
    uint64_t a = LOOKUP(ee, "vsum");
    if (a)
        check_vsum(FN(vsum_fn, a)(2, 3), __LINE__);
    JitcoreDisposeEngine(ee);
}

static void test_session_refuses(void)
{
    JitcoreSessionRef s = NEW_SESSION();
    if (!s)
        return;
    JitcoreDylibRef d = JitcoreSessionGetMainDylib(s);
    for (size_t v = 0; v < N_VARIANTS; v++) {
        const char *expect;
        unsigned char *b = crafted(v, &expect);
        CHECK_ERR(JitcoreDylibAddObjectBuffer(d, b, good.len, NULL), JITCORE_ERROR_INVALID_OBJECT, expect);
        free(b);
    }
    CHECK_OK(JitcoreDylibAddModule(d, MAKE_MODULE("sum_module", SUM_IR), NULL));
    CHECK_OK(JitcoreDylibAddObjectBuffer(d, good.bytes, good.len, NULL));
    uint64_t a = SESSION_LOOKUP(s, d, "vsum");
    if (a)
        check_vsum(FN(vsum_fn, a)(2, 3), __LINE__);
    a = SESSION_LOOKUP(s, d, "sum");
    if (a)
        CHECK_EQ_INT(FN(tu_sum_fn, a)(2, -5), -3);
    JitcoreDisposeSession(s);
}

/* GetBuffer hands out the current variant of the module's own object. */
static size_t cache_variant;
static JitcoreObjectBufferRef bad_getbuffer(void *ctx, JitcoreModuleRef m)
{
    (void)ctx;
    (void)m;
    const char *expect;
    unsigned char *b = crafted(cache_variant, &expect);
    JitcoreObjectBufferRef buf = JitcoreCreateObjectBufferCopy(b, good.len);
    free(b);
    return buf;
}

static void test_cache_objects_are_rejected(void)
{
    for (size_t v = 0; v < N_VARIANTS; v++) {
        cache_variant = v;
        JitcoreEngineRef ee = MAKE_ENGINE(MAKE_MODULE("vobj", VOBJ_IR));
        if (!ee)
            return;
        JitcoreEngineSetObjectCache(ee, NULL, bad_getbuffer, NULL);
        uint64_t a = LOOKUP(ee, "vsum");
        if (a)
            CHECK_MSG(FN(vsum_fn, a)(2, 3) == 10, "%s: expected vsum(2, 3) == 10", VARIANTS[v].name);
        JitcoreStatistics st = GET_STATS(ee);
        CHECK_MSG(st.CacheRejected == 1 && st.CacheHits == 0 && st.ModulesCompiled == 1,
                  "%s: expected the cached object rejected and the module compiled, got rejected %" PRIu64
                  " hits %" PRIu64 " compiled %" PRIu64,
                  VARIANTS[v].name, st.CacheRejected, st.CacheHits, st.ModulesCompiled);
        JitcoreDisposeEngine(ee);
    }
}

/* ---- static archives (GNU ar, with a symbol table) ---- */

static void put_field(unsigned char *p, size_t width, const char *s)
{
    memset(p, ' ', width);
    memcpy(p, s, strlen(s) < width ? strlen(s) : width);
}

static void ar_header(unsigned char h[60], const char *name, size_t size)
{
    char num[32];
    put_field(h, 16, name);
    put_field(h + 16, 12, "0");
    put_field(h + 28, 6, "0");
    put_field(h + 34, 6, "0");
    put_field(h + 40, 8, "644");
    snprintf(num, sizeof num, "%zu", size);
    put_field(h + 48, 10, num);
    h[58] = '`';
    h[59] = '\n';
}

static void be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* An archive: member 1 (defining sym1) and member 2 (named name2). */
static int write_archive(const char *path, const unsigned char *obj1, size_t len1, const char *sym1,
                         const char *name2, const unsigned char *obj2, size_t len2)
{
    size_t symtab_len = 4 + 4 + strlen(sym1) + 1;
    size_t symtab_padded = symtab_len + (symtab_len & 1);
    size_t off1 = 8 + 60 + symtab_padded;
    size_t off2 = off1 + 60 + len1 + (len1 & 1);
    size_t total = off2 + 60 + len2 + (len2 & 1);
    unsigned char *buf = calloc(1, total);
    if (!buf)
        return 0;
    unsigned char *p = buf;
    memcpy(p, "!<arch>\n", 8);
    p += 8;
    ar_header(p, "/", symtab_len);
    p += 60;
    be32(p, 1);
    be32(p + 4, (uint32_t)off1);
    p += 8;
    memcpy(p, sym1, strlen(sym1) + 1);
    p += strlen(sym1) + 1;
    if (symtab_len & 1)
        *p++ = '\n';
    ar_header(p, "good.o/", len1);
    p += 60;
    memcpy(p, obj1, len1);
    p += len1;
    if (len1 & 1)
        *p++ = '\n';
    ar_header(p, name2, len2);
    p += 60;
    memcpy(p, obj2, len2);
    p += len2;
    if (len2 & 1)
        *p++ = '\n';
    int ok = (size_t)(p - buf) == total && tu_write_file(path, buf, total);
    free(buf);
    return ok;
}

static void test_archive_with_a_bad_member(void)
{
    char *dir = tu_make_temp_dir();
    if (!CHECK(dir != NULL))
        return;
    char *bad_path = tu_path_join(dir, "libbad.a");
    char *good_path = tu_path_join(dir, "libgood.a");
    const char *expect;
    unsigned char *evil = crafted(0, &expect); /* reloc_offset */
    CHECK(write_archive(bad_path, good.bytes, good.len, "vsum", "evil.o/", evil, good.len));
    CHECK(write_archive(good_path, good.bytes, good.len, "vsum", "copy.o/", good.bytes, good.len));
    free(evil);

    JitcoreSessionRef s = NEW_SESSION();
    if (s) {
        JitcoreDylibRef d = NULL;
        CHECK_OK(JitcoreSessionCreateDylib(s, &d, "app"));
        CHECK_ERR2(JitcoreDylibAddArchive(d, bad_path), JITCORE_ERROR_INVALID_OBJECT, "evil.o", expect);
        /* the session works, and an archive of good members is linked */
        CHECK_OK(JitcoreDylibAddArchive(d, good_path));
        CHECK_OK(JitcoreDylibAddModule(d, MAKE_MODULE("uses_vsum",
            "declare i32 @vsum(i32, i32)\n"
            "define i32 @use_vsum() { %r = call i32 @vsum(i32 2, i32 3)\n ret i32 %r }\n"), NULL));
        CHECK_EQ_INT(SESSION_CALL_INT(s, d, "use_vsum"), 10);
        JitcoreDisposeSession(s);
    }
    remove(bad_path);
    remove(good_path);
    rmdir(dir);
    free(bad_path);
    free(good_path);
    free(dir);
}

int main(void)
{
    JitcoreEngineRef maker = MAKE_ENGINE(NULL);
    if (maker) {
        JitcoreEngineSetObjectCache(maker, save_notify, NULL, &good);
        CHECK_OK(JitcoreEngineAddModule(maker, MAKE_MODULE("vobj", VOBJ_IR)));
        CHECK(LOOKUP(maker, "vsum") != 0);
        JitcoreDisposeEngine(maker);
    }
    CHECK(good.bytes != NULL && good.len > 64 && memcmp(good.bytes, "\x7f" "ELF", 4) == 0);
    if (good.bytes) {
        RUN_TEST(test_the_object_has_what_we_patch());
        if (tu_failures() == 0) {
            RUN_TEST(test_engine_refuses());
            RUN_TEST(test_session_refuses());
            RUN_TEST(test_cache_objects_are_rejected());
            RUN_TEST(test_archive_with_a_bad_member());
        }
    }
    free(good.bytes);
    return tu_finish("test_object_validator");
}
