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

pub fn build(b: *std.Build) void {
    const version = packageVersion(b);
    const query = portable(b.standardTargetOptionsQueryOnly(.{}));
    const target = b.resolveTargetQuery(query);
    const host = b.graph.host;
    const optimize = b.standardOptimizeOption(.{});
    const vulkan: Vulkan = .{ .headers = vulkanHeaders(b), .shaders = vulkanShaders(b) };

    // One object per level, shared by the shared and the static library.
    var levels: [3]*std.Build.Step.Compile = undefined;
    const level_list = cpu_level.levelsFor(target.result.cpu.arch);
    for (level_list, 0..) |level, i| {
        const level_target = b.resolveTargetQuery(levelQuery(query, level));
        const module = libraryModule(b, level_target, optimize, buildOptions(b, optimize, @tagName(level), version), true, vulkan);
        module.root_source_file = b.path("src/level.zig");
        // LLVM even in Debug: Zig's own x86 backend cannot reference another level's table from the
        // position-independent dispatcher. (Release builds use LLVM anyway.)
        levels[i] = b.addObject(.{ .name = b.fmt("tessera-{s}", .{@tagName(level)}), .root_module = module, .use_llvm = true });
    }

    const vnni = vnniObject(b, query, target, optimize);

    for ([_]std.builtin.LinkMode{ .dynamic, .static }) |linkage| {
        const module = libraryModule(b, target, optimize, buildOptions(b, optimize, "dispatch", version), true, vulkan);
        module.root_source_file = b.path("src/dispatch.zig");
        for (levels[0..level_list.len]) |object| module.addObject(object);
        if (vnni) |object| module.addObject(object);
        // The shared library is versioned (libtessera.so.X.Y.Z with soname libtessera.so.X, and the
        // same on macOS); the static one is not.
        const library_version = if (linkage == .dynamic) std.SemanticVersion.parse(version) catch unreachable else null;
        // On Windows the DLL's import library is lib/tessera.lib, so the static one needs a name of its own.
        const name = if (linkage == .static and target.result.os.tag == .windows) "tessera_static" else "tessera";
        b.installArtifact(b.addLibrary(.{ .name = name, .linkage = linkage, .root_module = module, .version = library_version, .use_llvm = true }));
    }
    b.installFile("include/tessera.h", "include/tessera.h");
    b.installFile("include/tessera_backend.h", "include/tessera_backend.h");
    installPackageFiles(b, target.result, version);
    const install_objects = b.step("objects", "Install each level's object (zig-out/obj), for the disassembly check");
    for (levels[0..level_list.len]) |object| installObject(b, install_objects, object);
    if (vnni) |object| installObject(b, install_objects, object);

    const native_options = buildOptions(b, optimize, "native", version);
    // The loader fuzzer keeps safety checks on whatever the library's optimize mode is.
    const fuzz_module = libraryModule(b, host, .ReleaseSafe, native_options, false, vulkan);
    fuzz_module.root_source_file = b.path("src/fuzz_loader.zig");
    const fuzzer = b.addExecutable(.{ .name = "tessera-fuzz", .root_module = fuzz_module });
    const install_fuzzer = b.addInstallArtifact(fuzzer, .{});
    b.step("fuzz", "Build the model-loader fuzzer (zig-out/bin/tessera-fuzz)").dependOn(&install_fuzzer.step);

    // -Dtest-filter="harness" runs only the tests whose names contain it.
    const test_filters = b.option([]const []const u8, "test-filter", "Run only the unit tests whose names contain this text") orelse &.{};
    // LLVM even in Debug: the int8 kernels call LLVM's x86 intrinsics (pmaddwd, vpdpbusd), which
    // Zig's own x86 backend cannot compile.
    const unit_tests = b.addTest(.{ .root_module = libraryModule(b, host, optimize, native_options, false, vulkan), .filters = test_filters, .use_llvm = true });
    const run_tests = b.addRunArtifact(unit_tests);
    // From libruntime/, where the tidy test (src/tidy.zig) finds the sources it reads.
    run_tests.setCwd(b.path("."));
    // The Vulkan tests run on lavapipe where there is no GPU: Mesa's shader cache and the
    // pipeline cache go to the repository's ignored .cache/ (as scripts/env.sh sets them), not
    // the user's home.
    run_tests.setEnvironmentVariable("MESA_SHADER_CACHE_DIR", b.pathFromRoot("../.cache/mesa-shaders"));
    run_tests.setEnvironmentVariable("TESSERA_CACHE_DIR", b.pathFromRoot("../.cache/tessera-cache"));
    const test_step = b.step("test", "Run the library's unit tests");
    test_step.dependOn(&run_tests.step);

    // The benchmarks are always ReleaseFast (their numbers are their point, whatever -Doptimize),
    // for this machine with its full vector width, as the library's widest level is built.
    const bench_target = b.resolveTargetQuery(wideVectors(.{}));
    const benches = [_]struct { name: []const u8, source: []const u8, step: []const u8, about: []const u8 }{
        .{ .name = "tessera-bench-gemm", .source = "src/bench_gemm.zig", .step = "bench-gemm", .about = "the SGEMM benchmark" },
        .{ .name = "tessera-bench-peak", .source = "src/bench_peak.zig", .step = "bench-peak", .about = "the float32 FMA peak measurement" },
    };
    for (benches) |bench| {
        const exe = b.addExecutable(.{
            .name = bench.name,
            .root_module = b.createModule(.{
                .root_source_file = b.path(bench.source),
                .target = bench_target,
                .optimize = .ReleaseFast,
                .link_libc = true,
            }),
        });
        const install = b.addInstallArtifact(exe, .{});
        b.step(bench.step, b.fmt("Build {s} (zig-out/bin/{s})", .{ bench.about, bench.name })).dependOn(&install.step);
    }
}

