//! `zig build test`: the binding against the installed libjitcore, one test
//! (or a few) per wrapped area: errors and diagnostics, modules and keys,
//! targets, the engine, sessions, dylibs and link order, symbol sources,
//! materializers, trackers, object cache callbacks, the disk cache,
//! statistics, and the handle rules (double deinit, use after deinit).
const std = @import("std");
const jc = @import("jitcore");
const testing = std.testing;
const gpa = testing.allocator;

fn contains(haystack: []const u8, needle: []const u8) bool {
    return std.mem.find(u8, haystack, needle) != null;
}

fn expectContains(haystack: []const u8, needle: []const u8) !void {
    if (!contains(haystack, needle)) {
        std.debug.print("expected \"{s}\" in \"{s}\"\n", .{ needle, haystack });
        return error.TestExpectedContains;
    }
}

/// The last error of this thread has `code` and mentions every one of `parts`.
fn expectDiag(code: jc.ErrorCode, parts: []const []const u8) !void {
    const d = jc.lastError();
    if (d.code != code) {
        std.debug.print("expected code {s}, last error is {f}\n", .{ jc.codeName(code), d });
        return error.TestUnexpectedCode;
    }
    for (parts) |p| try expectContains(d.message, p);
}

const sum_ir =
    \\define i32 @sum(i32 %a, i32 %b) {
    \\  %r = add i32 %a, %b
    \\  ret i32 %r
    \\}
    \\
;

const SumFn = fn (i32, i32) callconv(.c) i32;
const IntFn = fn () callconv(.c) i32;

export fn jitcore_zig_test_host_triple(x: i32) callconv(.c) i32 {
    return 3 * x;
}

/// A directory under $TMPDIR (or /tmp), removed by deinit.
const TmpDir = struct {
    buf: [256]u8 = undefined,
    path: [:0]const u8 = "",

    fn init(t: *TmpDir) !void {
        const base = if (std.c.getenv("TMPDIR")) |p| std.mem.span(p) else "/tmp";
        var rnd: [6]u8 = undefined;
        testing.io.random(&rnd);
        t.path = try std.mem.printSentinel(&t.buf, "{s}/jitcore-zig-test-{x}", .{ base, rnd }, 0);
        try std.Io.Dir.createDirAbsolute(testing.io, t.path, .default_dir);
    }
    fn join(t: *const TmpDir, out: []u8, name: []const u8) ![:0]const u8 {
        return std.mem.printSentinel(out, "{s}/{s}", .{ t.path, name }, 0);
    }
    fn deinit(t: *TmpDir) void {
        std.Io.Dir.cwd().deleteTree(testing.io, t.path) catch {};
    }
};

fn writeFile(path: []const u8, data: []const u8) !void {
    try std.Io.Dir.cwd().writeFile(testing.io, .{ .sub_path = path, .data = data });
}

/// An object cache that remembers what it was told, keyed by module key,
/// and answers from it.
const MapCache = struct {
    map: std.AutoHashMapUnmanaged([jc.key_size]u8, []u8) = .empty,
    notified: usize = 0,
    asked: usize = 0,
    served: usize = 0,
    key_errors: usize = 0,
    last_key: ?jc.Key = null,
    serve: bool = true,

    pub fn notify(self: *MapCache, m: jc.Module, object: []const u8) !void {
        self.notified += 1;
        const k = m.key(null) catch {
            self.key_errors += 1;
            return;
        };
        self.last_key = k;
        const copy = try gpa.dupe(u8, object);
        errdefer gpa.free(copy);
        const gop = try self.map.getOrPut(gpa, k.bytes);
        if (gop.found_existing) gpa.free(gop.value_ptr.*);
        gop.value_ptr.* = copy;
    }
    pub fn getBuffer(self: *MapCache, m: jc.Module) ?[]const u8 {
        self.asked += 1;
        if (!self.serve) return null;
        const k = m.key(null) catch {
            self.key_errors += 1;
            return null;
        };
        const bytes = self.map.get(k.bytes) orelse return null;
        self.served += 1;
        return bytes;
    }
    fn deinit(self: *MapCache) void {
        var it = self.map.valueIterator();
        while (it.next()) |v| gpa.free(v.*);
        self.map.deinit(gpa);
    }
};

/// Records what the error reporter heard.
const Reports = struct {
    count: std.atomic.Value(u32) = .init(0),
    last_code: jc.ErrorCode = .success,
    buf: [512]u8 = undefined,
    len: usize = 0,

    pub fn report(self: *Reports, code: jc.ErrorCode, text: []const u8) void {
        _ = self.count.fetchAdd(1, .monotonic);
        self.last_code = code;
        self.len = @min(text.len, self.buf.len);
        @memcpy(self.buf[0..self.len], text[0..self.len]);
    }
    fn message(self: *const Reports) []const u8 {
        return self.buf[0..self.len];
    }
};

/// The object jitcore compiles for `ir` (through a session's notify callback).
fn objectOf(name: [:0]const u8, ir: []const u8, symbol: [:0]const u8, extra: []const jc.Symbol) ![]u8 {
    var s = try jc.Session.init(.{});
    defer s.deinit();
    var cache: MapCache = .{ .serve = false };
    defer cache.deinit();
    try s.setObjectCache(.init(&cache));
    const d = try s.mainDylib();
    if (extra.len != 0) try d.defineAbsoluteSymbols(extra);
    var m = try jc.Module.parseIR(name, ir);
    defer m.deinit();
    try d.addModule(&m, null);
    _ = try s.lookup(d, symbol);
    try testing.expectEqual(@as(usize, 1), cache.notified);
    var it = cache.map.valueIterator();
    return gpa.dupe(u8, it.next().?.*);
}

// ---------------------------------------------------------------------------
// Version, errors, diagnostics
// ---------------------------------------------------------------------------

