//! 3x3 stride-1 f32 convolutions by Winograd's minimal filtering F(4x4, 3x3) (Lavin and Gray,
//! "Fast Algorithms for Convolutional Neural Networks"): each 4x4 block of outputs comes from a
//! 6x6 block of inputs with 36 multiplies per input and output channel pair instead of 144. The
//! work becomes three steps per block of tiles:
//! - input transform: V[xi][tile][ic] = (B^T d B)[xi] for each tile's 6x6 patch d, read from a
//!   zero-padded copy of the image with channels innermost (so that 16 channels are one vector);
//! - 36 SGEMMs: M[xi] (tiles x OC) = V[xi] (tiles x IC) * U[xi] (IC x OC), where U = G g G^T is
//!   the transformed weight, packed for the GEMM once, at load;
//! - output transform: Y = A^T M A per tile and output channel, then the bias, and a fused
//!   residual and activation over the block's rows while they are in cache.
//! Tiles are cut into blocks of whole tile rows whose V and M fit in half of L2. On several
//! threads, each thread takes whole blocks; when there are too few tiles for that (a 14x14 map
//! has 16), blocks run one at a time with the transforms split over tiles and each GEMM split
//! over output channels.
//!
//! It pays where the GEMM is large against the transforms (many channels), the map holds enough
//! tiles to reuse U, and U (4x the size of W) is not so large that streaming it outweighs the
//! multiplies saved: `worthwhile` decides at load. Measured on ResNet-50 at one thread: the 56x56
//! and 28x28 3x3 stages take 10% and 18% less time than the direct convolution.
//! Rounding differs from the direct convolution by a few units of the last place times the
//! transform's gain (relative error around 1e-6 for the inputs of a trained network).
const std = @import("std");
const common = @import("nn_common.zig");
const im2col_module = @import("nn_im2col.zig");
const gemm = @import("../gemm.zig");
const cpu = @import("../../../device/cpu.zig");
const memory = @import("../../../core/memory.zig");
const status = @import("../../../core/status.zig");
const fused = @import("fused.zig");
const env = @import("../../../core/env.zig");
const ThreadPool = @import("../thread_pool.zig").ThreadPool;
const Store = @import("../weight_store.zig").Store;

const Context = common.Context;
const Error = common.Error;
const Geometry = common.Geometry;

/// Channels per vector: the transforms work on 16 channels at a time at every CPU level (LLVM
/// splits the vector for narrower registers).
const lanes = 16;
const V = @Vector(lanes, f32);
/// Output tile edge (m), input tile edge (m + r - 1) and transformed positions per tile.
const out_tile = 4;
const in_tile = 6;
const positions = in_tile * in_tile;

/// Fewest channels on either side for the GEMM to outweigh the transforms.
const min_channels = 32;
/// Fewest output tiles per image: fewer would stream U (4x W) for little work.
const min_tiles = 16;
/// The largest transformed weight worth its memory and bandwidth (see worthwhile).
const max_u_bytes = 4 << 20;
/// The most scratch (V and M) one block may take to avoid streaming U once more.
const max_block_bytes = 8 << 20;

/// TESSERA_CONV_WINOGRAD=0 turns the engine off for models loaded afterwards, so that a
/// benchmark can time the direct convolutions it replaces.
fn enabled() bool {
    const Switch = struct {
        var once = std.once(read);
        var on: bool = true;
        fn read() void {
            var buffer: env.Buffer = undefined;
            if (env.get("TESSERA_CONV_WINOGRAD", &buffer)) |value| on = !std.mem.eql(u8, value, "0");
        }
    };
    Switch.once.call();
    return Switch.on;
}

