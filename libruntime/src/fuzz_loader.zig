//! A mutation fuzzer for the model loader (decode → import → infer), the code that reads untrusted
//! bytes. Seeds are .onnx files (the ONNX backend suite); each iteration mutates one and loads it.
//! Built with safety checks on, so any out-of-bounds access, overflow or bad cast panics and the
//! run fails; memory is checked to return to its baseline after every load.
//! One iteration in four goes through an encrypted container instead (container.zig, archive.zig):
//! the seed is packed and sealed with a fixed passphrase and the cheapest KDF costs a container
//! may have, with the mutation in the model before packing, in the packed archive, or in the
//! sealed bytes (which must then fail to decrypt).
//! Usage: tessera-fuzz SEED_DIR SECONDS [RANDOM_SEED]
const std = @import("std");
const memory = @import("core/memory.zig");
const status = @import("core/status.zig");
const pipeline = @import("model/pipeline.zig");
const archive = @import("model/archive.zig");
const container = @import("model/container.zig");
const source_module = @import("model/source.zig");

const max_seed_bytes = 256 * 1024;
const max_seeds = 4096;

pub fn main() !void {
    var arena_state = std.heap.ArenaAllocator.init(std.heap.page_allocator);
    defer arena_state.deinit();
    const arena = arena_state.allocator();
    const args = try std.process.argsAlloc(arena);
    if (args.len < 3) {
        std.debug.print("usage: tessera-fuzz SEED_DIR SECONDS [RANDOM_SEED]\n", .{});
        std.process.exit(2);
    }
    const seconds = try std.fmt.parseInt(u64, args[2], 10);
    const random_seed = if (args.len > 3) try std.fmt.parseInt(u64, args[3], 10) else @as(u64, @intCast(std.time.milliTimestamp()));
    const seeds = try collectSeeds(arena, args[1]);
    if (seeds.len == 0) return error.NoSeeds;
    var prng = std.Random.DefaultPrng.init(random_seed);
    const random = prng.random();
    var counts = std.EnumArray(Outcome, u64).initFill(0);
    const deadline = std.time.milliTimestamp() + @as(i64, @intCast(seconds * 1000));
    var scratch: std.ArrayList(u8) = .empty;
    var iterations: u64 = 0;
    var sealed_iterations: u64 = 0;
    while (std.time.milliTimestamp() < deadline) : (iterations += 1) {
        const seed = seeds[random.uintLessThan(usize, seeds.len)];
        if (random.uintLessThan(u8, 4) == 0) {
            sealed_iterations += 1;
            counts.getPtr(try sealedOnce(arena, random, seed, seeds, &scratch)).* += 1;
            continue;
        }
        try mutate(arena, random, seed, seeds, &scratch);
        counts.getPtr(try loadOnce(scratch.items)).* += 1;
    }
    std.debug.print("fuzz: {d} iterations over {d} seeds (random seed {d}), {d} of them through encrypted containers: {d} loaded, {d} ModelError, {d} ShapeError, {d} NotImplemented, {d} ContainerError, {d} other errors; 0 crashes, 0 leaks\n", .{
        iterations,                   seeds.len,              random_seed, sealed_iterations, counts.get(.loaded), counts.get(.model_error), counts.get(.shape_error),
        counts.get(.not_implemented), counts.get(.container_error), counts.get(.other),
    });
}

const Outcome = enum { loaded, model_error, shape_error, not_implemented, container_error, other };

fn outcomeOf(e: anyerror) Outcome {
    return switch (e) {
        error.ModelError => .model_error,
        error.ShapeError => .shape_error,
        error.NotImplemented => .not_implemented,
        error.ContainerError => .container_error,
        else => .other,
    };
}

fn loadOnce(bytes: []const u8) !Outcome {
    const before = memory.liveBytes();
    const loaded = try pipeline.Pipeline.create();
    const outcome: Outcome = if (loaded.run(bytes, null, null, "")) .loaded else |e| outcomeOf(e);
    loaded.destroy();
    try checkLeaks(before);
    return outcome;
}

fn checkLeaks(before: u64) !void {
    if (memory.liveBytes() == before) return;
    std.debug.print("leak: {d} bytes live after a load ({s})\n", .{ memory.liveBytes() - before, std.mem.span(status.lastMessage()) });
    return error.Leak;
}

const sealed_passphrase = "fuzz";
const sealed_params: container.KdfParams = .{ .memory_kib = container.KdfParams.memory_kib_min, .iterations = 1 };

/// Where a container iteration mutates: the model before it is packed (the loader behind the
/// archive), the packed archive (its parser), or the sealed bytes (which must fail to decrypt).
const SealedMutation = enum { model, archive, ciphertext };

