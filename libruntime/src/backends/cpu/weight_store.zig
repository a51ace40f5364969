//! Every GEMM operand the CPU packs from a model's constants at load goes through the model's
//! store, which finds it, in this order:
//!   1. in the model a hot update replaces (the donor): an operand packed the same way (same
//!      recipe: operand side, kernel variant, extents, transposition) from the same bytes,
//!      compared byte for byte, is shared, not packed again;
//!   2. in the compiled-model cache entry mapped for this load (exec/cache_file.zig): the entry's
//!      key covers the model bytes and everything else that decides the compile, so its sections
//!      come in the order this compile asks for them; each is still checked against the recipe,
//!      and the first that disagrees stops the store reading the entry (it is then rewritten);
//!   3. packed here, from the constant.
//! The store keeps one reference on each operand for the model's life, the packed weights one
//! each: disposing either of two models that share an operand leaves it to the other.
const std = @import("std");
const memory = @import("../../core/memory.zig");
const status = @import("../../core/status.zig");
const log = @import("../../core/log.zig");
const cache_file = @import("../../exec/cache_file.zig");
const backend = @import("../../exec/backend.zig");
const gemm = @import("gemm.zig");
const SharedPack = @import("shared_pack.zig").SharedPack;

/// How an operand was packed: what decides its bytes beside the source's bytes.
pub const Recipe = extern struct {
    operand: Operand,
    variant: u32,
    /// B: K; A: M.
    rows: u64,
    /// B: N; A: K.
    cols: u64,
    /// B read transposed (N x K row-major).
    trans: u32,
    reserved: u32 = 0,
    source_bytes: u64,

    pub const Operand = enum(u32) { b = 1, a = 2 };

    fn eql(x: Recipe, y: Recipe) bool {
        return std.mem.eql(u8, std.mem.asBytes(&x), std.mem.asBytes(&y));
    }
};

comptime {
    std.debug.assert(@sizeOf(Recipe) == @sizeOf(cache_file.Recipe));
}

const Use = struct {
    recipe: Recipe,
    pack: *SharedPack,
    /// The constant it was packed from (the model's own bytes, valid for the model's life).
    source: []const u8,
};

