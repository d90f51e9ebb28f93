//! examples/zig: the job of examples/c/job.c, in Zig, through the binding
//! (bindings/zig, a path dependency). `zig build run` builds and runs it;
//! PKG_CONFIG_PATH=<prefix>/lib/pkgconfig names a jitcore installed elsewhere.
const std = @import("std");

pub fn build(b: *std.Build) void {
    const target = b.standardTargetOptions(.{});
    const optimize = b.standardOptimizeOption(.{});
    const jitcore = b.dependency("jitcore", .{ .target = target, .optimize = optimize });

    const exe = b.addExecutable(.{
        .name = "job",
        .root_module = b.createModule(.{
            .root_source_file = b.path("src/main.zig"),
            .target = target,
            .optimize = optimize,
            .imports = &.{.{ .name = "jitcore", .module = jitcore.module("jitcore") }},
        }),
    });
    b.installArtifact(exe);

    const run = b.addRunArtifact(exe);
    run.addPassthruArgs();
    const run_step = b.step("run", "Run the job");
    run_step.dependOn(&run.step);
}
