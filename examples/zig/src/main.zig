//! examples/zig: the job every language's example does (issue 11), in Zig;
//! examples/c/job.c is the same program in C (its session half), line for line.
//!
//!   1. parse an IR module: one function calls a host function (host_scale,
//!      a Zig callconv(.c) function registered as an absolute symbol), one
//!      uses libc (strlen);
//!   2. JIT it through a session;
//!   3. with an object cache written here (an in-memory map keyed by the
//!      module key, `module.key(null)` = JitcoreModuleGetKey(M, NULL, ...)
//!      inside the callback), twice: the second run loads from the cache
//!      (notify is not called again, the statistics count a hit);
//!   4. call the jitted functions and check the results;
//!   5. look up a missing symbol: error code and message;
//!   6. remove the code (tracker): CodeBytesLive goes back to 0.
//!
//! Build and run it as any consumer does (bindings/zig/run-tests.sh <prefix>):
//!   PKG_CONFIG_PATH=<prefix>/lib/pkgconfig zig build run
//! Exits 0 when every check passed.
const std = @import("std");
const jitcore = @import("jitcore");

const ir =
    \\declare i64 @host_scale(i64)
    \\declare i64 @strlen(ptr)
    \\define i64 @scaled_plus_one(i64 %x) {
    \\  %s = call i64 @host_scale(i64 %x)
    \\  %r = add i64 %s, 1
    \\  ret i64 %r
    \\}
    \\define i64 @length_of(ptr %str) {
    \\  %n = call i64 @strlen(ptr %str)
    \\  ret i64 %n
    \\}
    \\
;

/// The host function the jitted code calls (not exported: only the absolute
/// symbol makes it reachable).
fn hostScale(x: i64) callconv(.c) i64 {
    return 10 * x;
}

// ---- an object cache in Zig: an in-memory map keyed by the module key ----
const MemoryCache = struct {
    gpa: std.mem.Allocator,
    io: std.Io,
    /// Callbacks run on the thread that compiles (here the main thread; with
    /// compile threads, several at once).
    mutex: std.Io.Mutex = .init,
    objects: std.AutoHashMapUnmanaged([jitcore.key_size]u8, []u8) = .empty,
    notified: u32 = 0,
    asked: u32 = 0,
    served: u32 = 0,

    pub fn notify(c: *MemoryCache, m: jitcore.Module, object: []const u8) !void {
        c.mutex.lockUncancelable(c.io);
        defer c.mutex.unlock(c.io);
        c.notified += 1;
        const key = try m.key(null);
        const copy = try c.gpa.dupe(u8, object);
        errdefer c.gpa.free(copy);
        const slot = try c.objects.getOrPut(c.gpa, key.bytes);
        if (slot.found_existing) c.gpa.free(slot.value_ptr.*);
        slot.value_ptr.* = copy;
    }

    pub fn getBuffer(c: *MemoryCache, m: jitcore.Module) !?[]const u8 {
        c.mutex.lockUncancelable(c.io);
        defer c.mutex.unlock(c.io);
        c.asked += 1;
        const key = try m.key(null);
        const object = c.objects.get(key.bytes) orelse return null; // not cached: compile
        c.served += 1;
        return object; // the binding copies it into a buffer for jitcore
    }

    fn deinit(c: *MemoryCache) void {
        var it = c.objects.valueIterator();
        while (it.next()) |object| c.gpa.free(object.*);
        c.objects.deinit(c.gpa);
    }
};

// ---- checks and output ----
var failures: u32 = 0;
var out_buf: [4096]u8 = undefined;
var out: std.Io.File.Writer = undefined;

fn print(comptime fmt: []const u8, args: anytype) void {
    out.interface.print(fmt, args) catch {};
    out.interface.flush() catch {};
}

fn check(ok: bool, what: []const u8) void {
    if (!ok) {
        failures += 1;
        print("CHECK FAILED: {s}\n", .{what});
    }
}

/// A call that must succeed: print the error and stop otherwise.
fn must(comptime T: type, result: jitcore.Error!T, what: []const u8) T {
    return result catch |err| {
        const d = jitcore.lastError();
        print("job: {s} failed: error {d}: {s} (error.{s})\n", .{ what, @backingInt(d.code), d.message, @errorName(err) });
        std.process.exit(1);
    };
}

/// 4: call the jitted functions and check the results.
fn callAndCheck(label: []const u8, run: u32, scaled_plus_one: *const fn (i64) callconv(.c) i64, length_of: *const fn ([*:0]const u8) callconv(.c) i64) void {
    const a = scaled_plus_one(4);
    const b = length_of("hello, jitcore");
    print("{s} run {d}: scaled_plus_one(4) = {d}, length_of(\"hello, jitcore\") = {d}\n", .{ label, run, a, b });
    check(a == 41, "scaled_plus_one(4) == 41");
    check(b == 14, "length_of(\"hello, jitcore\") == 14");
}