pub const Store = struct {
    uses: std.ArrayList(Use) = .empty,
    /// Set between begin and the end of the load's compile.
    donor: ?*const Store = null,
    entry: ?*cache_file.Entry = null,
    /// This device's index in the model's list: its sections in the entry carry it.
    device: u32 = 0,
    next_section: usize = 0,
    /// The entry disagreed with this compile (or was absent): a new one is worth writing.
    stale: bool = true,
    stats: backend.ReuseStats = .{},

    pub fn deinit(self: *Store) void {
        self.end();
        for (self.uses.items) |use| use.pack.release();
        self.uses.deinit(memory.allocator);
    }

    /// Called before the first pack: where operands may come from besides packing.
    pub fn begin(self: *Store, entry: ?*cache_file.Entry, device: u32, donor: ?*const Store) void {
        std.debug.assert(self.uses.items.len == 0);
        self.donor = donor;
        self.device = device;
        self.stale = entry == null;
        if (entry) |e| {
            e.retain();
            self.entry = e;
        }
    }

    /// After the compile: the donor and the entry are not read again.
    pub fn end(self: *Store) void {
        if (self.entry) |e| {
            // Sections of this device left unread: the entry holds more than this compile made.
            if (self.nextOwnSection(e) != null) self.stale = true;
            e.release();
        }
        self.entry = null;
        self.donor = null;
    }

    /// `b` (K x N row-major, or N x K when `trans`) packed for the GEMM with `tuning`.
    pub fn packB(self: *Store, tuning: gemm.Tuning, b: []const f32, trans: bool, k: usize, n: usize) status.Error!gemm.PackedB {
        const recipe: Recipe = .{ .operand = .b, .variant = @intFromEnum(tuning.variant), .rows = k, .cols = n, .trans = @intFromBool(trans), .source_bytes = b.len * @sizeOf(f32) };
        const pack = try self.reuse(recipe, std.mem.sliceAsBytes(b)) orelse blk: {
            var timer = std.time.Timer.start() catch null;
            var made = try gemm.PackedB.init(memory.allocator, tuning, b, if (trans) k else n, trans, k, n);
            if (timer) |*t| self.stats.pack_ns += t.read();
            self.stats.packed_bytes += made.data.len * @sizeOf(f32);
            const adopted = SharedPack.adopt(made.data) catch |e| {
                made.deinit();
                return e;
            };
            break :blk try self.keep(recipe, std.mem.sliceAsBytes(b), adopted);
        };
        return gemm.PackedB.fromShared(pack, tuning, k, n);
    }

    /// `a` (M x K row-major) packed as the GEMM's A for `variant`.
    pub fn packA(self: *Store, variant: gemm.Variant, a: []const f32, m: usize, k: usize) status.Error!gemm.PackedA {
        const recipe: Recipe = .{ .operand = .a, .variant = @intFromEnum(variant), .rows = m, .cols = k, .trans = 0, .source_bytes = a.len * @sizeOf(f32) };
        const pack = try self.reuse(recipe, std.mem.sliceAsBytes(a)) orelse blk: {
            var timer = std.time.Timer.start() catch null;
            var made = try gemm.PackedA.init(memory.allocator, variant, a, k, m, k);
            if (timer) |*t| self.stats.pack_ns += t.read();
            self.stats.packed_bytes += made.data.len * @sizeOf(f32);
            const adopted = SharedPack.adopt(made.data) catch |e| {
                made.deinit();
                return e;
            };
            break :blk try self.keep(recipe, std.mem.sliceAsBytes(a), adopted);
        };
        return gemm.PackedA.fromShared(pack, variant, m, k);
    }

    /// The operand from the donor or the entry, recorded with the store's reference; null when
    /// neither has it. The entry's section is claimed either way, so that the sections after it
    /// stay in step with the compile.
    fn reuse(self: *Store, recipe: Recipe, source: []const u8) status.Error!?*SharedPack {
        const section = try self.claimSection(recipe);
        if (self.donor) |donor| if (donor.find(recipe, source)) |pack| {
            pack.retain();
            self.stats.shared_bytes += pack.byteSize();
            return try self.keep(recipe, source, pack);
        };
        const index = section orelse return null;
        const pack = try SharedPack.mapped(self.entry.?, index);
        self.stats.cached_bytes += pack.byteSize();
        return try self.keep(recipe, source, pack);
    }

    /// The entry's next section of this device when it was packed by `recipe`.
    fn claimSection(self: *Store, recipe: Recipe) status.Error!?usize {
        const entry = self.entry orelse return null;
        const index = self.nextOwnSection(entry) orelse {
            self.stopReading("it has fewer operands than this compile packs");
            return null;
        };
        const section = entry.sections[index];
        if (!std.mem.eql(u8, &section.recipe, std.mem.asBytes(&recipe)) or section.bytes != try packedBytes(recipe)) {
            self.stopReading("an operand's recipe differs");
            return null;
        }
        self.next_section = index + 1;
        return index;
    }

    fn nextOwnSection(self: *const Store, entry: *const cache_file.Entry) ?usize {
        var i = self.next_section;
        while (i < entry.sections.len) : (i += 1) if (entry.sections[i].device == self.device) return i;
        return null;
    }

    fn stopReading(self: *Store, why: []const u8) void {
        log.write(.warn, "compiled-model cache: the entry does not match this model's compile ({s}); packing instead, and rewriting it", .{why});
        self.entry.?.release();
        self.entry = null;
        self.stale = true;
    }

    /// Records `pack` (whose reference the store takes) and returns it.
    fn keep(self: *Store, recipe: Recipe, source: []const u8, pack: *SharedPack) status.Error!*SharedPack {
        self.uses.append(memory.allocator, .{ .recipe = recipe, .pack = pack, .source = source }) catch {
            pack.release();
            return status.fail(error.OutOfResource, "out of memory keeping a packed weight", .{});
        };
        return pack;
    }

    /// An operand of this store packed by `recipe` from bytes equal to `source`.
    fn find(self: *const Store, recipe: Recipe, source: []const u8) ?*SharedPack {
        for (self.uses.items) |use| {
            if (recipe.eql(use.recipe) and std.mem.eql(u8, use.source, source)) return use.pack;
        }
        return null;
    }

    /// The sections a new cache entry holds for this device: every operand, in compile order.
    pub fn persist(self: *const Store, out: *std.ArrayList(cache_file.Outgoing)) status.Error!void {
        out.ensureUnusedCapacity(memory.allocator, self.uses.items.len) catch
            return status.fail(error.OutOfResource, "out of memory listing packed weights", .{});
        for (self.uses.items) |use| out.appendAssumeCapacity(.{
            .device = self.device,
            .recipe = std.mem.toBytes(use.recipe),
            .bytes = std.mem.sliceAsBytes(use.pack.data),
        });
    }
};