test "version: the library matches the header it was built with" {
    const v = jc.version();
    try testing.expectEqual(jc.header_version.major, v.major);
    try testing.expectEqual(jc.header_version.minor, v.minor);
    try testing.expectEqual(jc.header_version.patch, v.patch);
    var buf: [32]u8 = undefined;
    const want = try std.fmt.bufPrint(&buf, "{d}.{d}.{d}", .{ v.major, v.minor, v.patch });
    try testing.expectEqualStrings(want, jc.versionString());
    try jc.checkJITExecution();
}

test "errors: every code maps to its own error and back" {
    var seen: [16]bool = @splat(false);
    for (1..16) |i| {
        const code: jc.ErrorCode = @fromBackingInt(@intCast(i));
        const err = jc.errorFromCode(code);
        try testing.expectEqual(code, jc.codeFromError(err).?);
        seen[i] = true;
        // jitcore makes the same code from a created error.
        var msg_buf: [64]u8 = undefined;
        const msg = try std.mem.printSentinel(&msg_buf, "made with code {d}", .{i}, 0);
        try testing.expectEqual(err, jc.fail(code, msg));
        try expectDiag(code, &.{msg});
    }
    try testing.expectEqual(error.Internal, jc.errorFromCode(@fromBackingInt(@intCast(999))));
    try testing.expectEqual(@as(?jc.ErrorCode, null), jc.codeFromError(error.OutOfMemory));
    try testing.expectEqual(jc.ErrorCode.invalid_argument, jc.codeFromError(error.UseAfterDeinit).?);
    jc.clearLastError();
    try testing.expectEqual(jc.ErrorCode.success, jc.lastError().code);
    try testing.expectEqualStrings("", jc.lastError().message);
}

test "errors: bad IR is InvalidIr with the module, line and column" {
    jc.clearLastError();
    try testing.expectError(error.InvalidIr, jc.Module.parseIR("broken_mod", "define i32 @f() {\n  ret i64 0\n}\n"));
    try expectDiag(.invalid_ir, &.{ "broken_mod", "2:" });
    // A success leaves the diagnostic alone; the next failure replaces it.
    var m = try jc.Module.parseIR("ok", sum_ir);
    m.deinit();
    try expectDiag(.invalid_ir, &.{"broken_mod"});
    try testing.expectError(error.InvalidIr, jc.Module.parseIR("other_mod", "garbage"));
    try expectDiag(.invalid_ir, &.{"other_mod"});
    // The diagnostic formats as "message (code N, NAME)".
    var buf: [512]u8 = undefined;
    const text = try std.fmt.bufPrint(&buf, "{f}", .{jc.lastError()});
    try expectContains(text, "(code 2, INVALID_IR)");
    jc.clearLastError();
}

fn failOnOtherThread(out: *jc.ErrorCode) void {
    _ = jc.Module.parseIR("thread_mod", "nonsense") catch {};
    out.* = jc.lastError().code;
    jc.clearLastError();
}

test "errors: the diagnostic is per thread" {
    jc.clearLastError();
    try testing.expectEqual(error.SymbolNotFound, jc.fail(.symbol_not_found, "mine"));
    var other: jc.ErrorCode = .success;
    const t = try std.Thread.spawn(.{}, failOnOtherThread, .{&other});
    t.join();
    try testing.expectEqual(jc.ErrorCode.invalid_ir, other);
    try expectDiag(.symbol_not_found, &.{"mine"});
    jc.clearLastError();
}

// ---------------------------------------------------------------------------
// Modules, targets, keys
// ---------------------------------------------------------------------------

test "module: name, keys, double deinit, use after deinit" {
    var tm = try jc.TargetMachine.initHost(.o2);
    defer tm.deinit();
    try expectContains(try tm.triple(), "linux");

    var m = try jc.Module.parseIR("keyed", sum_ir);
    defer m.deinit();
    try testing.expectEqualStrings("keyed", try m.name());
    const k = try m.key(&tm);
    try testing.expectEqual(@as(usize, 64), k.hex().len);
    const k_default = try m.keyForPipeline(&tm, .default);
    try testing.expectEqualSlices(u8, &k.bytes, &k_default.bytes);
    const k_o2 = try m.keyForPipeline(&tm, .{ .custom = "default<O2>" });
    try testing.expectEqualSlices(u8, &k.bytes, &k_o2.bytes);
    const k_none = try m.keyForPipeline(&tm, .none);
    try testing.expect(!std.mem.eql(u8, &k.bytes, &k_none.bytes));
    // The hex form spells the bytes.
    var hex_buf: [64]u8 = undefined;
    const hex = std.fmt.bufPrint(&hex_buf, "{x}", .{&k.bytes}) catch unreachable;
    try testing.expectEqualStrings(hex, k.hex());
    // A NULL target machine outside a cache callback is refused.
    try testing.expectError(error.InvalidArgument, m.key(null));
    try expectDiag(.invalid_argument, &.{});

    // Same bitcode (name included), same key; another name, another key.
    var m2 = try jc.Module.parseIR("keyed", sum_ir);
    defer m2.deinit();
    try testing.expectEqualSlices(u8, &k.bytes, &(try m2.key(&tm)).bytes);
    var m3 = try jc.Module.parseIR("other", sum_ir);
    defer m3.deinit();
    try testing.expect(!std.mem.eql(u8, &k.bytes, &(try m3.key(&tm)).bytes));

    m.deinit();
    m.deinit(); // twice: nothing happens
    try testing.expectError(error.UseAfterDeinit, m.name());
    try expectDiag(.invalid_argument, &.{ "module", "after deinit" });
    try testing.expectError(error.UseAfterDeinit, m.key(&tm));

    tm.deinit();
    tm.deinit();
    try testing.expectError(error.UseAfterDeinit, tm.triple());
    try testing.expectError(error.UseAfterDeinit, m2.key(&tm));
    try testing.expectError(error.UseAfterDeinit, jc.Engine.init(&tm, null));
    jc.clearLastError();
}

test "module: untrusted IR parses in a child; bad IR is still InvalidIr" {
    var m = try jc.Module.parseUntrustedIR("untrusted", sum_ir);
    defer m.deinit();
    try testing.expectEqualStrings("untrusted", try m.name());
    try testing.expectError(error.InvalidIr, jc.Module.parseUntrustedIR("bad_untrusted", "define"));
    try expectDiag(.invalid_ir, &.{"bad_untrusted"});
    jc.clearLastError();
}

