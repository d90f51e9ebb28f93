//! The jitcore Zig package. `jitcore.h` and the library come from an
//! installed jitcore, found through pkg-config (`pkg-config --cflags --libs
//! jitcore`; set PKG_CONFIG_PATH=<prefix>/lib/pkgconfig for a non-standard
//! prefix). Steps: `zig build test` (the binding's tests), `zig build bench`
//! (lookup and add+compile costs through the binding).
//!
//! Consumers depend on this package and import its module "jitcore":
//!     const jitcore = b.dependency("jitcore", .{ .target = target, .optimize = optimize });
//!     exe.root_module.addImport("jitcore", jitcore.module("jitcore"));
//! The module links libjitcore (through pkg-config) itself.
const std = @import("std");

pub fn build(b: *std.Build) void {
    const target = b.standardTargetOptions(.{});
    const optimize = b.standardOptimizeOption(.{});

    // jitcore.h, translated with the include directory pkg-config names.
    // `use_pkg_config = .force`: a missing jitcore.pc is an error naming it,
    // not a silent fallback to the default search paths.
    const translate = b.addTranslateC(.{
        .root_source_file = b.path("src/c.h"),
        .target = target,
        .optimize = optimize,
    });
    translate.linkSystemLibrary("jitcore", .{ .use_pkg_config = .force });
    const c_mod = translate.createModule();

    const mod = b.addModule("jitcore", .{
        .root_source_file = b.path("src/jitcore.zig"),
        .target = target,
        .optimize = optimize,
        .link_libc = true,
        .imports = &.{.{ .name = "c", .module = c_mod }},
    });
    // Links -ljitcore with pkg-config's -L (Zig adds an rpath for it on
    // native builds, so programs start without LD_LIBRARY_PATH).
    mod.linkSystemLibrary("jitcore", .{ .use_pkg_config = .force });

    const tests = b.addTest(.{
        .name = "jitcore-zig-tests",
        .root_module = b.createModule(.{
            .root_source_file = b.path("src/tests.zig"),
            .target = target,
            .optimize = optimize,
            .link_libc = true,
            .imports = &.{.{ .name = "jitcore", .module = mod }},
        }),
    });
    const run_tests = b.addRunArtifact(tests);
    const test_step = b.step("test", "Run the binding's tests against the installed libjitcore");
    test_step.dependOn(&run_tests.step);

    const bench = b.addExecutable(.{
        .name = "jitcore-zig-bench",
        .root_module = b.createModule(.{
            .root_source_file = b.path("bench/bench.zig"),
            .target = target,
            // Timing the binding, not Zig's debug checks.
            .optimize = .ReleaseFast,
            .link_libc = true,
            .imports = &.{.{ .name = "jitcore", .module = mod }},
        }),
    });
    // bench.sh builds it with `install-bench` and runs it itself.
    const install_bench = b.addInstallArtifact(bench, .{});
    b.step("install-bench", "Install the benchmark (bin/jitcore-zig-bench)").dependOn(&install_bench.step);
    const run_bench = b.addRunArtifact(bench);
    run_bench.addPassthruArgs();
    const bench_step = b.step("bench", "Print lookup_ns and add_compile_us through the binding");
    bench_step.dependOn(&run_bench.step);
}
