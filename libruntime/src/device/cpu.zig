//! What the host CPU can do, detected at run time (not at build time): SIMD features for kernel
//! dispatch, core counts for the thread pool, and cache sizes for blocking. Linux describes the
//! cores and caches in sysfs and /proc; Windows in GetLogicalProcessorInformationEx and the
//! registry; elsewhere they stay unknown (0, and physical cores = logical ones).
const std = @import("std");
const builtin = @import("builtin");
const copyZ = @import("../core/text.zig").copyZ;
const win32 = @import("../core/win32.zig");

const on_windows = builtin.os.tag == .windows;

/// Feature bits; the same values are TSR_CPU_* in tessera.h.
pub const Feature = enum(u6) {
    sse41 = 0,
    avx = 1,
    avx2 = 2,
    fma = 3,
    f16c = 4,
    avx512f = 5,
    avx512bw = 6,
    avx512vl = 7,
    avx512dq = 8,
    avx512vnni = 9,
    avx_vnni = 10,
    avx512bf16 = 11,
    avx512cd = 12,
    bmi1 = 13,
    bmi2 = 14,
    lzcnt = 15,
    neon = 16,
    arm_dotprod = 17,
    arm_fp16 = 18,
    arm_i8mm = 19,
    movbe = 20,
};

pub fn bit(feature: Feature) u64 {
    return @as(u64, 1) << @intFromEnum(feature);
}

pub const Info = struct {
    features: u64 = 0,
    cores_physical: u32 = 0,
    cores_logical: u32 = 0,
    cache_l1d_bytes: u64 = 0,
    cache_l2_bytes: u64 = 0,
    cache_l3_bytes: u64 = 0,
    memory_bytes: u64 = 0,
    name: [128]u8 = [_]u8{0} ** 128,
};

pub fn detect() Info {
    var info: Info = .{};
    info.features = features();
    info.cores_logical = @intCast(std.Thread.getCpuCount() catch 1);
    info.cores_physical = countPhysicalCores() orelse info.cores_logical;
    readCaches(&info);
    info.memory_bytes = std.process.totalSystemMemory() catch 0;
    readModelName(&info.name);
    return info;
}

/// The SIMD and bit-manipulation features the CPU reports and the OS enables (cheap: no sysfs).
pub fn features() u64 {
    return switch (builtin.cpu.arch) {
        .x86_64 => detectX86(),
        .aarch64 => detectArm(),
        else => 0,
    };
}

const Registers = struct { eax: u32, ebx: u32, ecx: u32, edx: u32 };

fn cpuid(leaf: u32, subleaf: u32) Registers {
    var eax: u32 = undefined;
    var ebx: u32 = undefined;
    var ecx: u32 = undefined;
    var edx: u32 = undefined;
    asm volatile ("cpuid"
        : [eax] "={eax}" (eax),
          [ebx] "={ebx}" (ebx),
          [ecx] "={ecx}" (ecx),
          [edx] "={edx}" (edx),
        : [leaf] "{eax}" (leaf),
          [subleaf] "{ecx}" (subleaf),
    );
    return .{ .eax = eax, .ebx = ebx, .ecx = ecx, .edx = edx };
}

/// The OS must save the wider registers on context switch, or the instructions fault (XCR0).
fn enabledStateMask() u64 {
    var low: u32 = undefined;
    var high: u32 = undefined;
    asm volatile ("xgetbv"
        : [low] "={eax}" (low),
          [high] "={edx}" (high),
        : [index] "{ecx}" (@as(u32, 0)),
    );
    return (@as(u64, high) << 32) | low;
}

fn has(register: u32, index: u5) bool {
    return (register >> index) & 1 == 1;
}