// ---------------------------------------------------------------------------
// Engine
// ---------------------------------------------------------------------------

const engine_ir =
    \\@counter = global i64 7
    \\@ctor_ran = global i32 0
    \\@llvm.global_ctors = appending global [1 x { i32, ptr, ptr }] [{ i32, ptr, ptr } { i32 65535, ptr @init, ptr null }]
    \\declare i32 @jitcore_zig_host_fn(i32)
    \\define internal void @init() {
    \\  store i32 1, ptr @ctor_ran
    \\  ret void
    \\}
    \\define i32 @twice(i32 %x) {
    \\  %r = mul i32 %x, 2
    \\  ret i32 %r
    \\}
    \\define i32 @call_host(i32 %x) {
    \\  %r = call i32 @jitcore_zig_host_fn(i32 %x)
    \\  ret i32 %r
    \\}
    \\
;

test "engine: add, look up, call, globals, mappings, constructors, remove" {
    var tm = try jc.TargetMachine.initHost(.o2);
    defer tm.deinit();
    var m = try jc.Module.parseIR("engine_mod", engine_ir);
    defer m.deinit();
    var e = try jc.Engine.init(&tm, &m);
    defer e.deinit();

    try e.addGlobalMapping("jitcore_zig_host_fn", @intFromPtr(&jitcore_zig_test_host_triple));
    try testing.expectError(error.DuplicateDefinition, e.addGlobalMapping("jitcore_zig_host_fn", 1));
    try expectDiag(.duplicate_definition, &.{"jitcore_zig_host_fn"});

    const twice = try e.function(fn (i32) callconv(.c) i32, "twice");
    try testing.expectEqual(@as(i32, 42), twice(21));
    const call_host = try e.function(fn (i32) callconv(.c) i32, "call_host");
    try testing.expectEqual(@as(i32, 21), call_host(7));
    const counter: *i64 = @ptrFromInt(try e.globalAddress("counter"));
    try testing.expectEqual(@as(i64, 7), counter.*);

    const ctor_ran: *i32 = @ptrFromInt(try e.globalAddress("ctor_ran"));
    try testing.expectEqual(@as(i32, 0), ctor_ran.*);
    try e.runStaticConstructors();
    try testing.expectEqual(@as(i32, 1), ctor_ran.*);
    try e.runStaticDestructors();

    // Adding the same module again, or another defining `twice`, fails.
    try testing.expectError(error.ModuleAlreadyAdded, e.addModule(&m));
    var dup = try jc.Module.parseIR("dup_mod", "define i32 @twice(i32 %x) { ret i32 %x }\n");
    defer dup.deinit();
    try testing.expectError(error.DuplicateDefinition, e.addModule(&dup));
    try expectDiag(.duplicate_definition, &.{"twice"});

    try testing.expectError(error.SymbolNotFound, e.functionAddress("no_such_fn"));
    try expectDiag(.symbol_not_found, &.{"no_such_fn"});

    const st = try e.statistics();
    try testing.expectEqual(@as(u64, 1), st.ModulesCompiled);
    try testing.expect(st.ObjectBytesEmitted > 0);

    // Removing gives the module back: its symbols are gone; adding it again works.
    try e.removeModule(&m);
    try testing.expectError(error.SymbolNotFound, e.functionAddress("twice"));
    try testing.expectError(error.ModuleNotFound, e.removeModule(&m));
    try e.addModule(&m);
    try e.finalizeObject();
    try testing.expectEqual(@as(i32, 10), (try e.function(fn (i32) callconv(.c) i32, "twice"))(5));

    // Target data.
    const td = try e.targetData();
    try testing.expectEqual(@as(u32, 8), td.pointerSize());
    try testing.expectEqual(@as(u64, 16), try td.abiSize("{i64, i32}"));
    try testing.expectEqual(@as(u64, 8), try td.abiAlignment("{i64, i32}"));
    try testing.expectError(error.InvalidArgument, td.abiSize("not a type"));
    jc.clearLastError();
}

test "engine: unresolved symbols, pipelines, object files and buffers" {
    var tm = try jc.TargetMachine.initHost(.o1);
    defer tm.deinit();
    var e = try jc.Engine.init(&tm, null);
    defer e.deinit();

    try testing.expectError(error.InvalidArgument, e.setIRPipeline(.{ .custom = "no-such-pass" }));
    try expectDiag(.invalid_argument, &.{"no-such-pass"});
    try e.setIRPipeline(.{ .custom = "function(instcombine)" });
    try e.setIRPipeline(.none);
    try e.setIRPipeline(.default);

    var m = try jc.Module.parseIR("needs_missing", "declare i32 @zig_nobody_defines()\ndefine i32 @use_missing() {\n  %r = call i32 @zig_nobody_defines()\n  ret i32 %r\n}\n");
    defer m.deinit();
    try e.addModule(&m);
    try testing.expectError(error.UnresolvedSymbol, e.functionAddress("use_missing"));
    try expectDiag(.unresolved_symbol, &.{"zig_nobody_defines"});
    try testing.expectError(error.UnresolvedSymbol, e.finalizeObject());
    // Providing the symbol and retrying works.
    try e.addGlobalMapping("zig_nobody_defines", @intFromPtr(&retFive));
    try testing.expectEqual(@as(i32, 5), (try e.function(IntFn, "use_missing"))());

    // Objects: garbage and a missing file are refused, a real object links.
    try testing.expectError(error.InvalidObject, e.addObjectBuffer("certainly not ELF"));
    try testing.expectError(error.Io, e.addObjectFile("/nonexistent/jitcore-zig.o"));
    try expectDiag(.io, &.{"/nonexistent/jitcore-zig.o"});
    const obj = try objectOf("sum_obj", sum_ir, "sum", &.{});
    defer gpa.free(obj);
    try e.addObjectBuffer(obj);
    try testing.expectEqual(@as(i32, -3), (try e.function(SumFn, "sum"))(2, -5));

    var tmp: TmpDir = .{};
    try tmp.init();
    defer tmp.deinit();
    var pbuf: [300]u8 = undefined;
    const path = try tmp.join(&pbuf, "twice.o");
    const obj2 = try objectOf("twice_obj", "define i32 @twice_o(i32 %x) {\n  %r = shl i32 %x, 1\n  ret i32 %r\n}\n", "twice_o", &.{});
    defer gpa.free(obj2);
    try writeFile(path, obj2);
    try e.addObjectFile(path);
    try testing.expectEqual(@as(i32, 8), (try e.function(fn (i32) callconv(.c) i32, "twice_o"))(4));
    jc.clearLastError();
}

