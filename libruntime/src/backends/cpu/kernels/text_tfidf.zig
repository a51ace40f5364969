//! TfIdfVectorizer (part of the text family, see text.zig): counts the pool's n-grams in each row
//! of X ([C] or [B, C] of int32, int64 or strings) and weighs the counts into float32 columns.
//!
//! The pool lists n-grams grouped by size: ngram_counts[i] is where the (i+1)-grams start. Each
//! n-gram has an id in pool order (every size counted, in range or not) and ngram_indexes[id] is
//! its output column. Only sizes from min_gram_length to max_gram_length count. An n-gram may skip
//! items: with skip distance d (1 to max_skip_count+1) it is X[i], X[i+d], ..., and each distance
//! counts again, except unigrams, which count once, as onnx's reference and ONNX Runtime do.
const std = @import("std");
const common = @import("nn_common.zig");
const util = @import("tensor_ops_util.zig");

const Context = common.Context;
const Error = common.Error;
const Tensor = common.Tensor;

/// The pool's n-grams in range, keyed by their items' encoding (see `Encoder`), to a column.
const Pool = struct {
    columns: std.StringHashMapUnmanaged(usize) = .empty,
    output_size: usize,
    /// The longest n-gram in the pool: no longer one can be counted.
    longest: usize = 0,
};

/// Items as bytes, for hashing: an int64 as its 8 bytes, a string as its length then its bytes.
const Encoder = struct {
    bytes: std.ArrayList(u8) = .empty,

    fn reset(self: *Encoder) void {
        self.bytes.clearRetainingCapacity();
    }

    fn int(self: *Encoder, arena: std.mem.Allocator, v: i64) !void {
        try self.bytes.appendSlice(arena, std.mem.asBytes(&v));
    }

    fn string(self: *Encoder, arena: std.mem.Allocator, s: []const u8) !void {
        const len: u64 = s.len;
        try self.bytes.appendSlice(arena, std.mem.asBytes(&len));
        try self.bytes.appendSlice(arena, s);
    }
};

fn buildPool(ctx: *const Context, min_n: usize, max_n: usize) !Pool {
    const arena = ctx.arena;
    const counts = ctx.node.attrInts("ngram_counts") orelse &.{};
    const indexes = ctx.node.attrInts("ngram_indexes") orelse &.{};
    const ints = ctx.node.attrInts("pool_int64s");
    const strings: []const []const u8 = ctx.node.attrStrings("pool_strings") orelse &.{};
    const total = if (ints) |p| p.len else strings.len;
    var pool: Pool = .{ .output_size = 0 };
    for (indexes) |c| pool.output_size = @max(pool.output_size, @as(usize, @intCast(@max(c, 0))) + 1);
    var encoder: Encoder = .{};
    var id: usize = 0;
    for (counts, 0..) |start_i, i| {
        const size = i + 1;
        const start: usize = @intCast(start_i);
        const end: usize = if (i + 1 < counts.len) @intCast(counts[i + 1]) else total;
        if (start > end or end > total) return error.BadPool;
        const grams = (end - start) / size;
        for (0..grams) |g| {
            defer id += 1;
            if (size < min_n or size > max_n) continue;
            if (id >= indexes.len or indexes[id] < 0) return error.BadPool;
            encoder.reset();
            for (start + g * size..start + (g + 1) * size) |k| {
                if (ints) |p| try encoder.int(arena, p[k]) else try encoder.string(arena, strings[k]);
            }
            const key = try arena.dupe(u8, encoder.bytes.items);
            try pool.columns.put(arena, key, @intCast(indexes[id]));
            pool.longest = @max(pool.longest, size);
        }
    }
    return pool;
}

const Row = struct {
    x: *const Tensor,
    ints: []const i64,
    start: usize,
    len: usize,

    fn encode(self: Row, encoder: *Encoder, arena: std.mem.Allocator, k: usize) !void {
        if (self.x.dtype == .string) return encoder.string(arena, self.x.strings[self.start + k]);
        return encoder.int(arena, self.ints[self.start + k]);
    }
};