/// The packed size `recipe` gives, in bytes.
fn packedBytes(recipe: Recipe) status.Error!u64 {
    const variant = std.meta.intToEnum(gemm.Variant, recipe.variant) catch
        return status.fail(error.InvalidArgument, "unknown kernel variant {d}", .{recipe.variant});
    const shape = @import("gemm_kernels.zig").shape(variant);
    const across: u64 = switch (recipe.operand) {
        .b => std.math.divCeil(u64, recipe.cols, shape.nr) catch unreachable,
        .a => std.math.divCeil(u64, recipe.rows, shape.mr) catch unreachable,
    };
    const width: u64 = if (recipe.operand == .b) shape.nr else shape.mr;
    const depth = if (recipe.operand == .b) recipe.rows else recipe.cols;
    return across * width * depth * @sizeOf(f32);
}

fn testFloats(comptime count: usize, seed: u64) [count]f32 {
    var random = std.Random.DefaultPrng.init(seed);
    var out: [count]f32 = undefined;
    for (&out) |*v| v.* = random.random().float(f32) - 0.5;
    return out;
}

test "a donor's operands are shared by content, either store may go first, and nothing leaks" {
    const tuning = gemm.Tuning.forVariant(.portable, 0, 0);
    const start = memory.liveBytes();
    const w = testFloats(6 * 10, 1);
    const other = testFloats(6 * 10, 2);
    var old: Store = .{};
    var old_b = try old.packB(tuning, &w, false, 6, 10);
    var old_a = try old.packA(tuning.variant, &other, 6, 10);
    try std.testing.expectEqual(@as(u64, 0), old.stats.shared_bytes);
    // The same bytes in another buffer, as a new model's constants would hold them.
    const copy = w;
    var new: Store = .{};
    new.begin(null, 0, &old);
    var new_b = try new.packB(tuning, &copy, false, 6, 10);
    // Same bytes, another recipe (transposed): packed anew.
    var new_t = try new.packB(tuning, &copy, true, 10, 6);
    new.end();
    try std.testing.expectEqual(old_b.data.ptr, new_b.data.ptr);
    try std.testing.expect(new_t.data.ptr != old_b.data.ptr);
    try std.testing.expectEqual(@as(u64, old_b.data.len * 4), new.stats.shared_bytes);
    try std.testing.expectEqual(@as(u64, new_t.data.len * 4), new.stats.packed_bytes);
    // The old model goes first: its operands stay for the new one.
    old_b.deinit();
    old_a.deinit();
    old.deinit();
    var again = try gemm.PackedB.init(std.testing.allocator, tuning, &w, 10, false, 6, 10);
    defer again.deinit();
    try std.testing.expectEqualSlices(f32, again.data, new_b.data);
    new_b.deinit();
    new_t.deinit();
    new.deinit();
    try std.testing.expectEqual(start, memory.liveBytes());
}

test "an entry's sections are read in order, and one that disagrees stops the reading" {
    const tuning = gemm.Tuning.forVariant(.portable, 0, 0);
    var tmp = std.testing.tmpDir(.{});
    defer tmp.cleanup();
    var root_buffer: [std.fs.max_path_bytes]u8 = undefined;
    const root = try tmp.dir.realpath(".", &root_buffer);
    var path_buffer: [std.fs.max_path_bytes]u8 = undefined;
    const digest: cache_file.Digest = @splat(5);
    const path = try cache_file.entryPath(&path_buffer, root, digest);
    const w = testFloats(6 * 10, 3);
    {
        var first: Store = .{};
        defer first.deinit();
        var b = try first.packB(tuning, &w, false, 6, 10);
        defer b.deinit();
        var a = try first.packA(tuning.variant, &w, 6, 10);
        defer a.deinit();
        var sections: std.ArrayList(cache_file.Outgoing) = .empty;
        defer sections.deinit(memory.allocator);
        try first.persist(&sections);
        try cache_file.write(path, digest, "test", sections.items);
    }
    const entry = cache_file.open(path, digest).entry;
    var warm: Store = .{};
    defer warm.deinit();
    warm.begin(entry, 0, null);
    entry.release(); // the store holds its own reference
    var b = try warm.packB(tuning, &w, false, 6, 10);
    defer b.deinit();
    try std.testing.expect(b.shared.?.backing == .entry);
    try std.testing.expectEqual(@as(u64, 0), warm.stats.packed_bytes);
    // The entry's next section is an A of 6 x 10: a B asked here disagrees.
    var t = try warm.packB(tuning, &w, true, 10, 6);
    defer t.deinit();
    try std.testing.expect(t.shared.?.backing == .heap);
    warm.end();
    try std.testing.expect(warm.stale);
}