/// Whether a convolution with these attributes is computed this way: a 2-D 3x3 window, stride 1,
/// dilation 1, one group, enough channels, and (where inference knows them) enough output tiles.
pub fn worthwhile(group: usize, c: usize, m: usize, kernel: []const i64, strides: ?[]const i64, dilations: ?[]const i64, out_hw: ?[2]usize) bool {
    if (!enabled()) return false;
    if (group != 1 or kernel.len != 2 or kernel[0] != 3 or kernel[1] != 3) return false;
    if (c < min_channels or m < min_channels) return false;
    // A U of many channels streams from memory for each block of tiles; measured on ResNet-50's
    // 14x14 stage (256 channels, U 9.4 MB) it gained nothing over the direct convolution and
    // held four times the weights.
    if (positions * roundToLanes(c) * roundToLanes(m) * @sizeOf(f32) > max_u_bytes) return false;
    for ([_]?[]const i64{ strides, dilations }) |list| if (list) |values| {
        if (values.len != 2) return false;
        for (values) |v| if (v != 1) return false;
    };
    const hw = out_hw orelse return false;
    return tileCount(hw[0]) * tileCount(hw[1]) >= min_tiles;
}

/// Whether a run's window is one this engine computes (checked again on every run, since the
/// prepared form only says what the attributes promised).
pub fn fits(g: Geometry) bool {
    return g.rank == 2 and g.kernel[1] == 3 and g.kernel[2] == 3 and g.stride[1] == 1 and g.stride[2] == 1 and
        g.dilation[1] == 1 and g.dilation[2] == 1 and g.pad[1] >= 0 and g.pad[2] >= 0;
}

fn tileCount(extent: usize) usize {
    return std.math.divCeil(usize, extent, out_tile) catch unreachable;
}

fn roundToLanes(n: usize) usize {
    return std.mem.alignForward(usize, n, lanes);
}

/// The transformed weight U = G g G^T: one packed IC x OC GEMM operand per position of the 6x6
/// tile, channels padded with zeros to whole vectors. Immutable once made.
pub const Weights = struct {
    c: usize,
    m: usize,
    u: [positions]gemm.PackedB,

    /// `w` is M x C x 3 x 3. Packed through `store` (the compiled-model cache and hot updates
    /// reuse U from there) at load, or with the library's allocator alone (null).
    pub fn init(store: ?*Store, w: []const f32, c: usize, m: usize) Error!*Weights {
        const cp = roundToLanes(c);
        const mp = roundToLanes(m);
        const floats = std.math.mul(usize, positions * cp, mp) catch return outOfMemory();
        const scratch = memory.allocator.alloc(f32, floats) catch return outOfMemory();
        defer memory.allocator.free(scratch);
        @memset(scratch, 0);
        for (0..m) |oc| for (0..c) |ic| {
            const u = transformWeight(w[(oc * c + ic) * 9 ..][0..9]);
            for (u, 0..) |value, xi| scratch[(xi * cp + ic) * mp + oc] = value;
        };
        const self = memory.allocator.create(Weights) catch return outOfMemory();
        errdefer memory.allocator.destroy(self);
        self.c = c;
        self.m = m;
        const tuning = im2col_module.hostTuning();
        var made: usize = 0;
        errdefer for (self.u[0..made]) |*u| u.deinit();
        for (&self.u, 0..) |*u, xi| {
            const matrix = scratch[xi * cp * mp ..][0 .. cp * mp];
            u.* = if (store) |s| try s.packB(tuning, matrix, false, cp, mp) else try gemm.PackedB.init(memory.allocator, tuning, matrix, mp, false, cp, mp);
            made += 1;
        }
        return self;
    }

    pub fn deinit(self: *Weights) void {
        for (&self.u) |*u| u.deinit();
        memory.allocator.destroy(self);
    }

    fn paddedC(self: *const Weights) usize {
        return roundToLanes(self.c);
    }
    fn paddedM(self: *const Weights) usize {
        return roundToLanes(self.m);
    }
};

fn outOfMemory() Error {
    return status.fail(error.OutOfResource, "out of memory transforming convolution weights", .{});
}

