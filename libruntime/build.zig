//! Builds libtessera: a shared library for Bun, Deno and C programs, a static library for C users,
//! and the unit tests (which include the check that include/tessera.h agrees with the exports).
//!
//! What ships is portable: built for a baseline CPU (x86-64-v2 on x86_64, plain ARMv8-A on
//! aarch64) unless -Dcpu says otherwise, with the library's code compiled once more per wider
//! level (device/cpu_level.zig) and one level chosen at run time by the dispatcher
//! (src/dispatch.zig). Tests, the fuzzer and the GEMM benchmark never ship, so they are built
//! for this machine and exercise every kernel variant its CPU can run.
const std = @import("std");
const cpu_level = @import("src/device/cpu_level.zig");

/// The library version; package.json carries the same string (test/abi.test.ts checks they agree).
const version = "0.1.0";

pub fn build(b: *std.Build) void {
    const query = portable(b.standardTargetOptionsQueryOnly(.{}));
    const target = b.resolveTargetQuery(query);
    const host = b.graph.host;
    const optimize = b.standardOptimizeOption(.{});

    // One object per level, shared by the shared and the static library.
    var levels: [3]*std.Build.Step.Compile = undefined;
    const level_list = cpu_level.levelsFor(target.result.cpu.arch);
    for (level_list, 0..) |level, i| {
        const level_target = b.resolveTargetQuery(levelQuery(query, level));
        const module = libraryModule(b, level_target, optimize, buildOptions(b, optimize, @tagName(level)), true);
        module.root_source_file = b.path("src/level.zig");
        levels[i] = b.addObject(.{ .name = b.fmt("tessera-{s}", .{@tagName(level)}), .root_module = module });
    }

    for ([_]std.builtin.LinkMode{ .dynamic, .static }) |linkage| {
        const module = libraryModule(b, target, optimize, buildOptions(b, optimize, "dispatch"), true);
        module.root_source_file = b.path("src/dispatch.zig");
        for (levels[0..level_list.len]) |object| module.addObject(object);
        b.installArtifact(b.addLibrary(.{ .name = "tessera", .linkage = linkage, .root_module = module }));
    }
    b.installFile("include/tessera.h", "include/tessera.h");
    const install_objects = b.step("objects", "Install each level's object (zig-out/obj), for the disassembly check");
    for (levels[0..level_list.len]) |object| {
        install_objects.dependOn(&b.addInstallFileWithDir(object.getEmittedBin(), .{ .custom = "obj" }, b.fmt("{s}.o", .{object.name})).step);
    }

    const native_options = buildOptions(b, optimize, "native");
    // The loader fuzzer keeps safety checks on whatever the library's optimize mode is.
    const fuzz_module = libraryModule(b, host, .ReleaseSafe, native_options, false);
    fuzz_module.root_source_file = b.path("src/fuzz_loader.zig");
    const fuzzer = b.addExecutable(.{ .name = "tessera-fuzz", .root_module = fuzz_module });
    const install_fuzzer = b.addInstallArtifact(fuzzer, .{});
    b.step("fuzz", "Build the model-loader fuzzer (zig-out/bin/tessera-fuzz)").dependOn(&install_fuzzer.step);

    const unit_tests = b.addTest(.{ .root_module = libraryModule(b, host, optimize, native_options, false) });
    const run_tests = b.addRunArtifact(unit_tests);
    const test_step = b.step("test", "Run the library's unit tests");
    test_step.dependOn(&run_tests.step);

    // The SGEMM benchmark is always ReleaseFast: its numbers are its point, whatever -Doptimize.
    const bench_gemm = b.addExecutable(.{
        .name = "tessera-bench-gemm",
        .root_module = b.createModule(.{
            .root_source_file = b.path("src/bench_gemm.zig"),
            .target = host,
            .optimize = .ReleaseFast,
            .link_libc = true,
        }),
    });
    const install_bench_gemm = b.addInstallArtifact(bench_gemm, .{});
    b.step("bench-gemm", "Build the SGEMM benchmark (zig-out/bin/tessera-bench-gemm)").dependOn(&install_bench_gemm.step);
}

/// The baseline of what ships, unless -Dcpu chose a model: x86-64-v2, or the architecture's
/// generic CPU (plain ARMv8-A with NEON on aarch64). Never the build machine's own CPU.
fn portable(query: std.Target.Query) std.Target.Query {
    if (query.cpu_model != .determined_by_arch_os) return query;
    var out = query;
    const arch = query.cpu_arch orelse @import("builtin").cpu.arch;
    out.cpu_model = if (arch == .x86_64) .{ .explicit = &std.Target.x86.cpu.x86_64_v2 } else .baseline;
    return out;
}

/// The compiler target of a level: the baseline's, or the x86-64 microarchitecture level whose
/// features device/cpu_level.zig requires before choosing it.
fn levelQuery(baseline: std.Target.Query, level: cpu_level.Level) std.Target.Query {
    var out = baseline;
    switch (level) {
        .baseline => return baseline,
        .avx2 => out.cpu_model = .{ .explicit = &std.Target.x86.cpu.x86_64_v3 },
        .avx512 => out.cpu_model = .{ .explicit = &std.Target.x86.cpu.x86_64_v4 },
    }
    out.cpu_features_add = .empty;
    out.cpu_features_sub = .empty;
    // x86-64-v4 tunes for 256-bit vectors, which would split every 16-lane kernel in two and
    // leave the zmm registers unused; a CPU that reports AVX-512 gets 512-bit code.
    if (level == .avx512) out.cpu_features_sub.addFeature(@intFromEnum(std.Target.x86.Feature.prefer_256_bit));
    return out;
}

fn buildOptions(b: *std.Build, optimize: std.builtin.OptimizeMode, level: []const u8) *std.Build.Step.Options {
    const options = b.addOptions();
    options.addOption([]const u8, "version", version);
    options.addOption([]const u8, "optimize", @tagName(optimize));
    // The CPU level this copy is compiled for, "dispatch" for the dispatcher, "native" for
    // builds that target this machine (tests, fuzzer).
    options.addOption([]const u8, "cpu_level", level);
    return options;
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