/// This machine, without the tuning that prefers 256-bit vectors: LLVM's models of Intel's
/// AVX-512 CPUs carry it, and it splits every 16-lane vector in two, so a native build would
/// measure ymm code that the library's AVX-512 level (levelQuery) does not run.
fn wideVectors(query: std.Target.Query) std.Target.Query {
    var out = query;
    if (@import("builtin").cpu.arch == .x86_64) out.cpu_features_sub.addFeature(@intFromEnum(std.Target.x86.Feature.prefer_256_bit));
    return out;
}

fn installObject(b: *std.Build, step: *std.Build.Step, object: *std.Build.Step.Compile) void {
    step.dependOn(&b.addInstallFileWithDir(object.getEmittedBin(), .{ .custom = "obj" }, b.fmt("{s}.o", .{object.name})).step);
}

/// The one version of the project, read from package.json: the library's tsr_version, its
/// file names, the pkg-config and CMake files and the npm package all carry it.
fn packageVersion(b: *std.Build) []const u8 {
    const text = b.build_root.handle.readFileAlloc(b.allocator, "../package.json", 1 << 20) catch |e|
        std.debug.panic("cannot read ../package.json for the version: {s}", .{@errorName(e)});
    const Package = struct { version: []const u8 };
    const package = std.json.parseFromSliceLeaky(Package, b.allocator, text, .{ .ignore_unknown_fields = true }) catch |e|
        std.debug.panic("package.json has no string version: {s}", .{@errorName(e)});
    _ = std.SemanticVersion.parse(package.version) catch std.debug.panic("package.json's version '{s}' is not semantic", .{package.version});
    return package.version;
}