/// G g G^T for one 3x3 filter, row-major 6x6. In f64, so that the stored U is the correctly
/// rounded transform of the weights.
fn transformWeight(g: *const [9]f32) [positions]f32 {
    const G = [in_tile][3]f64{
        .{ 1.0 / 4.0, 0, 0 },
        .{ -1.0 / 6.0, -1.0 / 6.0, -1.0 / 6.0 },
        .{ -1.0 / 6.0, 1.0 / 6.0, -1.0 / 6.0 },
        .{ 1.0 / 24.0, 1.0 / 12.0, 1.0 / 6.0 },
        .{ 1.0 / 24.0, -1.0 / 12.0, 1.0 / 6.0 },
        .{ 0, 0, 1 },
    };
    var gg: [in_tile][3]f64 = undefined; // G g
    for (0..in_tile) |i| for (0..3) |j| {
        var sum: f64 = 0;
        for (0..3) |k| sum += G[i][k] * g[k * 3 + j];
        gg[i][j] = sum;
    };
    var u: [positions]f32 = undefined;
    for (0..in_tile) |i| for (0..in_tile) |j| {
        var sum: f64 = 0;
        for (0..3) |k| sum += gg[i][k] * G[j][k];
        u[i * in_tile + j] = @floatCast(sum);
    };
    return u;
}

/// B^T x for one column (or row) of a 6x6 input patch.
inline fn inputColumn(d: [in_tile]V) [in_tile]V {
    const two: V = @splat(2);
    const four: V = @splat(4);
    const five: V = @splat(5);
    return .{
        four * d[0] - five * d[2] + d[4],
        d[3] + d[4] - four * (d[1] + d[2]),
        four * (d[1] - d[2]) + d[4] - d[3],
        two * (d[3] - d[1]) + d[4] - d[2],
        two * (d[1] - d[3]) + d[4] - d[2],
        four * d[1] - five * d[3] + d[5],
    };
}

/// A^T x for one column (or row) of a 6x6 product.
inline fn outputColumn(m: [in_tile]V) [out_tile]V {
    const two: V = @splat(2);
    const four: V = @splat(4);
    const eight: V = @splat(8);
    const sum12 = m[1] + m[2];
    const diff12 = m[1] - m[2];
    const sum34 = m[3] + m[4];
    const diff34 = m[3] - m[4];
    return .{
        m[0] + sum12 + sum34,
        diff12 + two * diff34,
        sum12 + four * sum34,
        diff12 + eight * diff34 + m[5],
    };
}

/// Y = act(conv(X, W) + bias + residual) for f32 X, N x C x H x W, with W prepared as `weights`.
pub fn run(ctx: *const Context, g: Geometry, n: usize, weights: *const Weights, x: []const f32, bias: ?[]const f32, fusion: fused.ConvFusion, y: []f32) Error!void {
    const layout = Layout.of(g, weights, ctx.threadCount());
    if (layout.tiles == 0 or n == 0) return;
    const padded = try ctx.alloc(f32, try common.mulChecked(ctx, layout.padded_rows * layout.padded_cols, layout.cp));
    const scratch = try ctx.alloc(f32, try common.mulChecked(ctx, layout.blockFloats(), layout.slots));
    const bias_padded = try ctx.alloc(f32, layout.mp);
    @memset(bias_padded, 0);
    if (bias) |b| @memcpy(bias_padded[0..weights.m], b[0..weights.m]);
    const tuning = im2col_module.hostTuning();
    const workspaces = try ctx.alloc(gemm.Workspace, layout.slots);
    var made: usize = 0;
    defer for (workspaces[0..made]) |*w| w.deinit();
    for (workspaces) |*w| {
        w.* = try gemm.Workspace.init(ctx.arena, tuning, if (layout.whole) ctx.threadCount() else 1);
        made += 1;
    }
    const in_plane = g.inCount();
    const out_plane = g.outCount();
    for (0..n) |image| {
        var job: Job = .{
            .ctx = ctx,
            .g = g,
            .layout = layout,
            .weights = weights,
            .x = x[image * weights.c * in_plane ..][0 .. weights.c * in_plane],
            .padded = padded,
            .bias = bias_padded,
            .y = y[image * weights.m * out_plane ..][0 .. weights.m * out_plane],
            .residual = if (fusion.residual) |r| r[image * weights.m * out_plane ..][0 .. weights.m * out_plane] else null,
            .activation = fusion.activation,
            .scratch = scratch,
            .workspaces = workspaces,
        };
        common.runUnits(ctx, layout.padded_rows, ctx.threadCount(), &job, Job.padRow);
        if (layout.whole) {
            for (0..layout.blocks) |block| try job.runBlockWhole(block);
        } else {
            common.runUnits(ctx, layout.blocks, layout.slots, &job, Job.runBlockAlone);
            if (job.failed.load(.monotonic)) return ctx.fail("the convolution's GEMM failed", .{});
        }
    }
}