fn retFive() callconv(.c) i32 {
    return 5;
}

test "engine: object cache callbacks, a rejected entry heard by the reporter, disk cache" {
    var tm = try jc.TargetMachine.initHost(.o2);
    defer tm.deinit();
    var cache: MapCache = .{};
    defer cache.deinit();
    var reports: Reports = .{};

    {
        var e = try jc.Engine.init(&tm, null);
        defer e.deinit();
        try e.setObjectCache(.init(&cache));
        try e.setErrorReporter(.init(&reports));
        var m = try jc.Module.parseIR("cached_sum", sum_ir);
        defer m.deinit();
        try e.addModule(&m);
        try testing.expectEqual(@as(i32, 3), (try e.function(SumFn, "sum"))(1, 2));
        try testing.expectEqual(@as(usize, 1), cache.notified);
        try testing.expectEqual(@as(usize, 0), cache.key_errors);
        // Inside the callback, key(null) is the engine's key: the one for `tm`.
        try testing.expectEqualSlices(u8, &(try m.key(&tm)).bytes, &cache.last_key.?.bytes);
        const st = try e.statistics();
        try testing.expectEqual(@as(u64, 1), st.CacheMisses);
    }
    {
        var e = try jc.Engine.init(&tm, null);
        defer e.deinit();
        try e.setObjectCache(.init(&cache));
        var m = try jc.Module.parseIR("cached_sum", sum_ir);
        defer m.deinit();
        try e.addModule(&m);
        try testing.expectEqual(@as(i32, 7), (try e.function(SumFn, "sum"))(3, 4));
        try testing.expectEqual(@as(usize, 1), cache.notified); // not compiled again
        try testing.expectEqual(@as(usize, 1), cache.served);
        const st = try e.statistics();
        try testing.expectEqual(@as(u64, 1), st.CacheHits);
        try testing.expectEqual(@as(u64, 0), st.ModulesCompiled);
        try e.setObjectCache(null);
    }
    {
        // A cache that serves garbage: ignored, compiled, counted, reported.
        var bad: GarbageCache = .{};
        var e = try jc.Engine.init(&tm, null);
        defer e.deinit();
        try e.setObjectCache(.init(&bad));
        try e.setErrorReporter(.init(&reports));
        var m = try jc.Module.parseIR("garbage_sum", sum_ir);
        defer m.deinit();
        try e.addModule(&m);
        try testing.expectEqual(@as(i32, 9), (try e.function(SumFn, "sum"))(4, 5));
        const st = try e.statistics();
        try testing.expectEqual(@as(u64, 1), st.CacheRejected);
        try testing.expect(reports.count.load(.monotonic) >= 1);
        try testing.expectEqual(jc.ErrorCode.cache, reports.last_code);
        try expectContains(reports.message(), "garbage_sum");
        try e.setErrorReporter(null);
    }
    {
        // The disk cache: the second engine loads from it.
        var tmp: TmpDir = .{};
        try tmp.init();
        defer tmp.deinit();
        var dc = try jc.DiskCache.init(tmp.path, 0);
        defer dc.deinit();
        for (0..2) |round| {
            var e = try jc.Engine.init(&tm, null);
            defer e.deinit();
            try e.setDiskCache(&dc);
            var m = try jc.Module.parseIR("disk_sum", sum_ir);
            defer m.deinit();
            try e.addModule(&m);
            try testing.expectEqual(@as(i32, 11), (try e.function(SumFn, "sum"))(5, 6));
            const st = try e.statistics();
            try testing.expectEqual(@as(u64, round), st.CacheHits);
            try e.setDiskCache(null);
        }
        const ds = try dc.statistics();
        try testing.expectEqual(@as(u64, 1), ds.Hits);
        try testing.expectEqual(@as(u64, 1), ds.Writes);
        try testing.expectEqual(@as(u64, 1), ds.Entries);
    }
}

const GarbageCache = struct {
    pub fn notify(_: *GarbageCache, _: jc.Module, _: []const u8) void {}
    pub fn getBuffer(_: *GarbageCache, _: jc.Module) ?[]const u8 {
        return "this is not an object file";
    }
};

test "engine: double deinit and use after deinit are errors" {
    var tm = try jc.TargetMachine.initHost(.o0);
    defer tm.deinit();
    var e = try jc.Engine.init(&tm, null);
    e.deinit();
    e.deinit();
    try testing.expectError(error.UseAfterDeinit, e.functionAddress("x"));
    try expectDiag(.invalid_argument, &.{"engine"});
    try testing.expectError(error.UseAfterDeinit, e.statistics());
    try testing.expectError(error.UseAfterDeinit, e.setObjectCache(null));
    try testing.expectError(error.UseAfterDeinit, e.setErrorReporter(null));
    try testing.expectError(error.UseAfterDeinit, e.finalizeObject());
    var m = try jc.Module.parseIR("orphan", sum_ir);
    defer m.deinit();
    try testing.expectError(error.UseAfterDeinit, e.addModule(&m));
    // The module stays the caller's: still live.
    try testing.expectEqualStrings("orphan", try m.name());

    // Modules freed with their engine are dead: deinit after is harmless and
    // name() is refused by jitcore.
    var e2 = try jc.Engine.init(&tm, null);
    var m2 = try jc.Module.parseIR("freed_with_engine", sum_ir);
    try e2.addModule(&m2);
    e2.deinit();
    try testing.expectError(error.InvalidArgument, m2.name());
    m2.deinit();
    m2.deinit();
    jc.clearLastError();
}