/// The seed (with a second seed as an external-data file) packed, sealed and loaded as a model
/// is: decrypted, its archive read, the model run through the pipeline with the archive's files
/// as its external data.
fn sealedOnce(arena: std.mem.Allocator, random: std.Random, seed: []const u8, seeds: []const []const u8, scratch: *std.ArrayList(u8)) !Outcome {
    const where = random.enumValue(SealedMutation);
    if (where == .model) try mutate(arena, random, seed, seeds, scratch);
    const files = [_]archive.File{
        .{ .name = archive.model_name, .bytes = if (where == .model) scratch.items else seed },
        .{ .name = "weights.bin", .bytes = seeds[random.uintLessThan(usize, seeds.len)] },
    };
    // Not from the arena, which would keep every iteration's buffers until the run ends.
    const plaintext = try std.heap.c_allocator.alloc(u8, archive.packedLen(&files));
    defer std.heap.c_allocator.free(plaintext);
    archive.pack(plaintext, &files);
    if (where == .archive) try mutate(arena, random, plaintext, seeds, scratch);
    const sealed_plaintext = if (where == .archive) scratch.items else plaintext;
    const sealed = try std.heap.c_allocator.alloc(u8, container.sealedLen(sealed_plaintext.len));
    defer std.heap.c_allocator.free(sealed);
    try container.seal(sealed, sealed_plaintext, sealed_passphrase, sealed_params);
    if (where == .ciphertext) try mutate(arena, random, sealed, seeds, scratch);
    const bytes = if (where == .ciphertext) scratch.items else sealed;
    const before = memory.liveBytes();
    const outcome = loadSealed(bytes);
    try checkLeaks(before);
    const changed = container.looksSealed(bytes) and !std.mem.eql(u8, bytes, sealed);
    if (where == .ciphertext and changed and outcome != .container_error) {
        std.debug.print("a mutated container did not fail to decrypt\n", .{});
        return error.Undetected;
    }
    return outcome;
}

fn loadSealed(bytes: []const u8) Outcome {
    var source = source_module.Source.fromBytes(bytes) catch |e| return outcomeOf(e);
    defer source.deinit();
    // A mutation may also leave bytes that are no longer a container: that is the plain loader's.
    source.unseal(if (container.looksSealed(bytes)) sealed_passphrase else "") catch |e| return outcomeOf(e);
    const loaded = pipeline.Pipeline.create() catch |e| return outcomeOf(e);
    defer loaded.destroy();
    loaded.run(source.bytes, source.resolver(), null, "") catch |e| return outcomeOf(e);
    return .loaded;
}

fn collectSeeds(arena: std.mem.Allocator, root: []const u8) ![]const []const u8 {
    var dir = try std.fs.cwd().openDir(root, .{ .iterate = true });
    defer dir.close();
    var walker = try dir.walk(arena);
    var seeds: std.ArrayList([]const u8) = .empty;
    while (try walker.next()) |entry| {
        if (entry.kind != .file or !std.mem.endsWith(u8, entry.basename, ".onnx")) continue;
        const bytes = entry.dir.readFileAlloc(arena, entry.basename, max_seed_bytes) catch continue;
        try seeds.append(arena, bytes);
        if (seeds.items.len == max_seeds) break;
    }
    return seeds.items;
}

/// One to four mutations of a seed: bit flips, interesting bytes, truncation, deletion,
/// duplication, insertion, or a splice with another seed.
fn mutate(arena: std.mem.Allocator, random: std.Random, seed: []const u8, seeds: []const []const u8, out: *std.ArrayList(u8)) !void {
    out.clearRetainingCapacity();
    try out.appendSlice(arena, seed);
    const rounds = 1 + random.uintLessThan(u8, 4);
    for (0..rounds) |_| {
        if (out.items.len == 0) return;
        const at = random.uintLessThan(usize, out.items.len);
        switch (random.uintLessThan(u8, 7)) {
            0 => out.items[at] ^= @as(u8, 1) << random.int(u3),
            1 => out.items[at] = ([_]u8{ 0, 0x7F, 0x80, 0xFF, 0x01, 0x0A, 0x12 })[random.uintLessThan(usize, 7)],
            2 => out.shrinkRetainingCapacity(at),
            3 => {
                const len = @min(out.items.len - at, random.uintLessThan(usize, 64) + 1);
                out.replaceRangeAssumeCapacity(at, len, &.{});
            },
            4 => {
                const len = @min(out.items.len - at, random.uintLessThan(usize, 64) + 1);
                const copy = try arena.dupe(u8, out.items[at .. at + len]);
                try out.insertSlice(arena, at, copy);
            },
            5 => {
                var bytes: [8]u8 = undefined;
                random.bytes(&bytes);
                try out.insertSlice(arena, at, bytes[0 .. 1 + random.uintLessThan(usize, 8)]);
            },
            else => {
                const other = seeds[random.uintLessThan(usize, seeds.len)];
                const from = random.uintLessThan(usize, other.len + 1);
                out.shrinkRetainingCapacity(at);
                try out.appendSlice(arena, other[from..]);
            },
        }
    }
}