/// lib/pkgconfig/tessera.pc and lib/cmake/Tessera/, so that C and C++ builds find the installed
/// library with `pkg-config tessera` or `find_package(Tessera)`. Both locate the prefix from their
/// own place, so an installed tree can be moved.
fn installPackageFiles(b: *std.Build, target: std.Target, version: []const u8) void {
    const files = b.addWriteFiles();
    const semantic = std.SemanticVersion.parse(version) catch unreachable;
    const shared_name = switch (target.os.tag) {
        .windows => "bin/tessera.dll",
        .macos, .ios => b.fmt("lib/libtessera.{s}.dylib", .{version}),
        else => b.fmt("lib/libtessera.so.{s}", .{version}),
    };
    const soname = switch (target.os.tag) {
        .windows => "tessera.dll",
        .macos, .ios => b.fmt("@rpath/libtessera.{d}.dylib", .{semantic.major}),
        else => b.fmt("libtessera.so.{d}", .{semantic.major}),
    };
    // What a program linking the static library needs besides it: the C library's maths, threads
    // and dynamic loading (the Vulkan loader is opened at run time); on Windows, advapi32 (the
    // registry, the random source) and ntdll (RtlGetVersion).
    const private_libs = if (target.os.tag == .windows) "-ladvapi32 -lntdll" else "-lm -lpthread -ldl";
    const pc = files.add("tessera.pc", b.fmt(
        \\prefix=${{pcfiledir}}/../..
        \\includedir=${{prefix}}/include
        \\libdir=${{prefix}}/lib
        \\
        \\Name: tessera
        \\Description: Tessera inference runtime: ONNX models through a flat C ABI
        \\Version: {s}
        \\Cflags: -I${{includedir}}
        \\Libs: -L${{libdir}} -ltessera
        \\Libs.private: {s}
        \\
    , .{ version, private_libs }));
    const config = files.add("TesseraConfig.cmake", b.fmt(
        \\# find_package(Tessera) gives Tessera::tessera (the shared library) and
        \\# Tessera::tessera_static (the static one, with what it needs to link).
        \\get_filename_component(_tessera_prefix "${{CMAKE_CURRENT_LIST_DIR}}/../../.." ABSOLUTE)
        \\if(NOT TARGET Tessera::tessera)
        \\  add_library(Tessera::tessera SHARED IMPORTED)
        \\  set_target_properties(Tessera::tessera PROPERTIES
        \\    IMPORTED_LOCATION "${{_tessera_prefix}}/{s}"
        \\    IMPORTED_SONAME "{s}"
        \\    IMPORTED_IMPLIB "${{_tessera_prefix}}/lib/tessera.lib"
        \\    INTERFACE_INCLUDE_DIRECTORIES "${{_tessera_prefix}}/include")
        \\  add_library(Tessera::tessera_static STATIC IMPORTED)
        \\  set_target_properties(Tessera::tessera_static PROPERTIES
        \\    IMPORTED_LOCATION "${{_tessera_prefix}}/lib/{s}"
        \\    INTERFACE_INCLUDE_DIRECTORIES "${{_tessera_prefix}}/include"
        \\    INTERFACE_LINK_LIBRARIES "{s}")
        \\endif()
        \\set(Tessera_VERSION "{s}")
        \\unset(_tessera_prefix)
        \\
    , .{
        shared_name,
        soname,
        if (target.os.tag == .windows) "tessera_static.lib" else "libtessera.a",
        if (target.os.tag == .windows) "advapi32;ntdll" else "m;pthread;dl",
        version,
    }));
    // Before 1.0 a minor version may break the ABI, so only the same major.minor is compatible.
    const config_version = files.add("TesseraConfigVersion.cmake", b.fmt(
        \\set(PACKAGE_VERSION "{s}")
        \\if(PACKAGE_FIND_VERSION VERSION_GREATER PACKAGE_VERSION)
        \\  set(PACKAGE_VERSION_COMPATIBLE FALSE)
        \\elseif("{d}" STREQUAL "0" AND NOT PACKAGE_FIND_VERSION_MINOR STREQUAL "{d}")
        \\  set(PACKAGE_VERSION_COMPATIBLE FALSE)
        \\elseif(NOT PACKAGE_FIND_VERSION_MAJOR STREQUAL "{d}")
        \\  set(PACKAGE_VERSION_COMPATIBLE FALSE)
        \\else()
        \\  set(PACKAGE_VERSION_COMPATIBLE TRUE)
        \\  if(PACKAGE_FIND_VERSION STREQUAL PACKAGE_VERSION)
        \\    set(PACKAGE_VERSION_EXACT TRUE)
        \\  endif()
        \\endif()
        \\
    , .{ version, semantic.major, semantic.minor, semantic.major }));
    b.getInstallStep().dependOn(&b.addInstallFileWithDir(pc, .lib, "pkgconfig/tessera.pc").step);
    b.getInstallStep().dependOn(&b.addInstallFileWithDir(config, .lib, "cmake/Tessera/TesseraConfig.cmake").step);
    b.getInstallStep().dependOn(&b.addInstallFileWithDir(config_version, .lib, "cmake/Tessera/TesseraConfigVersion.cmake").step);
}