// ---------------------------------------------------------------------------
// Sessions, dylibs, link order, symbols
// ---------------------------------------------------------------------------

test "session: dylibs, names, link order, absolute symbols, lookupMany" {
    var s = try jc.Session.init(.{ .opt_level = .o1 });
    defer s.deinit();
    const main = try s.mainDylib();
    try testing.expectEqualStrings("main", try main.name());
    const lib_a = try s.createDylib("libA");
    const lib_b = try s.createDylib("libB");
    try testing.expectEqualStrings("libA", try lib_a.name());
    try testing.expectError(error.InvalidArgument, s.createDylib("libA"));
    try expectDiag(.invalid_argument, &.{"libA"});
    try testing.expectEqual(lib_b.handle, (try s.dylibByName("libB")).?.handle);
    try testing.expectEqual(@as(?jc.Dylib, null), try s.dylibByName("libC"));

    // libA and libB both define `which`; main links against B first.
    var ma = try jc.Module.parseIR("a", "define i32 @which() { ret i32 1 }\ndefine i32 @only_a() { ret i32 10 }\n");
    defer ma.deinit();
    var mb = try jc.Module.parseIR("b", "define i32 @which() { ret i32 2 }\n");
    defer mb.deinit();
    try lib_a.addModule(&ma, null);
    try lib_b.addModule(&mb, null);
    try main.setLinkOrder(&.{ lib_b, lib_a });
    var mm = try jc.Module.parseIR("m", "declare i32 @which()\ndeclare i32 @only_a()\ndeclare i32 @host_triple(i32)\n" ++
        "define i32 @main_which() {\n  %r = call i32 @which()\n  ret i32 %r\n}\n" ++
        "define i32 @main_a() {\n  %r = call i32 @only_a()\n  ret i32 %r\n}\n" ++
        "define i32 @main_host(i32 %x) {\n  %r = call i32 @host_triple(i32 %x)\n  ret i32 %r\n}\n");
    defer mm.deinit();
    try main.defineAbsoluteSymbols(&.{jc.Symbol.of("host_triple", &jitcore_zig_test_host_triple)});
    try testing.expectError(error.DuplicateDefinition, main.defineAbsoluteSymbols(&.{jc.Symbol.of("host_triple", &retFive)}));
    try main.addModule(&mm, null);
    try testing.expectEqual(@as(i32, 2), (try s.function(main, IntFn, "main_which"))());
    try testing.expectEqual(@as(i32, 10), (try s.function(main, IntFn, "main_a"))());
    try testing.expectEqual(@as(i32, 12), (try s.function(main, fn (i32) callconv(.c) i32, "main_host"))(4));
    // Each dylib answers for itself.
    try testing.expectEqual(@as(i32, 1), (try s.function(lib_a, IntFn, "which"))());
    try testing.expectError(error.SymbolNotFound, s.lookup(lib_b, "only_a"));
    try expectDiag(.symbol_not_found, &.{ "only_a", "libB" });

    var results: [3]u64 = undefined;
    try s.lookupMany(main, &.{ "main_which", "main_a", "host_triple" }, &results);
    try testing.expectEqual(@intFromPtr(&jitcore_zig_test_host_triple), results[2]);
    try testing.expectEqual(try s.lookup(main, "main_a"), results[1]);
    try testing.expectError(error.InvalidArgument, s.lookupMany(main, &.{"main_a"}, &results));
    try testing.expectError(error.SymbolNotFound, s.lookupMany(main, &.{ "main_a", "nope_zig" }, results[0..2]));

    const st = try s.statistics();
    try testing.expectEqual(@as(u64, 3), st.ModulesCompiled);
    jc.clearLastError();
}

const OnlyNames = struct {
    allowed: []const []const u8,
    asked: std.atomic.Value(u32) = .init(0),
    pub fn allow(self: *OnlyNames, name: [:0]const u8) bool {
        _ = self.asked.fetchAdd(1, .monotonic);
        for (self.allowed) |a| if (std.mem.eql(u8, a, name)) return true;
        return false;
    }
};

test "session: process and library symbols with filters" {
    var s = try jc.Session.init(.{});
    defer s.deinit();
    const d = try s.createDylib("proc");
    var filter: OnlyNames = .{ .allowed = &.{"labs"} };
    try d.addProcessSymbols(.init(&filter));
    var m = try jc.Module.parseIR("use_labs", "declare i64 @labs(i64)\ndefine i64 @my_labs(i64 %x) {\n  %r = call i64 @labs(i64 %x) #0\n  ret i64 %r\n}\nattributes #0 = { nobuiltin }\n");
    defer m.deinit();
    try d.addModule(&m, null);
    try testing.expectEqual(@as(i64, 9), (try s.function(d, fn (i64) callconv(.c) i64, "my_labs"))(-9));
    try testing.expect(filter.asked.load(.monotonic) >= 1);
    try testing.expectError(error.SymbolNotFound, s.lookup(d, "strlen"));

    // A dylib without the process source does not see libc.
    const bare = try s.createDylib("bare");
    try testing.expectError(error.SymbolNotFound, s.lookup(bare, "labs"));

    const lib = try s.createDylib("mathlib");
    try testing.expectError(error.Io, lib.addLibrarySymbols("/nonexistent/libzig.so", null));
    try expectDiag(.io, &.{"/nonexistent/libzig.so"});
    const candidates = [_][:0]const u8{
        "/lib/x86_64-linux-gnu/libm.so.6",  "/usr/lib/x86_64-linux-gnu/libm.so.6",
        "/lib/aarch64-linux-gnu/libm.so.6", "/usr/lib/aarch64-linux-gnu/libm.so.6",
        "/lib64/libm.so.6",                 "/usr/lib64/libm.so.6",
    };
    var libm: ?[:0]const u8 = null;
    for (candidates) |p| {
        std.Io.Dir.cwd().access(testing.io, p, .{}) catch continue;
        libm = p;
        break;
    }
    const path = libm orelse return error.SkipZigTest;
    var cos_only: OnlyNames = .{ .allowed = &.{"cos"} };
    try lib.addLibrarySymbols(path, .init(&cos_only));
    const cos = try s.function(lib, fn (f64) callconv(.c) f64, "cos");
    try testing.expectEqual(@as(f64, 1.0), cos(0.0));
    try testing.expectError(error.SymbolNotFound, s.lookup(lib, "sin"));
    // All symbols with a null filter.
    const lib2 = try s.createDylib("mathlib2");
    try lib2.addLibrarySymbols(path, null);
    _ = try s.lookup(lib2, "sin");
    jc.clearLastError();
}

