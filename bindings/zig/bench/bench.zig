//! `zig build bench` (bindings/zig/bench.sh <prefix>): what examples/c/bench.c
//! measures in C, through the Zig binding, with the same counts. Prints
//!   lookup_ns <N>       one lookup of an already compiled symbol
//!                       (Engine.functionAddress), median over batches
//!   add_compile_us <N>  parse + add + compile (first lookup) + remove of a
//!                       tiny module on one engine, median over iterations
const std = @import("std");
const jitcore = @import("jitcore");

const ir =
    \\define i32 @sum(i32 %a, i32 %b) {
    \\  %r = add i32 %a, %b
    \\  ret i32 %r
    \\}
    \\
;

const batches = 101;
const per_batch = 2000;
const iterations = 61;

fn median(v: []f64) f64 {
    std.mem.sort(f64, v, {}, std.sort.asc(f64));
    return v[v.len / 2];
}

fn nowNs(io: std.Io) f64 {
    return @floatFromInt(std.Io.Timestamp.now(io, .awake).nanoseconds);
}

pub fn main(init: std.process.Init) !void {
    const io = init.io;
    run(io) catch |err| {
        std.debug.print("bench: {s}: {f}\n", .{ @errorName(err), jitcore.lastError() });
        return err;
    };
}

fn run(io: std.Io) !void {
    var lookup: [batches]f64 = undefined;
    var add_compile: [iterations]f64 = undefined;
    var sink: u64 = 0;

    var tm = try jitcore.TargetMachine.initHost(.o2);
    defer tm.deinit();
    var m = try jitcore.Module.parseIR("sum", ir);
    defer m.deinit();
    var ee = try jitcore.Engine.init(&tm, &m);
    defer ee.deinit();
    _ = try ee.functionAddress("sum"); // compiles

    for (&lookup) |*slot| {
        const t0 = nowNs(io);
        for (0..per_batch) |_| {
            sink +%= try ee.functionAddress("sum");
        }
        slot.* = (nowNs(io) - t0) / per_batch;
    }

    var e2 = try jitcore.Engine.init(&tm, null);
    defer e2.deinit();
    for (&add_compile) |*slot| {
        const t0 = nowNs(io);
        var m2 = try jitcore.Module.parseIR("sum", ir);
        defer m2.deinit();
        try e2.addModule(&m2);
        sink +%= try e2.functionAddress("sum");
        try e2.removeModule(&m2);
        m2.deinit();
        slot.* = (nowNs(io) - t0) / 1000.0;
    }
    std.mem.doNotOptimizeAway(sink);

    var buf: [256]u8 = undefined;
    // Streaming: positional writes would land at offset 0 of a redirected stdout.
    var w: std.Io.File.Writer = .initStreaming(.stdout(), io, &buf);
    try w.interface.print("lookup_ns {d:.0}\n", .{median(&lookup)});
    try w.interface.print("add_compile_us {d:.0}\n", .{median(&add_compile)});
    try w.interface.flush();
}