/// The baseline of what ships, unless -Dcpu chose a model: x86-64-v2, or the architecture's
/// generic CPU (plain ARMv8-A with NEON on aarch64). Never the build machine's own CPU.
fn portable(query: std.Target.Query) std.Target.Query {
    var out = query;
    // On glibc, link against 2.28's symbols (Debian 10, RHEL 8, Ubuntu 18.10), not the build
    // machine's newer ones. A native build is made explicit, so that it is the very library the
    // package ships for this platform (and shares its build cache).
    const builtin = @import("builtin");
    if (out.os_tag == null and builtin.os.tag == .linux and builtin.abi.isGnu()) {
        out.os_tag = .linux;
        out.abi = .gnu;
    }
    if (out.os_tag == .linux and (out.abi orelse builtin.abi).isGnu() and out.glibc_version == null) {
        out.abi = out.abi orelse .gnu;
        out.glibc_version = .{ .major = 2, .minor = 28, .patch = 0 };
    }
    if (query.cpu_model != .determined_by_arch_os) return out;
    const arch = query.cpu_arch orelse builtin.cpu.arch;
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

/// The int8 VNNI micro-kernel (src/level_vnni.zig), on x86_64 only: x86-64-v4 lacks
/// AVX512-VNNI, so rather than a fourth copy of the whole library (5 MiB) for one instruction,
/// this small object is built for x86-64-v4 + VNNI, and the avx512 copy calls its two C
/// functions only when CPUID reports VNNI (backends/cpu/qgemm_kernels.zig).
fn vnniObject(b: *std.Build, baseline: std.Target.Query, target: std.Build.ResolvedTarget, optimize: std.builtin.OptimizeMode) ?*std.Build.Step.Compile {
    if (target.result.cpu.arch != .x86_64) return null;
    var query = levelQuery(baseline, .avx512);
    query.cpu_features_add.addFeature(@intFromEnum(std.Target.x86.Feature.avx512vnni));
    const module = b.createModule(.{
        .root_source_file = b.path("src/level_vnni.zig"),
        .target = b.resolveTargetQuery(query),
        .optimize = optimize,
        .strip = optimize != .Debug,
        .pic = true,
    });
    // LLVM even in Debug: the kernel calls an LLVM intrinsic.
    return b.addObject(.{ .name = "tessera-vnni", .root_module = module, .use_llvm = true });
}

fn buildOptions(b: *std.Build, optimize: std.builtin.OptimizeMode, level: []const u8, version: []const u8) *std.Build.Step.Options {
    const options = b.addOptions();
    options.addOption([]const u8, "version", version);
    options.addOption([]const u8, "optimize", @tagName(optimize));
    // The CPU level this copy is compiled for, "dispatch" for the dispatcher, "native" for
    // builds that target this machine (tests, fuzzer).
    options.addOption([]const u8, "cpu_level", level);
    return options;
}

/// What every library module needs of Vulkan: the headers, and the compute shaders as SPIR-V.
const Vulkan = struct { headers: std.Build.LazyPath, shaders: std.Build.LazyPath };

/// The folder of the Vulkan backend's GLSL compute shaders, one `.comp` file per kernel; `.glsl`
/// files there are code the shaders share through `#include`.
const shader_folder = "src/backends/vulkan/shaders";

/// Compiles every shader of `shader_folder` to SPIR-V with the build machine's glslangValidator
/// (SPIR-V is the same for every target, so a cross build compiles them once, on the host), and
/// returns a generated Zig file that embeds them: `pub const <name>: []align(4) const u8`, 4-byte
/// aligned as vkCreateShaderModule requires of its code, plus `all`, every shader by name.
fn vulkanShaders(b: *std.Build) std.Build.LazyPath {
    var folder = b.build_root.handle.openDir(shader_folder, .{ .iterate = true }) catch |e|
        std.debug.panic("cannot open {s}: {s}", .{ shader_folder, @errorName(e) });
    defer folder.close();
    var names: std.ArrayList([]const u8) = .empty;
    var included: std.ArrayList([]const u8) = .empty;
    var it = folder.iterate();
    while (it.next() catch |e| std.debug.panic("cannot list {s}: {s}", .{ shader_folder, @errorName(e) })) |entry| {
        if (entry.kind == .file and std.mem.endsWith(u8, entry.name, ".glsl")) included.append(b.allocator, b.dupe(entry.name)) catch @panic("out of memory");
        if (entry.kind != .file or !std.mem.endsWith(u8, entry.name, ".comp")) continue;
        names.append(b.allocator, b.dupe(entry.name[0 .. entry.name.len - ".comp".len])) catch @panic("out of memory");
    }
    std.mem.sort([]const u8, names.items, {}, lessThan);
    const files = b.addWriteFiles();
    var source: std.ArrayList(u8) = .empty;
    const w = source.writer(b.allocator);
    w.writeAll("//! Generated by build.zig: the Vulkan compute shaders as SPIR-V, 4-byte aligned.\n") catch unreachable;
    for (names.items) |name| {
        const compile = b.addSystemCommand(&.{ "glslangValidator", "-V", "--target-env", "vulkan1.1", "--quiet", "-o" });
        const spv = compile.addOutputFileArg(b.fmt("{s}.spv", .{name}));
        compile.addFileArg(b.path(b.fmt("{s}/{s}.comp", .{ shader_folder, name })));
        // glslangValidator finds an #include next to the shader; the build reruns it when one changes.
        for (included.items) |file| compile.addFileInput(b.path(b.fmt("{s}/{s}", .{ shader_folder, file })));
        _ = files.addCopyFile(spv, b.fmt("{s}.spv", .{name}));
        w.print("const {s}_words align(4) = @embedFile(\"{s}.spv\").*;\npub const {s}: []align(4) const u8 = &{s}_words;\n", .{ name, name, name, name }) catch unreachable;
    }
    w.writeAll("pub const Shader = struct { name: []const u8, spirv: []align(4) const u8 };\npub const all = [_]Shader{\n") catch unreachable;
    for (names.items) |name| w.print("    .{{ .name = \"{s}\", .spirv = {s} }},\n", .{ name, name }) catch unreachable;
    w.writeAll("};\n") catch unreachable;
    return files.add("vulkan_shaders.zig", source.items);
}

fn lessThan(_: void, a: []const u8, b: []const u8) bool {
    return std.mem.lessThan(u8, a, b);
}

/// Vulkan's headers (Debian's libvulkan-dev), and nothing else of the build machine's include
/// folder: a cross build must take libc's headers from Zig, for its own target. The library only
/// needs Vulkan's types; it opens the loader at run time (device/vulkan_probe.zig).
fn vulkanHeaders(b: *std.Build) std.Build.LazyPath {
    const root = b.option([]const u8, "vulkan-headers", "The folder holding vulkan/ and vk_video/ (default /usr/include)") orelse "/usr/include";
    const files = b.addWriteFiles();
    for ([_][]const u8{ "vulkan", "vk_video" }) |folder| {
        _ = files.addCopyDirectory(.{ .cwd_relative = b.pathJoin(&.{ root, folder }) }, folder, .{});
    }
    return files.getDirectory();
}

fn libraryModule(
    b: *std.Build,
    target: std.Build.ResolvedTarget,
    optimize: std.builtin.OptimizeMode,
    options: *std.Build.Step.Options,
    shipped: bool,
    vulkan: Vulkan,
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
    // The level objects are linked into a shared library. Zig builds PIC by default where the
    // target links dynamically (glibc, macOS, Windows), but not for musl, whose default is static.
    if (shipped and target.result.abi.isMusl()) module.pic = true;
    module.addOptions("build_options", options);
    module.addIncludePath(vulkan.headers);
    // tessera_backend.h: the backend extension ABI, whose structs the library reads through @cImport.
    module.addIncludePath(b.path("include"));
    module.addAnonymousImport("vulkan_shaders", .{ .root_source_file = vulkan.shaders });
    // The header is embedded so that a unit test can prove it matches the exported functions.
    module.addAnonymousImport("tessera_h", .{ .root_source_file = b.path("include/tessera.h") });
    return module;
}