fn putField(dst: []u8, text: []const u8) void {
    @memset(dst, ' ');
    @memcpy(dst[0..text.len], text);
}

fn arHeader(out: *std.ArrayList(u8), name: []const u8, size: usize) !void {
    var h: [60]u8 = undefined;
    var num: [16]u8 = undefined;
    putField(h[0..16], name);
    putField(h[16..28], "0");
    putField(h[28..34], "0");
    putField(h[34..40], "0");
    putField(h[40..48], "644");
    putField(h[48..58], try std.fmt.bufPrint(&num, "{d}", .{size}));
    h[58] = '`';
    h[59] = '\n';
    try out.appendSlice(gpa, &h);
}

/// A GNU ar archive with a symbol table naming `sym` in the only member.
fn archiveOf(member: []const u8, object: []const u8, sym: []const u8) ![]u8 {
    var out: std.ArrayList(u8) = .empty;
    errdefer out.deinit(gpa);
    const symtab_len = 4 + 4 + sym.len + 1;
    const symtab_padded = symtab_len + (symtab_len & 1);
    const off1: u32 = @intCast(8 + 60 + symtab_padded);
    try out.appendSlice(gpa, "!<arch>\n");
    try arHeader(&out, "/", symtab_len);
    var be: [4]u8 = undefined;
    std.mem.writeInt(u32, &be, 1, .big);
    try out.appendSlice(gpa, &be);
    std.mem.writeInt(u32, &be, off1, .big);
    try out.appendSlice(gpa, &be);
    try out.appendSlice(gpa, sym);
    try out.append(gpa, 0);
    if (symtab_len & 1 == 1) try out.append(gpa, '\n');
    try arHeader(&out, member, object.len);
    try out.appendSlice(gpa, object);
    if (object.len & 1 == 1) try out.append(gpa, '\n');
    return out.toOwnedSlice(gpa);
}

test "session: static archives" {
    const obj = try objectOf("sum_member", sum_ir, "sum", &.{});
    defer gpa.free(obj);
    const ar = try archiveOf("sum.o/", obj, "sum");
    defer gpa.free(ar);
    var tmp: TmpDir = .{};
    try tmp.init();
    defer tmp.deinit();
    var b1: [300]u8 = undefined;
    var b2: [300]u8 = undefined;
    var b3: [300]u8 = undefined;
    const ar_path = try tmp.join(&b1, "libsum.a");
    const junk_path = try tmp.join(&b2, "notanarchive.a");
    const missing_path = try tmp.join(&b3, "missing.a");
    try writeFile(ar_path, ar);
    try writeFile(junk_path, "this is not an archive\n");

    var s = try jc.Session.init(.{});
    defer s.deinit();
    const d = try s.createDylib("app");
    try testing.expectError(error.InvalidObject, d.addArchive(junk_path));
    try expectDiag(.invalid_object, &.{"notanarchive.a"});
    try testing.expectError(error.Io, d.addArchive(missing_path));
    try expectDiag(.io, &.{"missing.a"});
    try d.addArchive(ar_path);
    var m = try jc.Module.parseIR("uses_sum", "declare i32 @sum(i32, i32)\ndefine i32 @use_sum() {\n  %r = call i32 @sum(i32 40, i32 2)\n  ret i32 %r\n}\n");
    defer m.deinit();
    try d.addModule(&m, null);
    try testing.expectEqual(@as(i32, 42), (try s.function(d, IntFn, "use_sum"))());
    jc.clearLastError();
}

// ---------------------------------------------------------------------------
// Materializers
// ---------------------------------------------------------------------------

const Mat = struct {
    calls: u32 = 0,
    disposed: u32 = 0,
    fail_first: bool = false,
    mode: enum { module, object, bad_ir, own_message } = .module,
    object: []const u8 = "",
    seen: [2][32]u8 = undefined,
    seen_n: usize = 0,

    pub fn materialize(self: *Mat, symbols: []const [*:0]const u8) !jc.Materialized {
        self.calls += 1;
        self.seen_n = 0;
        for (symbols) |sym| {
            const name = std.mem.span(sym);
            if (self.seen_n < self.seen.len) {
                @memset(&self.seen[self.seen_n], 0);
                @memcpy(self.seen[self.seen_n][0..name.len], name);
                self.seen_n += 1;
            }
        }
        if (self.fail_first and self.calls == 1) return error.NotReadyYet;
        return switch (self.mode) {
            .module => .{ .module = try jc.Module.parseIR("materialized", "define i32 @mat_one() { ret i32 1 }\ndefine i32 @mat_two() { ret i32 2 }\n") },
            .object => .{ .object = self.object },
            .bad_ir => .{ .module = try jc.Module.parseIR("mat_bad_ir", "this is not IR") },
            .own_message => return jc.fail(.unresolved_symbol, "mat_own: the host has no such thing"),
        };
    }
    pub fn dispose(self: *Mat) void {
        self.disposed += 1;
    }
};