fn detectX86() u64 {
    if (builtin.cpu.arch != .x86_64) return 0;
    var found: u64 = 0;
    const max_leaf = cpuid(0, 0).eax;
    const leaf1 = cpuid(1, 0);
    if (has(leaf1.ecx, 19)) found |= bit(.sse41);
    if (has(leaf1.ecx, 22)) found |= bit(.movbe);
    if (cpuid(0x8000_0000, 0).eax >= 0x8000_0001 and has(cpuid(0x8000_0001, 0).ecx, 5)) found |= bit(.lzcnt);
    if (max_leaf >= 7) {
        // Scalar bit manipulation: no register state for the OS to save.
        const ebx = cpuid(7, 0).ebx;
        if (has(ebx, 3)) found |= bit(.bmi1);
        if (has(ebx, 8)) found |= bit(.bmi2);
    }
    const os_saves_avx = has(leaf1.ecx, 27) and (enabledStateMask() & 0x6) == 0x6;
    const os_saves_avx512 = os_saves_avx and (enabledStateMask() & 0xE6) == 0xE6;
    if (!os_saves_avx) return found;
    if (has(leaf1.ecx, 28)) found |= bit(.avx);
    if (has(leaf1.ecx, 12)) found |= bit(.fma);
    if (has(leaf1.ecx, 29)) found |= bit(.f16c);
    if (max_leaf < 7) return found;
    const leaf7 = cpuid(7, 0);
    if (has(leaf7.ebx, 5)) found |= bit(.avx2);
    const leaf7_1 = cpuid(7, 1);
    if (has(leaf7_1.eax, 4)) found |= bit(.avx_vnni);
    if (!os_saves_avx512) return found;
    if (has(leaf7.ebx, 16)) found |= bit(.avx512f);
    if (has(leaf7.ebx, 17)) found |= bit(.avx512dq);
    if (has(leaf7.ebx, 28)) found |= bit(.avx512cd);
    if (has(leaf7.ebx, 30)) found |= bit(.avx512bw);
    if (has(leaf7.ebx, 31)) found |= bit(.avx512vl);
    if (has(leaf7.ecx, 11)) found |= bit(.avx512vnni);
    if (has(leaf7_1.eax, 5)) found |= bit(.avx512bf16);
    return found;
}

fn detectArm() u64 {
    if (builtin.cpu.arch != .aarch64 or builtin.os.tag != .linux) return 0;
    // Advanced SIMD is mandatory on AArch64; the rest come from the kernel's hwcaps.
    var found = bit(.neon);
    const hwcap = std.c.getauxval(std.elf.AT_HWCAP);
    const hwcap2 = std.c.getauxval(std.elf.AT_HWCAP2);
    if (hwcap & (1 << 20) != 0) found |= bit(.arm_dotprod);
    if (hwcap & (1 << 10) != 0) found |= bit(.arm_fp16);
    if (hwcap2 & (1 << 13) != 0) found |= bit(.arm_i8mm);
    return found;
}

/// Distinct (package, core) pairs in sysfs; null when sysfs does not say.
fn countPhysicalCores() ?u32 {
    if (on_windows) return countWindowsCores();
    var seen: [512]u64 = undefined;
    var seen_len: usize = 0;
    var cpu: u32 = 0;
    while (cpu < 4096) : (cpu += 1) {
        var path_buffer: [128]u8 = undefined;
        const core_path = std.fmt.bufPrint(&path_buffer, "/sys/devices/system/cpu/cpu{d}/topology/core_id", .{cpu}) catch return null;
        const core = readSysfsNumber(core_path) orelse break;
        const package_path = std.fmt.bufPrint(&path_buffer, "/sys/devices/system/cpu/cpu{d}/topology/physical_package_id", .{cpu}) catch return null;
        const package = readSysfsNumber(package_path) orelse 0;
        const key = (package << 32) | core;
        if (std.mem.indexOfScalar(u64, seen[0..seen_len], key) == null and seen_len < seen.len) {
            seen[seen_len] = key;
            seen_len += 1;
        }
    }
    if (seen_len == 0) return null;
    return @intCast(seen_len);
}

fn readCaches(info: *Info) void {
    if (on_windows) return readWindowsCaches(info);
    var index: u32 = 0;
    while (index < 8) : (index += 1) {
        var path_buffer: [128]u8 = undefined;
        const base = "/sys/devices/system/cpu/cpu0/cache/index";
        const level_path = std.fmt.bufPrint(&path_buffer, base ++ "{d}/level", .{index}) catch return;
        const level = readSysfsNumber(level_path) orelse return;
        var type_buffer: [32]u8 = undefined;
        const type_path = std.fmt.bufPrint(&path_buffer, base ++ "{d}/type", .{index}) catch return;
        const kind = readSysfs(type_path, &type_buffer) orelse return;
        const size_path = std.fmt.bufPrint(&path_buffer, base ++ "{d}/size", .{index}) catch return;
        var size_buffer: [32]u8 = undefined;
        const size = parseSize(readSysfs(size_path, &size_buffer) orelse return) orelse continue;
        switch (level) {
            1 => if (!std.mem.eql(u8, kind, "Instruction")) {
                info.cache_l1d_bytes = size;
            },
            2 => info.cache_l2_bytes = size,
            3 => info.cache_l3_bytes = size,
            else => {},
        }
    }
}

