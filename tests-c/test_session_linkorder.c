/*
 * The ORC design document's libA/libB/main example, every rule of it:
 *  - two modules in one JITDylib defining the same symbol: DUPLICATE_DEFINITION;
 *  - the same symbol in two JITDylibs: fine;
 *  - main links [libA, libB]: main's code binds `foo` to libA's definition;
 *  - a dylib's own definition comes first; the search is not transitive;
 *  - weak definitions resolve as a linker would within a dylib;
 *  - non-exported (hidden) symbols of a linked dylib are not visible.
 */
#include "test_util.h"

#define ir(name, text) MAKE_MODULE(name, text)

typedef int (*int_fn)(void);

static int call(JitcoreSessionRef s, JitcoreDylibRef d, const char *name)
{
    uint64_t addr = 0;
    if (!CHECK_OK(JitcoreSessionLookup(s, d, &addr, name)) || addr == 0)
        return -1;
    return ((int_fn)(uintptr_t)addr)();
}

int main(void)
{
    JitcoreSessionRef s = NULL;
    CHECK_OK(JitcoreCreateSession(&s, NULL));
    JitcoreDylibRef main_jd = JitcoreSessionGetMainDylib(s);
    CHECK_MSG(main_jd != NULL, "main dylib");
    CHECK_MSG(JitcoreSessionGetDylibByName(s, "main") == main_jd, "main is found by name");

    JitcoreDylibRef libA = NULL, libB = NULL;
    CHECK_OK(JitcoreSessionCreateDylib(s, &libA, "libA"));
    CHECK_OK(JitcoreSessionCreateDylib(s, &libB, "libB"));
    CHECK_MSG(JitcoreSessionGetDylibByName(s, "libA") == libA, "libA by name");
    CHECK_MSG(JitcoreSessionGetDylibByName(s, "nope") == NULL, "unknown name gives NULL");
    JitcoreDylibRef dup = NULL;
    CHECK_ERR(JitcoreSessionCreateDylib(s, &dup, "libA"), JITCORE_ERROR_INVALID_ARGUMENT, "libA");

    /* libA: a1 defines foo (1) and a2 defines bar; libB: b1 defines foo (2), baz. */
    CHECK_OK(JitcoreDylibAddModule(libA, ir("a1", "define i32 @foo() { ret i32 1 }\n"), NULL));
    CHECK_OK(JitcoreDylibAddModule(libA, ir("a2", "define i32 @bar() { ret i32 10 }\n"
                                               "define hidden i32 @secretA() { ret i32 7 }\n"), NULL));
    /* Rule: a second definition of foo in the same dylib is an error naming it. */
    JitcoreModuleRef a3 = ir("a3", "define i32 @foo() { ret i32 3 }\n");
    CHECK_ERR(JitcoreDylibAddModule(libA, a3, NULL), JITCORE_ERROR_DUPLICATE_DEFINITION, "foo");
    JitcoreDisposeModule(a3); /* still ours after a failed add */

    /* Rule: the same symbol in another dylib is fine. */
    CHECK_OK(JitcoreDylibAddModule(libB, ir("b1", "define i32 @foo() { ret i32 2 }\n"
                                               "define i32 @baz() { ret i32 20 }\n"), NULL));

    /* main links against libA, then libB. */
    JitcoreDylibRef order[2] = {libA, libB};
    CHECK_OK(JitcoreDylibSetLinkOrder(main_jd, order, 2));
    CHECK_OK(JitcoreDylibAddModule(main_jd, ir("main.ll",
        "declare i32 @foo()\ndeclare i32 @bar()\ndeclare i32 @baz()\n"
        "define i32 @use_foo() { %r = call i32 @foo()\n ret i32 %r }\n"
        "define i32 @use_all() { %a = call i32 @foo()\n %b = call i32 @bar()\n %c = call i32 @baz()\n"
        "  %s = add i32 %a, %b\n %t = add i32 %s, %c\n ret i32 %t }\n"), NULL));

    /* Rule: main's reference to foo binds to libA's definition (first in link order). */
    CHECK_MSG(call(s, main_jd, "use_foo") == 1, "main's foo is libA's");
    CHECK_MSG(call(s, main_jd, "use_all") == 31, "foo+bar+baz = 1+10+20 across the link order");
    /* A host lookup from main walks the link order the same way. */
    CHECK_MSG(call(s, main_jd, "foo") == 1, "lookup of foo from main finds libA's");
    CHECK_MSG(call(s, main_jd, "baz") == 20, "lookup of baz from main finds libB's");
    /* Each dylib sees its own definition. */
    CHECK_MSG(call(s, libB, "foo") == 2, "libB's own foo");
    CHECK_MSG(call(s, libA, "foo") == 1, "libA's own foo");

    /* Hidden symbols of a linked dylib are not visible; libA sees it itself. */
    uint64_t addr = 0;
    CHECK_ERR(JitcoreSessionLookup(s, main_jd, &addr, "secretA"), JITCORE_ERROR_SYMBOL_NOT_FOUND, "secretA");
    CHECK_MSG(call(s, libA, "secretA") == 7, "libA sees its hidden symbol");
    /* Not transitive: libB links nothing, so bar (libA's) is not visible from libB. */
    CHECK_ERR(JitcoreSessionLookup(s, libB, &addr, "bar"), JITCORE_ERROR_SYMBOL_NOT_FOUND, "bar");

    /* Own definition first: a dylib "app" linking [libA] that defines foo itself. */
    JitcoreDylibRef app = NULL;
    CHECK_OK(JitcoreSessionCreateDylib(s, &app, "app"));
    JitcoreDylibRef app_order[1] = {libA};
    CHECK_OK(JitcoreDylibSetLinkOrder(app, app_order, 1));
    CHECK_OK(JitcoreDylibAddModule(app, ir("app.ll",
        "define i32 @foo() { ret i32 100 }\n"
        "declare i32 @bar()\n"
        "define i32 @app_entry() { %a = call i32 @foo()\n %b = call i32 @bar()\n %r = add i32 %a, %b\n ret i32 %r }\n"), NULL));
    CHECK_MSG(call(s, app, "app_entry") == 110, "app's own foo (100) + libA's bar (10)");

    /* Order matters: a dylib linking [libB, libA] gets libB's foo. */
    JitcoreDylibRef rev = NULL;
    CHECK_OK(JitcoreSessionCreateDylib(s, &rev, "rev"));
    JitcoreDylibRef rev_order[2] = {libB, libA};
    CHECK_OK(JitcoreDylibSetLinkOrder(rev, rev_order, 2));
    CHECK_OK(JitcoreDylibAddModule(rev, ir("rev.ll",
        "declare i32 @foo()\ndefine i32 @rev_foo() { %r = call i32 @foo()\n ret i32 %r }\n"), NULL));
    CHECK_MSG(call(s, rev, "rev_foo") == 2, "[libB, libA] binds foo to libB's");

    /* Weak definitions within one dylib: the strong one wins, a second weak is dropped. */
    JitcoreDylibRef w = NULL;
    CHECK_OK(JitcoreSessionCreateDylib(s, &w, "weak"));
    CHECK_OK(JitcoreDylibAddModule(w, ir("w1", "define weak i32 @dflt() { ret i32 1 }\n"), NULL));
    CHECK_OK(JitcoreDylibAddModule(w, ir("w2", "define weak i32 @dflt() { ret i32 2 }\n"
                                            "define i32 @strong() { ret i32 5 }\n"), NULL));
    CHECK_OK(JitcoreDylibAddModule(w, ir("w3", "define i32 @strong2() { ret i32 6 }\n"
                                            "define linkonce_odr i32 @inl() { ret i32 9 }\n"
                                            "define i32 @use_dflt() { %r = call i32 @dflt()\n ret i32 %r }\n"
                                            "declare i32 @dflt()\n"), NULL));
    CHECK_MSG(call(s, w, "dflt") == 1, "first weak definition wins");
    CHECK_MSG(call(s, w, "use_dflt") == 1, "references bind to the chosen weak definition");
    CHECK_MSG(call(s, w, "inl") == 9, "linkonce_odr definition is kept");
    CHECK_OK(JitcoreDylibAddModule(w, ir("w4", "define i32 @over() { ret i32 3 }\ndefine weak i32 @strong() { ret i32 0 }\n"), NULL));
    CHECK_MSG(call(s, w, "strong") == 5, "a weak definition does not override a strong one");

    /* Removal in a linked dylib: what the link order supplied is looked up
       again, so new code binds to the new definition. */
    JitcoreDylibRef libX = NULL, user = NULL;
    CHECK_OK(JitcoreSessionCreateDylib(s, &libX, "libX"));
    CHECK_OK(JitcoreSessionCreateDylib(s, &user, "user"));
    JitcoreDylibRef user_order[1] = {libX};
    CHECK_OK(JitcoreDylibSetLinkOrder(user, user_order, 1));
    JitcoreResourceTrackerRef rtx = JitcoreDylibCreateResourceTracker(libX);
    CHECK_OK(JitcoreDylibAddModule(libX, ir("x1", "define i32 @val() { ret i32 1 }\n"), rtx));
    CHECK_OK(JitcoreDylibAddModule(user, ir("u1",
        "declare i32 @val()\ndefine i32 @get1() { %r = call i32 @val()\n ret i32 %r }\n"), NULL));
    CHECK_MSG(call(s, user, "get1") == 1, "user binds val to libX's first definition");
    CHECK_OK(JitcoreResourceTrackerRemove(rtx));
    JitcoreDisposeResourceTracker(rtx);
    CHECK_ERR(JitcoreSessionLookup(s, user, &addr, "val"), JITCORE_ERROR_SYMBOL_NOT_FOUND, "val");
    CHECK_OK(JitcoreDylibAddModule(libX, ir("x2", "define i32 @val() { ret i32 2 }\n"), NULL));
    CHECK_OK(JitcoreDylibAddModule(user, ir("u2",
        "declare i32 @val()\ndefine i32 @get2() { %r = call i32 @val()\n ret i32 %r }\n"), NULL));
    CHECK_MSG(call(s, user, "get2") == 2, "new code binds val to libX's new definition");
    CHECK_MSG(call(s, user, "val") == 2, "a lookup from user finds libX's new val");
    /* A dylib's own later definition wins over what its link order supplied. */
    CHECK_OK(JitcoreDylibAddModule(user, ir("u3",
        "define i32 @val() { ret i32 3 }\n"
        "define i32 @get3() { %r = call i32 @val()\n ret i32 %r }\n"), NULL));
    CHECK_MSG(call(s, user, "get3") == 3, "user's own val now");
    CHECK_MSG(call(s, user, "val") == 3, "a lookup from user finds its own val");

    /* Link order errors. */
    CHECK_ERR(JitcoreDylibSetLinkOrder(NULL, order, 2), JITCORE_ERROR_INVALID_ARGUMENT, "dylib");
    CHECK_ERR(JitcoreDylibSetLinkOrder(main_jd, NULL, 2), JITCORE_ERROR_INVALID_ARGUMENT, "Order");

    JitcoreDisposeSession(s);
    return tu_finish("test_session_linkorder");
}