/// How one image is cut: tiles, blocks of whole tile rows, and the scratch each slot needs.
const Layout = struct {
    tiles_h: usize,
    tiles_w: usize,
    tiles: usize,
    /// Input channels and output channels, rounded up to whole vectors.
    cp: usize,
    mp: usize,
    /// The zero-padded channels-last copy of one image: rows x cols x cp.
    padded_rows: usize,
    padded_cols: usize,
    /// Tile rows per block, and blocks per image.
    block_rows: usize,
    blocks: usize,
    /// One block at a time, its transforms split over tiles and its GEMMs over output channels.
    whole: bool,
    /// Blocks that run at once, each with its own scratch.
    slots: usize,

    fn of(g: Geometry, weights: *const Weights, threads: usize) Layout {
        const tiles_h = tileCount(g.out[1]);
        const tiles_w = tileCount(g.out[2]);
        const cp = weights.paddedC();
        const mp = weights.paddedM();
        // V and M of a block in half of L2, leaving room for the B panels passing through.
        const l2: usize = @intCast(@min(cpu.detect().cache_l2_bytes, 1 << 24));
        const budget = @max(l2, 256 * 1024) / 2;
        const per_tile = positions * (cp + mp) * @sizeOf(f32);
        const fit_rows = @max(1, budget / (per_tile * @max(tiles_w, 1)));
        var layout: Layout = .{
            .tiles_h = tiles_h,
            .tiles_w = tiles_w,
            .tiles = tiles_h * tiles_w,
            .cp = cp,
            .mp = mp,
            .padded_rows = tiles_h * out_tile + 2,
            .padded_cols = tiles_w * out_tile + 2,
            .block_rows = @min(fit_rows, tiles_h),
            .blocks = 0,
            .whole = false,
            .slots = 1,
        };
        // A U beyond the budget streams from L3 or memory once per block: then as few blocks as
        // memory allows (at most 8 MiB of V and M), and the threads share each block, each
        // streaming its own output channels' part of U.
        const u_bytes = positions * cp * mp * @sizeOf(f32);
        const large_u = u_bytes > budget;
        if (large_u) layout.block_rows = @min(tiles_h, @max(fit_rows, max_block_bytes / (per_tile * @max(tiles_w, 1))));
        if (threads > 1) {
            // Whole blocks per thread need at least two blocks per thread of a GEMM-sized
            // number of tiles (two micro-tiles of rows) each; otherwise the threads share blocks.
            const rows_per_thread = std.math.divCeil(usize, tiles_h, 2 * threads) catch unreachable;
            const rows = @min(layout.block_rows, rows_per_thread);
            if (!large_u and rows * tiles_w >= 24) {
                layout.block_rows = rows;
            } else {
                layout.whole = true;
            }
        }
        layout.blocks = if (tiles_h == 0) 0 else std.math.divCeil(usize, tiles_h, layout.block_rows) catch unreachable;
        layout.slots = if (layout.whole) 1 else @min(threads, layout.blocks);
        return layout;
    }

    fn blockTiles(self: Layout) usize {
        return self.block_rows * self.tiles_w;
    }

    /// V then M of one block, each 36 x tiles x channels.
    fn blockFloats(self: Layout) usize {
        return std.mem.alignForward(usize, positions * self.blockTiles() * (self.cp + self.mp), 16);
    }
};