/// "48K", "1280K", "54M" → bytes.
fn parseSize(text: []const u8) ?u64 {
    if (text.len == 0) return null;
    const multiplier: u64 = switch (text[text.len - 1]) {
        'K' => 1024,
        'M' => 1024 * 1024,
        'G' => 1024 * 1024 * 1024,
        else => 1,
    };
    const digits = if (multiplier == 1) text else text[0 .. text.len - 1];
    const value = std.fmt.parseInt(u64, digits, 10) catch return null;
    return value * multiplier;
}

fn readModelName(name: *[128]u8) void {
    if (on_windows) return readWindowsModelName(name);
    var buffer: [8192]u8 = undefined;
    const text = readSysfs("/proc/cpuinfo", &buffer) orelse return;
    var lines = std.mem.splitScalar(u8, text, '\n');
    while (lines.next()) |line| {
        if (!std.mem.startsWith(u8, line, "model name")) continue;
        const colon = std.mem.indexOfScalar(u8, line, ':') orelse return;
        const value = std.mem.trim(u8, line[colon + 1 ..], " \t");
        const len = @min(value.len, name.len - 1);
        @memcpy(name[0..len], value[0..len]);
        name[len] = 0;
        return;
    }
}

// ---- Windows ----

/// Processor-core records, one per physical core of every processor group; null when Windows
/// does not say. At most the logical count, which is what std reports (the PEB's processor
/// count) and may cover only the process's first group on machines with several.
fn countWindowsCores() ?u32 {
    var records = win32.Records.read(std.heap.page_allocator, .processor_core) orelse return null;
    defer records.deinit();
    var cores: u32 = 0;
    while (records.next()) |record| {
        if (record.relationship == .processor_core) cores += 1;
    }
    if (cores == 0) return null;
    const logical: u32 = @intCast(std.Thread.getCpuCount() catch return cores);
    return @min(cores, logical);
}

/// The caches of logical processor 0 of group 0, as Linux reads cpu0's: on a CPU with two kinds
/// of core they differ, and processor 0 is the one sysfs would describe.
fn readWindowsCaches(info: *Info) void {
    var records = win32.Records.read(std.heap.page_allocator, .cache) orelse return;
    defer records.deinit();
    while (records.next()) |record| {
        if (record.relationship != .cache) continue;
        const cache = record.body(win32.CacheRelationship);
        const serves_first = for (cache.masks()) |mask| {
            if (mask.group == 0 and mask.mask & 1 != 0) break true;
        } else false;
        if (!serves_first) continue;
        switch (cache.level) {
            1 => if (cache.type == .data or cache.type == .unified) {
                info.cache_l1d_bytes = cache.cache_size;
            },
            2 => info.cache_l2_bytes = cache.cache_size,
            3 => info.cache_l3_bytes = cache.cache_size,
            else => {},
        }
    }
}

/// The name the firmware gives the processor, as Windows records it at boot.
fn readWindowsModelName(name: *[128]u8) void {
    var buffer: [512]u8 = undefined;
    const value = win32.readMachineString("HARDWARE\\DESCRIPTION\\System\\CentralProcessor\\0", "ProcessorNameString", &buffer) orelse return;
    // Intel pads its brand string with leading spaces.
    copyZ(name, std.mem.trim(u8, value, " \t"));
}

// ---- Linux ----

fn readSysfs(path: []const u8, buffer: []u8) ?[]const u8 {
    const file = std.fs.cwd().openFile(path, .{}) catch return null;
    defer file.close();
    const len = file.readAll(buffer) catch return null;
    return std.mem.trim(u8, buffer[0..len], " \t\r\n");
}

fn readSysfsNumber(path: []const u8) ?u64 {
    var buffer: [32]u8 = undefined;
    const text = readSysfs(path, &buffer) orelse return null;
    return std.fmt.parseInt(u64, text, 10) catch null;
}

test "detection gives a sane machine" {
    const info = detect();
    try std.testing.expect(info.cores_logical >= 1);
    try std.testing.expect(info.cores_physical >= 1 and info.cores_physical <= info.cores_logical);
    if (builtin.cpu.arch == .x86_64) try std.testing.expect(info.features & bit(.sse41) != 0);
    if (builtin.cpu.arch == .aarch64) try std.testing.expect(info.features & bit(.neon) != 0);
}

test "cache sizes parse" {
    try std.testing.expectEqual(@as(?u64, 48 * 1024), parseSize("48K"));
    try std.testing.expectEqual(@as(?u64, 54 * 1024 * 1024), parseSize("54M"));
    try std.testing.expectEqual(@as(?u64, null), parseSize("x"));
}
