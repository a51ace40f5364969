//! Builds libtessera: a shared library for Bun, Deno and C programs, a static library for C users,
//! and the unit tests (which include the check that include/tessera.h agrees with the exports).
const std = @import("std");

/// The library version; package.json carries the same string (test/abi.test.ts checks they agree).
const version = "0.1.0";

pub fn build(b: *std.Build) void {
    const target = b.standardTargetOptions(.{});
    const optimize = b.standardOptimizeOption(.{});

    const options = b.addOptions();
    options.addOption([]const u8, "version", version);
    options.addOption([]const u8, "optimize", @tagName(optimize));

    const shared = b.addLibrary(.{
        .name = "tessera",
        .linkage = .dynamic,
        .root_module = libraryModule(b, target, optimize, options, true),
    });
    b.installArtifact(shared);

    const static = b.addLibrary(.{
        .name = "tessera",
        .linkage = .static,
        .root_module = libraryModule(b, target, optimize, options, true),
    });
    b.installArtifact(static);
    b.installFile("include/tessera.h", "include/tessera.h");

    // The loader fuzzer keeps safety checks on whatever the library's optimize mode is.
    const fuzz_module = libraryModule(b, target, .ReleaseSafe, options, false);
    fuzz_module.root_source_file = b.path("src/fuzz_loader.zig");
    const fuzzer = b.addExecutable(.{ .name = "tessera-fuzz", .root_module = fuzz_module });
    const install_fuzzer = b.addInstallArtifact(fuzzer, .{});
    b.step("fuzz", "Build the model-loader fuzzer (zig-out/bin/tessera-fuzz)").dependOn(&install_fuzzer.step);

    const unit_tests = b.addTest(.{ .root_module = libraryModule(b, target, optimize, options, false) });
    const run_tests = b.addRunArtifact(unit_tests);
    const test_step = b.step("test", "Run the library's unit tests");
    test_step.dependOn(&run_tests.step);

    // The SGEMM benchmark is always ReleaseFast: its numbers are its point, whatever -Doptimize.
    const bench_gemm = b.addExecutable(.{
        .name = "tessera-bench-gemm",
        .root_module = b.createModule(.{
            .root_source_file = b.path("src/bench_gemm.zig"),
            .target = target,
            .optimize = .ReleaseFast,
            .link_libc = true,
        }),
    });
    const install_bench_gemm = b.addInstallArtifact(bench_gemm, .{});
    b.step("bench-gemm", "Build the SGEMM benchmark (zig-out/bin/tessera-bench-gemm)").dependOn(&install_bench_gemm.step);
}

fn libraryModule(
    b: *std.Build,
    target: std.Build.ResolvedTarget,
    optimize: std.builtin.OptimizeMode,
    options: *std.Build.Step.Options,
    shipped: bool,
) *std.Build.Module {
    const module = b.createModule(.{
        .root_source_file = b.path("src/root.zig"),
        .target = target,
        .optimize = optimize,
        // Shipped release builds drop debug info (most of their size); tests keep it for traces.
        .strip = shipped and optimize != .Debug,
        // Without libc, std.Thread uses raw clone(), which is unsafe inside glibc hosts (Bun, Deno).
        .link_libc = true,
    });
    module.addOptions("build_options", options);
    // The header is embedded so that a unit test can prove it matches the exported functions.
    module.addAnonymousImport("tessera_h", .{ .root_source_file = b.path("include/tessera.h") });
    return module;
}