const Job = struct {
    ctx: *const Context,
    g: Geometry,
    layout: Layout,
    weights: *const Weights,
    /// One image: C x H x W.
    x: []const f32,
    padded: []f32,
    /// mp values, zero past M.
    bias: []const f32,
    /// One image: M x OH x OW, and the fused residual laid out alike.
    y: []f32,
    residual: ?[]const f32,
    activation: fused.Activation,
    scratch: []f32,
    workspaces: []gemm.Workspace,
    failed: std.atomic.Value(bool) = .init(false),

    /// Row `row` of the padded channels-last copy: zeros outside the image, else 16 channels
    /// of one pixel per vector.
    fn padRow(self: *Job, slot: usize, row: usize) void {
        _ = slot;
        const l = self.layout;
        const g = self.g;
        const out = self.padded[row * l.padded_cols * l.cp ..][0 .. l.padded_cols * l.cp];
        @memset(out, 0);
        const top: usize = @intCast(g.pad[1]);
        const left: usize = @intCast(g.pad[2]);
        if (row < top or row - top >= g.in[1]) return;
        const h = row - top;
        const width = g.in[2];
        const cols = @min(width, l.padded_cols -| left);
        const plane = g.inCount();
        const c = self.weights.c;
        var c0: usize = 0;
        while (c0 < c) : (c0 += lanes) {
            const count = @min(lanes, c - c0);
            for (0..count) |lane| {
                const src = self.x[(c0 + lane) * plane + h * width ..][0..cols];
                for (src, 0..) |v, w| out[(left + w) * l.cp + c0 + lane] = v;
            }
        }
    }

    fn blockSlice(self: *const Job, slot: usize) []f32 {
        const len = self.layout.blockFloats();
        return self.scratch[slot * len ..][0..len];
    }

    /// Block `block` entirely on the calling thread, with scratch slot `slot`.
    fn runBlockAlone(self: *Job, slot: usize, block: usize) void {
        var part = self.blockPart(slot, block);
        for (0..part.tiles) |t| part.inputTile(t);
        part.multiply(&self.workspaces[slot], null) catch {
            self.failed.store(true, .monotonic);
            return;
        };
        for (0..part.tiles) |t| part.outputTile(t);
        part.finishRows();
    }

    /// Block `block` with every thread: transforms over tiles, GEMMs over output channels.
    fn runBlockWhole(self: *Job, block: usize) Error!void {
        var part = self.blockPart(0, block);
        common.runUnits(self.ctx, part.tiles, self.ctx.threadCount(), &part, BlockPart.inputUnit);
        try part.multiply(&self.workspaces[0], self.ctx.pool);
        common.runUnits(self.ctx, part.tiles, self.ctx.threadCount(), &part, BlockPart.outputUnit);
        part.finishRows();
    }

    fn blockPart(self: *const Job, slot: usize, block: usize) BlockPart {
        const l = self.layout;
        const first_row = block * l.block_rows;
        const rows = @min(l.block_rows, l.tiles_h - first_row);
        const area = self.blockSlice(slot);
        const capacity = l.blockTiles();
        return .{
            .job = self,
            .first_row = first_row,
            .rows = rows,
            .tiles = rows * l.tiles_w,
            .capacity = capacity,
            .v = area[0 .. positions * capacity * l.cp],
            .m = area[positions * capacity * l.cp ..][0 .. positions * capacity * l.mp],
        };
    }
};