test "materializers: module, object, errors with their messages, dispose" {
    var s = try jc.Session.init(.{});
    defer s.deinit();
    const d = try s.mainDylib();

    var mat: Mat = .{ .fail_first = true };
    var rt = try d.createResourceTracker();
    defer rt.deinit();
    try d.addMaterializer(&.{ "mat_one", "mat_two" }, .init(&mat), &rt);
    try testing.expectEqual(@as(u32, 0), mat.calls); // nothing until a lookup

    // A Zig error of the callback's own becomes COMPILE naming it; the next
    // lookup asks again.
    try testing.expectError(error.Compile, s.lookup(d, "mat_two"));
    try expectDiag(.compile, &.{"NotReadyYet"});
    try testing.expectEqual(@as(i32, 2), (try s.function(d, IntFn, "mat_two"))());
    try testing.expectEqual(@as(i32, 1), (try s.function(d, IntFn, "mat_one"))());
    try testing.expectEqual(@as(u32, 2), mat.calls);
    try testing.expectEqualStrings("mat_two", std.mem.sliceTo(&mat.seen[0], 0));
    try testing.expectEqual(@as(u32, 0), mat.disposed);
    try rt.remove();
    try testing.expectEqual(@as(u32, 1), mat.disposed);
    try testing.expectError(error.SymbolNotFound, s.lookup(d, "mat_one"));

    // An object.
    const obj = try objectOf("mat_obj", "define i32 @mat_obj_fn() { ret i32 77 }\n", "mat_obj_fn", &.{});
    defer gpa.free(obj);
    var mo: Mat = .{ .mode = .object, .object = obj };
    try d.addMaterializer(&.{"mat_obj_fn"}, .init(&mo), null);
    try testing.expectEqual(@as(i32, 77), (try s.function(d, IntFn, "mat_obj_fn"))());

    // A jitcore error inside the callback keeps its code and message.
    var mb: Mat = .{ .mode = .bad_ir };
    try d.addMaterializer(&.{"mat_bad"}, .init(&mb), null);
    try testing.expectError(error.InvalidIr, s.lookup(d, "mat_bad"));
    try expectDiag(.invalid_ir, &.{"mat_bad_ir"});
    var mm: Mat = .{ .mode = .own_message };
    try d.addMaterializer(&.{"mat_own"}, .init(&mm), null);
    try testing.expectError(error.UnresolvedSymbol, s.lookup(d, "mat_own"));
    try expectDiag(.unresolved_symbol, &.{"the host has no such thing"});

    // Adding fails (a duplicate): dispose runs before the call returns.
    var md: Mat = .{};
    try testing.expectError(error.DuplicateDefinition, d.addMaterializer(&.{"mat_obj_fn"}, .init(&md), null));
    try testing.expectEqual(@as(u32, 1), md.disposed);

    s.deinit();
    try testing.expectEqual(@as(u32, 1), mo.disposed);
    try testing.expectEqual(@as(u32, 1), mb.disposed);
    jc.clearLastError();
}

// ---------------------------------------------------------------------------
// Trackers, statistics, lazy, session caches
// ---------------------------------------------------------------------------

test "trackers: removing frees the code (CodeBytesLive back to 0)" {
    var s = try jc.Session.init(.{});
    defer s.deinit();
    const d = try s.mainDylib();
    const before = (try s.statistics()).CodeBytesLive;
    try testing.expectEqual(@as(u64, 0), before);
    var rt = try d.createResourceTracker();
    defer rt.deinit();
    var m = try jc.Module.parseIR("tracked", sum_ir);
    defer m.deinit();
    try d.addModule(&m, &rt);
    try testing.expectEqual(@as(i32, 5), (try s.function(d, SumFn, "sum"))(2, 3));
    try testing.expect((try s.statistics()).CodeBytesLive > before);
    try rt.remove();
    try testing.expectEqual(before, (try s.statistics()).CodeBytesLive);
    try testing.expectError(error.SymbolNotFound, s.lookup(d, "sum"));
    // The module died with its tracker: jitcore refuses it, deinit is harmless.
    try testing.expectError(error.InvalidArgument, m.name());
    // Adding to a removed tracker fails.
    var m2 = try jc.Module.parseIR("tracked2", sum_ir);
    defer m2.deinit();
    try testing.expectError(error.InvalidArgument, d.addModule(&m2, &rt));
    // Adding it again under a new tracker works.
    var rt2 = try d.createResourceTracker();
    defer rt2.deinit();
    try d.addModule(&m2, &rt2);
    try testing.expectEqual(@as(i32, 9), (try s.function(d, SumFn, "sum"))(4, 5));

    rt2.deinit();
    rt2.deinit();
    try testing.expectError(error.UseAfterDeinit, rt2.remove());
    try testing.expectError(error.UseAfterDeinit, d.addModule(&m2, &rt2));
    jc.clearLastError();
}

test "session: lazy modules compile per function; compile threads" {
    var s = try jc.Session.init(.{ .lazy_by_default = true, .compile_threads = 2 });
    defer s.deinit();
    const d = try s.mainDylib();
    var m = try jc.Module.parseIR("lazy", "define i32 @l1() { ret i32 1 }\ndefine i32 @l2() { ret i32 2 }\ndefine i32 @l3() { ret i32 3 }\n");
    defer m.deinit();
    try d.addModule(&m, null);
    const l2 = try s.function(d, IntFn, "l2");
    try testing.expectEqual(@as(u64, 0), (try s.statistics()).FunctionsCompiled);
    try testing.expectEqual(@as(i32, 2), l2());
    try testing.expectEqual(@as(u64, 1), (try s.statistics()).FunctionsCompiled);

    var m2 = try jc.Module.parseIR("lazy2", "define i32 @k1() { ret i32 11 }\n");
    defer m2.deinit();
    try d.addModuleLazy(&m2, null);
    try testing.expectEqual(@as(i32, 11), (try s.function(d, IntFn, "k1"))());
}