/// Adds one to the column of every pool n-gram found in the row. Only sizes the pool holds and
/// the row can fit are tried, and only skips that keep an n-gram inside the row: the attributes
/// may say 2^40 (a hostile model), the row and pool bound the work. What is left can still be
/// long for a long row, so the run's cancel and deadline are checked once per size and skip.
fn countRow(ctx: *const Context, pool: *const Pool, row: Row, sizes: [2]usize, max_skip: usize, counts: []u32) !void {
    var encoder: Encoder = .{};
    const longest = @min(sizes[1], pool.longest, row.len);
    if (sizes[0] > longest) return;
    for (sizes[0]..longest + 1) |n| {
        // Unigrams do not skip: one distance is enough for them. An n-gram with distance d spans
        // (n - 1) * d + 1 items of the row.
        const distances = if (n == 1) 1 else @min(max_skip, (row.len - 1) / (n - 1) -| 1) + 1;
        for (1..distances + 1) |d| {
            try ctx.checkStop();
            const span = (n - 1) * d;
            var i: usize = 0;
            while (i + span < row.len) : (i += 1) {
                encoder.reset();
                for (0..n) |j| try row.encode(&encoder, ctx.arena, i + j * d);
                if (pool.columns.get(encoder.bytes.items)) |column| counts[column] += 1;
            }
        }
    }
}

fn tfIdfVectorizer(ctx: *Context) Error!void {
    const x = try ctx.require(0);
    if (x.dtype != .string and x.dtype != .int32 and x.dtype != .int64) return ctx.unsupported(x.dtype);
    if (x.shape.len > 2) return ctx.fail("X must be [C] or [B, C], not rank {d}", .{x.shape.len});
    const min_n = std.math.cast(usize, ctx.node.attrInt("min_gram_length", 1)) orelse 0;
    const max_n = std.math.cast(usize, ctx.node.attrInt("max_gram_length", 1)) orelse 0;
    const max_skip = std.math.cast(usize, ctx.node.attrInt("max_skip_count", 0)) orelse
        return ctx.fail("max_skip_count must not be negative", .{});
    if (min_n == 0 or max_n < min_n) return ctx.fail("gram lengths {d}..{d} are no range", .{ min_n, max_n });
    const pool = buildPool(ctx, min_n, max_n) catch |e| switch (e) {
        error.BadPool => return ctx.fail("ngram_counts or ngram_indexes do not fit the pool", .{}),
        else => return ctx.fail("out of memory", .{}),
    };
    const rows: usize = if (x.shape.len == 2) common.dim(x, 0) else 1;
    const width: usize = if (x.shape.len == 0) 1 else common.dim(x, x.shape.len - 1);
    const out_shape: []const i64 = if (x.shape.len == 2)
        &.{ x.shape[0], @intCast(pool.output_size) }
    else
        &.{@intCast(pool.output_size)};
    const y = try ctx.output(0, .float32, out_shape);
    const ys = y.items(f32)[0 .. rows * pool.output_size];
    const counts = try ctx.alloc(u32, pool.output_size);
    const ints: []const i64 = if (x.dtype == .string) &.{} else try util.ints(ctx, x, "X");
    for (0..rows) |r| {
        @memset(counts, 0);
        const row: Row = .{ .x = x, .ints = ints, .start = r * width, .len = width };
        countRow(ctx, &pool, row, .{ min_n, max_n }, max_skip, counts) catch |e| switch (e) {
            error.OutOfMemory => return ctx.fail("out of memory", .{}),
            else => |stopped| return stopped,
        };
        try weigh(ctx, counts, ys[r * pool.output_size ..][0..pool.output_size]);
    }
}

/// TF: the counts; IDF: the weight (or 1) where the count is not 0; TFIDF: weight times count.
fn weigh(ctx: *const Context, counts: []const u32, out: []f32) Error!void {
    const mode = ctx.node.attrString("mode", "TF");
    const weights = ctx.node.attrFloats("weights") orelse &.{};
    if (weights.len != 0 and weights.len < out.len) return ctx.fail("weights has {d} values, not {d}", .{ weights.len, out.len });
    for (out, counts, 0..) |*o, c, i| {
        const w: f32 = if (weights.len != 0) weights[i] else 1;
        const f: f32 = @floatFromInt(c);
        o.* = if (std.mem.eql(u8, mode, "TF"))
            f
        else if (std.mem.eql(u8, mode, "IDF"))
            (if (c > 0) w else 0)
        else if (std.mem.eql(u8, mode, "TFIDF"))
            w * f
        else
            return ctx.fail("unknown mode '{s}'", .{mode});
    }
}

pub const kernels = [_]@import("entry.zig").Entry{
    .{ .op = "TfIdfVectorizer", .run = tfIdfVectorizer },
};