/// The tiles of one block of tile rows, with the V and M it fills.
const BlockPart = struct {
    job: *const Job,
    first_row: usize,
    rows: usize,
    tiles: usize,
    /// Tiles the scratch holds per transformed position (its row stride in tiles).
    capacity: usize,
    v: []f32,
    m: []f32,

    fn inputUnit(self: *BlockPart, slot: usize, t: usize) void {
        _ = slot;
        self.inputTile(t);
    }

    fn outputUnit(self: *BlockPart, slot: usize, t: usize) void {
        _ = slot;
        self.outputTile(t);
    }

    /// V[xi][t][all channels] = B^T d B for tile `t` of the block.
    fn inputTile(self: *const BlockPart, t: usize) void {
        const l = self.job.layout;
        const tile_row = self.first_row + t / l.tiles_w;
        const tile_col = t % l.tiles_w;
        const row_stride = l.padded_cols * l.cp;
        const origin = (tile_row * out_tile * l.padded_cols + tile_col * out_tile) * l.cp;
        var c0: usize = 0;
        while (c0 < l.cp) : (c0 += lanes) {
            var d: [in_tile][in_tile]V = undefined;
            inline for (0..in_tile) |r| inline for (0..in_tile) |c| {
                d[r][c] = self.job.padded[origin + r * row_stride + c * l.cp + c0 ..][0..lanes].*;
            };
            // Columns first (B^T d), then rows ((B^T d) B).
            var columns: [in_tile][in_tile]V = undefined; // [row of B^T d][column]
            inline for (0..in_tile) |c| {
                const column = inputColumn(.{ d[0][c], d[1][c], d[2][c], d[3][c], d[4][c], d[5][c] });
                inline for (0..in_tile) |r| columns[r][c] = column[r];
            }
            inline for (0..in_tile) |r| {
                const row = inputColumn(columns[r]);
                inline for (0..in_tile) |c| {
                    const xi = r * in_tile + c;
                    self.v[(xi * self.capacity + t) * l.cp + c0 ..][0..lanes].* = row[c];
                }
            }
        }
    }

    /// M[xi] = V[xi] * U[xi] for the 36 positions.
    fn multiply(self: *const BlockPart, workspace: *const gemm.Workspace, pool: ?*ThreadPool) Error!void {
        const l = self.job.layout;
        for (0..positions) |xi| {
            try gemm.gemm(.{
                .m = self.tiles,
                .n = l.mp,
                .k = l.cp,
                .a = self.v[xi * self.capacity * l.cp ..][0 .. self.tiles * l.cp],
                .lda = l.cp,
                .c = self.m[xi * self.capacity * l.mp ..][0 .. self.tiles * l.mp],
                .ldc = l.mp,
            }, &self.job.weights.u[xi], workspace, pool);
        }
    }

    /// Y = A^T M A + bias for tile `t`, every output channel, stored where it falls inside Y.
    fn outputTile(self: *const BlockPart, t: usize) void {
        const job = self.job;
        const l = job.layout;
        const g = job.g;
        const tile_row = self.first_row + t / l.tiles_w;
        const tile_col = t % l.tiles_w;
        const oh = g.out[1];
        const ow = g.out[2];
        const out_plane = oh * ow;
        const h0 = tile_row * out_tile;
        const w0 = tile_col * out_tile;
        const valid_h = @min(out_tile, oh - h0);
        const valid_w = @min(out_tile, ow - w0);
        var o0: usize = 0;
        while (o0 < job.weights.m) : (o0 += lanes) {
            var m: [in_tile][in_tile]V = undefined;
            inline for (0..in_tile) |r| inline for (0..in_tile) |c| {
                const xi = r * in_tile + c;
                m[r][c] = self.m[(xi * self.capacity + t) * l.mp + o0 ..][0..lanes].*;
            };
            var columns: [out_tile][in_tile]V = undefined; // [row of A^T m][column]
            inline for (0..in_tile) |c| {
                const column = outputColumn(.{ m[0][c], m[1][c], m[2][c], m[3][c], m[4][c], m[5][c] });
                inline for (0..out_tile) |r| columns[r][c] = column[r];
            }
            const bias: V = job.bias[o0..][0..lanes].*;
            // [output position in the tile][channel lane], spilled to scatter by channel.
            var spill: [out_tile * out_tile][lanes]f32 = undefined;
            inline for (0..out_tile) |r| {
                const row = outputColumn(columns[r]);
                inline for (0..out_tile) |c| spill[r * out_tile + c] = row[c] + bias;
            }
            const count = @min(lanes, job.weights.m - o0);
            for (0..count) |lane| {
                const plane = job.y[(o0 + lane) * out_plane ..][0..out_plane];
                for (0..valid_h) |r| {
                    const line = plane[(h0 + r) * ow + w0 ..][0..valid_w];
                    for (line, 0..) |*o, c| o.* = spill[r * out_tile + c][lane];
                }
            }
        }
    }

    /// The fused residual and activation over the block's output rows, still in cache.
    fn finishRows(self: *const BlockPart) void {
        const job = self.job;
        if (job.residual == null and job.activation.kind == .none) return;
        const g = job.g;
        const ow = g.out[2];
        const out_plane = g.out[1] * ow;
        const h0 = self.first_row * out_tile;
        const h1 = @min((self.first_row + self.rows) * out_tile, g.out[1]);
        for (0..job.weights.m) |oc| {
            const span = job.y[oc * out_plane + h0 * ow ..][0 .. (h1 - h0) * ow];
            if (job.residual) |r| for (span, r[oc * out_plane + h0 * ow ..][0..span.len]) |*o, v| {
                o.* += v;
            };
            job.activation.applySlice(span);
        }
    }
};