test "session: object cache callbacks (keys from inside), disk cache shared by sessions" {
    var tm = try jc.TargetMachine.initHost(.o2);
    defer tm.deinit();
    var cache: MapCache = .{};
    defer cache.deinit();
    for (0..2) |round| {
        var s = try jc.Session.init(.{});
        defer s.deinit();
        try s.setObjectCache(.init(&cache));
        const d = try s.mainDylib();
        var m = try jc.Module.parseIR("s_cached", sum_ir);
        defer m.deinit();
        const outside = try m.key(&tm);
        try d.addModule(&m, null);
        try testing.expectEqual(@as(i32, 3), (try s.function(d, SumFn, "sum"))(1, 2));
        try testing.expectEqual(@as(usize, 1), cache.notified);
        try testing.expectEqual(@as(usize, 0), cache.key_errors);
        try testing.expectEqualSlices(u8, &outside.bytes, &cache.last_key.?.bytes);
        const st = try s.statistics();
        try testing.expectEqual(@as(u64, round), st.CacheHits);
        try testing.expectEqual(@as(u64, 1 - round), st.ModulesCompiled);
    }
    // Another pipeline, another key: nothing served, compiled again.
    {
        var s = try jc.Session.init(.{});
        defer s.deinit();
        try s.setIRPipeline(.none);
        try s.setObjectCache(.init(&cache));
        const d = try s.mainDylib();
        var m = try jc.Module.parseIR("s_cached", sum_ir);
        defer m.deinit();
        try d.addModule(&m, null);
        _ = try s.lookup(d, "sum");
        try testing.expectEqual(@as(usize, 2), cache.notified);
        try testing.expectEqualSlices(u8, &(try m.keyForPipeline(&tm, .none)).bytes, &cache.last_key.?.bytes);
        try s.setObjectCache(null);
    }

    // The session's reporter hears of a rejected entry, naming the module.
    {
        var bad: GarbageCache = .{};
        var reports: Reports = .{};
        var s = try jc.Session.init(.{});
        defer s.deinit();
        try s.setObjectCache(.init(&bad));
        try s.setErrorReporter(.init(&reports));
        const d = try s.mainDylib();
        var m = try jc.Module.parseIR("s_garbage", sum_ir);
        defer m.deinit();
        try d.addModule(&m, null);
        try testing.expectEqual(@as(i32, 3), (try s.function(d, SumFn, "sum"))(1, 2));
        try testing.expectEqual(@as(u64, 1), (try s.statistics()).CacheRejected);
        try testing.expect(reports.count.load(.monotonic) >= 1);
        try testing.expectEqual(jc.ErrorCode.cache, reports.last_code);
        try expectContains(reports.message(), "s_garbage");
        try s.setErrorReporter(null);
    }

    var tmp: TmpDir = .{};
    try tmp.init();
    defer tmp.deinit();
    for (0..2) |round| {
        var dc = try jc.DiskCache.init(tmp.path, 0);
        var s = try jc.Session.init(.{});
        defer s.deinit();
        try s.setDiskCache(&dc);
        dc.deinit(); // the session keeps it alive
        try testing.expectError(error.UseAfterDeinit, dc.statistics());
        const d = try s.mainDylib();
        var m = try jc.Module.parseIR("s_disk", sum_ir);
        defer m.deinit();
        try d.addModule(&m, null);
        try testing.expectEqual(@as(i32, 3), (try s.function(d, SumFn, "sum"))(1, 2));
        try testing.expectEqual(@as(u64, round), (try s.statistics()).CacheHits);
    }
    jc.clearLastError();
}

test "session: deinit twice; dylibs and trackers of a dead session are refused" {
    var s = try jc.Session.init(.{});
    const d = try s.createDylib("soon_dead");
    var rt = try d.createResourceTracker();
    defer rt.deinit();
    var m = try jc.Module.parseIR("in_dead_session", sum_ir);
    try d.addModule(&m, &rt);
    s.deinit();
    s.deinit();
    try testing.expectError(error.UseAfterDeinit, s.mainDylib());
    try expectDiag(.invalid_argument, &.{"session"});
    try testing.expectError(error.UseAfterDeinit, s.lookup(d, "sum"));
    try testing.expectError(error.UseAfterDeinit, s.statistics());
    try testing.expectError(error.UseAfterDeinit, s.setObjectCache(null));
    try testing.expectError(error.InvalidArgument, d.name());
    var m2 = try jc.Module.parseIR("late", sum_ir);
    defer m2.deinit();
    try testing.expectError(error.InvalidArgument, d.addModule(&m2, null));
    try testing.expectError(error.InvalidArgument, d.createResourceTracker());
    try testing.expectError(error.InvalidArgument, rt.remove());
    // The module was freed with its session.
    try testing.expectError(error.InvalidArgument, m.name());
    m.deinit();

    // Through the raw C API, a bad options size is refused too.
    var raw: jc.c.JitcoreSessionRef = null;
    var opts: jc.c.JitcoreSessionOptions = .{};
    const err = jc.c.JitcoreCreateSessionSized(&raw, &opts, 0);
    try testing.expectEqual(@as(c_uint, jc.c.JITCORE_ERROR_INVALID_ARGUMENT), jc.c.JitcoreGetErrorCode(err));
    jc.c.JitcoreConsumeError(err);
    jc.clearLastError();
}

test "object buffers: copy, release, deinit twice" {
    var b = try jc.ObjectBuffer.initCopy("bytes");
    b.deinit();
    b.deinit();
    try testing.expectError(error.UseAfterDeinit, b.release());
    var b2 = try jc.ObjectBuffer.initCopy("more bytes");
    const h = try b2.release();
    b2.deinit(); // released: nothing to free here
    jc.c.JitcoreDisposeObjectBuffer(h);
    jc.clearLastError();
}

test "statistics: the structs passed are the header's size" {
    try testing.expectEqual(@as(usize, 9 * 8), @sizeOf(jc.Statistics));
    try testing.expectEqual(@as(usize, 8 * 8), @sizeOf(jc.DiskCacheStatistics));
}

test "readme: the five-line start" {
    const jitcore = jc;
    var s = try jitcore.Session.init(.{});
    defer s.deinit();
    var m = try jitcore.Module.parseIR("sum", "define i32 @sum(i32 %a, i32 %b) {\n  %r = add i32 %a, %b\n  ret i32 %r\n}\n");
    defer m.deinit(); // does nothing once the session owns it
    try (try s.mainDylib()).addModule(&m, null);
    const sum = try s.function(try s.mainDylib(), fn (i32, i32) callconv(.c) i32, "sum"); // sum(2, -5) == -3
    try testing.expectEqual(@as(i32, -3), sum(2, -5));
}
