//! CPU levels: the instruction sets the library is compiled for, one copy of the code per level
//! (build.zig), and the rule that picks one per process. A level is chosen only when the CPU
//! reports every feature that level's compiler target may emit, so no instruction above what
//! the CPU has can run. `TESSERA_CPU_LEVEL` caps the choice, so one machine can run every level.
const std = @import("std");
const builtin = @import("builtin");
const cpu = @import("cpu.zig");
const env = @import("../core/env.zig");
const build_options = @import("build_options");

/// Ordered from the narrowest to the widest.
pub const Level = enum(u8) {
    /// x86-64-v2 (SSE4.2, POPCNT) on x86_64; plain ARMv8-A (NEON) on aarch64.
    baseline,
    /// x86-64-v3: AVX, AVX2, FMA, F16C, BMI1/2, LZCNT, MOVBE.
    avx2,
    /// x86-64-v4: v3 plus AVX-512 F, BW, CD, DQ and VL.
    avx512,
};

/// The levels this architecture's build has copies of (build.zig reads the same list).
pub fn levelsFor(arch: std.Target.Cpu.Arch) []const Level {
    return switch (arch) {
        .x86_64 => &.{ .baseline, .avx2, .avx512 },
        else => &.{.baseline},
    };
}

pub const compiled: []const Level = levelsFor(builtin.cpu.arch);

/// The CPU features a level's code may use; each must be reported before the level is chosen.
pub fn requirements(level: Level) u64 {
    const v3 = mask(&.{ .avx, .avx2, .fma, .f16c, .bmi1, .bmi2, .lzcnt, .movbe });
    return switch (level) {
        .baseline => 0,
        .avx2 => v3,
        .avx512 => v3 | mask(&.{ .avx512f, .avx512bw, .avx512cd, .avx512dq, .avx512vl }),
    };
}

fn mask(features: []const cpu.Feature) u64 {
    var bits: u64 = 0;
    for (features) |f| bits |= cpu.bit(f);
    return bits;
}

/// The widest compiled level whose requirements the CPU meets.
pub fn best(features: u64) Level {
    var chosen: Level = .baseline;
    for (compiled) |level| {
        if (features & requirements(level) == requirements(level)) chosen = level;
    }
    return chosen;
}

pub fn parse(name: []const u8) ?Level {
    return std.meta.stringToEnum(Level, std.mem.trim(u8, name, " \t"));
}

pub const cap_variable = "TESSERA_CPU_LEVEL";

/// What the environment asks for: nothing, a level, or a value that names no level (ignored).
pub const Cap = union(enum) { none, level: Level, invalid: []const u8 };

/// TESSERA_CPU_LEVEL's cap; an invalid value's text may live in `buffer` (see env.get).
pub fn capFromEnvironment(buffer: *env.Buffer) Cap {
    const value = env.get(cap_variable, buffer) orelse return .none;
    if (value.len == 0) return .none;
    return if (parse(value)) |level| .{ .level = level } else .{ .invalid = value };
}

pub const Choice = struct {
    level: Level,
    /// What the CPU would allow without the cap.
    best: Level,
    cap: Cap,
};

pub fn choose(features: u64, cap: Cap) Choice {
    const widest = best(features);
    const level: Level = switch (cap) {
        .level => |limit| @enumFromInt(@min(@intFromEnum(limit), @intFromEnum(widest))),
        .none, .invalid => widest,
    };
    return .{ .level = level, .best = widest, .cap = cap };
}

/// "avx2 (capped by TESSERA_CPU_LEVEL=avx2; this CPU allows avx512)" and the like.
pub fn describe(choice: Choice, buffer: []u8) []const u8 {
    const level = @tagName(choice.level);
    return switch (choice.cap) {
        .none => std.fmt.bufPrint(buffer, "{s}", .{level}),
        .level => |limit| std.fmt.bufPrint(buffer, "{s} ({s}={s}; this CPU allows {s})", .{ level, cap_variable, @tagName(limit), @tagName(choice.best) }),
        .invalid => |value| std.fmt.bufPrint(buffer, "{s} ({s}={s} names no level, so it is ignored: baseline, avx2 or avx512)", .{ level, cap_variable, value }),
    } catch level;
}

/// What runs in this copy of the library: its level and why, or "native" for a build made for
/// one machine (tests, the fuzzer), where every kernel variant its CPU supports is compiled in.
pub fn describeThisCopy(features: u64, buffer: []u8) []const u8 {
    const level = parse(build_options.cpu_level) orelse return build_options.cpu_level;
    var env_buffer: env.Buffer = undefined;
    var choice = choose(features, capFromEnvironment(&env_buffer));
    // The dispatcher chose this copy; if it differs, the environment changed since.
    choice.level = level;
    return describe(choice, buffer);
}

test "a level is chosen only when every feature it may use is reported" {
    const v3 = requirements(.avx2);
    if (builtin.cpu.arch == .x86_64) {
        try std.testing.expectEqual(Level.baseline, best(0));
        // AVX2 and FMA without BMI2 (some virtual machines hide it): v3 code could fault.
        try std.testing.expectEqual(Level.baseline, best(v3 & ~cpu.bit(.bmi2)));
        try std.testing.expectEqual(Level.avx2, best(v3));
        try std.testing.expectEqual(Level.avx2, best(v3 | cpu.bit(.avx512f)));
        try std.testing.expectEqual(Level.avx512, best(requirements(.avx512)));
    } else {
        try std.testing.expectEqual(Level.baseline, best(~@as(u64, 0)));
    }
}

test "the cap lowers the level and never raises it" {
    const all = requirements(.avx512);
    try std.testing.expectEqual(Level.baseline, choose(all, .{ .level = .baseline }).level);
    try std.testing.expectEqual(best(all), choose(all, .{ .invalid = "sse" }).level);
    try std.testing.expectEqual(Level.baseline, choose(0, .{ .level = .avx512 }).level);
    try std.testing.expectEqual(@as(?Level, .avx2), parse(" avx2"));
    try std.testing.expectEqual(@as(?Level, null), parse("native"));
    var buffer: [160]u8 = undefined;
    const text = describe(choose(all, .{ .level = .baseline }), &buffer);
    try std.testing.expect(std.mem.startsWith(u8, text, "baseline (TESSERA_CPU_LEVEL=baseline"));
}