/// 3: the cache counters and the statistics of this run.
fn showCache(label: []const u8, run: u32, c: *const MemoryCache, st: jitcore.Statistics) void {
    print("{s} run {d}: cache notified {d}, asked {d}, served {d}; statistics: compiled {d}, cache hits {d}, misses {d}\n", .{ label, run, c.notified, c.asked, c.served, st.ModulesCompiled, st.CacheHits, st.CacheMisses });
    check(c.notified == 1, "notify called once in all (not again on the second run)");
    check(st.ModulesCompiled == @as(u64, if (run == 1) 1 else 0), "compiled on the first run only");
    check(st.CacheHits == @as(u64, if (run == 1) 0 else 1), "a cache hit on the second run");
}

/// 5: a missing symbol gives SymbolNotFound and a message naming it.
fn showMissing(label: []const u8, run: u32, result: jitcore.Error!u64) void {
    if (result) |_| {
        check(false, "looking up a missing symbol fails");
    } else |err| {
        const d = jitcore.lastError();
        print("{s} run {d}: missing symbol: error {d} ({s}): {s}\n", .{ label, run, @backingInt(d.code), jitcore.codeName(d.code), d.message });
        check(err == error.SymbolNotFound, "the error is error.SymbolNotFound");
        check(d.code == .symbol_not_found, "the code is SYMBOL_NOT_FOUND");
        check(std.mem.find(u8, d.message, "no_such_function") != null, "the message names the symbol");
    }
}

/// 6: what removing the code left.
fn showRemoved(label: []const u8, run: u32, before: u64, after: u64) void {
    print("{s} run {d}: CodeBytesLive {d} after the calls, {d} after removing the code\n", .{ label, run, before, after });
    check(before > 0, "code is live after the calls");
    check(after == 0, "CodeBytesLive is 0 after removing the code");
}

/// 2: through a session.
fn runSession(cache: *MemoryCache, run: u32) void {
    var s = must(jitcore.Session, jitcore.Session.init(.{}), "Session.init");
    defer s.deinit();
    must(void, s.setObjectCache(.init(cache)), "setObjectCache");
    const main_dylib = must(jitcore.Dylib, s.mainDylib(), "mainDylib");
    must(void, main_dylib.defineAbsoluteSymbols(&.{jitcore.Symbol.of("host_scale", &hostScale)}), "defineAbsoluteSymbols");
    var rt = must(jitcore.ResourceTracker, main_dylib.createResourceTracker(), "createResourceTracker");
    defer rt.deinit();
    var m = must(jitcore.Module, jitcore.Module.parseIR("job", ir), "Module.parseIR");
    defer m.deinit(); // does nothing once the session owns it
    must(void, main_dylib.addModule(&m, &rt), "addModule"); // the session owns m now
    const scaled = must(*const fn (i64) callconv(.c) i64, s.function(main_dylib, fn (i64) callconv(.c) i64, "scaled_plus_one"), "lookup scaled_plus_one");
    const length = must(*const fn ([*:0]const u8) callconv(.c) i64, s.function(main_dylib, fn ([*:0]const u8) callconv(.c) i64, "length_of"), "lookup length_of");
    callAndCheck("session", run, scaled, length);
    var st = must(jitcore.Statistics, s.statistics(), "statistics");
    showCache("session", run, cache, st);
    showMissing("session", run, s.lookup(main_dylib, "no_such_function"));
    const live = st.CodeBytesLive;
    must(void, rt.remove(), "ResourceTracker.remove");
    st = must(jitcore.Statistics, s.statistics(), "statistics");
    showRemoved("session", run, live, st.CodeBytesLive);
}

pub fn main(init: std.process.Init) void {
    // Streaming: positional writes would land at offset 0 of a redirected stdout.
    out = .initStreaming(.stdout(), init.io, &out_buf);
    print("job (Zig): jitcore {s}\n", .{jitcore.versionString()});
    var session_cache: MemoryCache = .{ .gpa = init.gpa, .io = init.io };
    var run: u32 = 1;
    while (run <= 2) : (run += 1) runSession(&session_cache, run);
    session_cache.deinit();
    jitcore.clearLastError();
    if (failures != 0) {
        print("job: {d} check(s) failed\n", .{failures});
        std.process.exit(1);
    }
    print("job: all checks passed\n", .{});
}
