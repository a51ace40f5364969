//! TreeEnsemble (ai.onnx.ml, opset 5; part of the ml family, see ml.zig): decision trees over
//! the rows of X [N, F], each tree reaching one leaf per row whose weight goes to its target
//! column, aggregated by SUM, AVERAGE, MIN or MAX into Y [N, n_targets] of X's type.
//!
//! Nodes are parallel arrays: a node compares X[row, feature] with its split (or, in MEMBER
//! mode, looks it up in its set of membership_values, the sets given in node order and each
//! ended by a NaN), then follows its true or false id, which names a leaf when the matching
//! *_leafs flag is set. A root whose both branches are the same leaf is itself that leaf.
const std = @import("std");
const common = @import("nn_common.zig");

const Context = common.Context;
const Error = common.Error;

pub const Mode = enum(u8) { leq, lt, gte, gt, eq, neq, member };

/// The nodes of every tree as parallel arrays; ml_tree_classic.zig builds one too, for the
/// older TreeEnsembleClassifier and TreeEnsembleRegressor.
pub const Forest = struct {
    splits: []const f64,
    features: []const i64,
    modes: []const Mode,
    true_ids: []const i64,
    false_ids: []const i64,
    true_leafs: []const i64,
    false_leafs: []const i64,
    missing_true: []const i64,
    members: []const []const f64,
    leaf_targets: []const i64,
    leaf_weights: []const f64,
    roots: []const i64,

    fn goesTrue(self: *const Forest, node: usize, row: []const f64) bool {
        const v = row[@intCast(self.features[node])];
        if (std.math.isNan(v) and node < self.missing_true.len and self.missing_true[node] != 0) return true;
        const split = self.splits[node];
        return switch (self.modes[node]) {
            .leq => v <= split,
            .lt => v < split,
            .gte => v >= split,
            .gt => v > split,
            .eq => v == split,
            .neq => v != split,
            .member => std.mem.indexOfScalar(f64, self.members[node], v) != null,
        };
    }

    /// Every node's feature must be a column of X.
    pub fn checkFeatures(self: *const Forest, ctx: *const Context, width: usize) Error!void {
        for (self.features) |feature| if (feature < 0 or feature >= width) return ctx.fail("feature {d} is out of range", .{feature});
    }

    /// The leaf a row reaches from the tree at node `root_id`; a malformed tree fails.
    pub fn reach(self: *const Forest, ctx: *const Context, root_id: i64, row: []const f64) Error!usize {
        const root = std.math.cast(usize, root_id) orelse return ctx.fail("tree root {d} is negative", .{root_id});
        if (root >= self.modes.len) return ctx.fail("tree root {d} is out of range", .{root});
        return self.leaf(root, row) orelse ctx.fail("the tree at {d} is malformed (a cycle or a bad node id)", .{root});
    }

    /// The leaf a row reaches from a root; null for a malformed tree (a cycle or a bad id).
    fn leaf(self: *const Forest, root: usize, row: []const f64) ?usize {
        if (self.true_leafs[root] != 0 and self.false_leafs[root] != 0 and self.true_ids[root] == self.false_ids[root]) return root;
        var node = root;
        for (0..self.modes.len) |_| {
            const yes = self.goesTrue(node, row);
            const next = std.math.cast(usize, if (yes) self.true_ids[node] else self.false_ids[node]) orelse return null;
            if ((if (yes) self.true_leafs[node] else self.false_leafs[node]) != 0) return next;
            if (next >= self.modes.len) return null;
            node = next;
        }
        return null;
    }
};

fn tensorFloats(ctx: *const Context, comptime name: []const u8) Error![]const f64 {
    const c = ctx.node.attrTensor(name) orelse return &.{};
    const out = try ctx.alloc(f64, @intCast(c.count));
    for (out, 0..) |*o, i| o.* = c.float(i) orelse return ctx.fail("{s} must hold numbers", .{name});
    return out;
}

fn ints(ctx: *const Context, comptime name: []const u8) []const i64 {
    return ctx.node.attrInts(name) orelse &.{};
}

fn load(ctx: *const Context) Error!Forest {
    const mode_values = try tensorFloats(ctx, "nodes_modes");
    const modes = try ctx.alloc(Mode, mode_values.len);
    for (modes, mode_values) |*m, v| {
        if (!(v >= 0 and v <= 6 and v == @floor(v))) return ctx.fail("node mode {d} is unknown", .{v});
        m.* = @enumFromInt(@as(u8, @intFromFloat(v)));
    }
    // Each MEMBER node takes the next run of membership_values, up to a NaN.
    const values = try tensorFloats(ctx, "membership_values");
    const members = try ctx.alloc([]const f64, modes.len);
    var at: usize = 0;
    for (members, modes) |*set, m| {
        set.* = &.{};
        if (m != .member) continue;
        const start = at;
        while (at < values.len and !std.math.isNan(values[at])) at += 1;
        set.* = values[start..at];
        at += 1;
    }
    const f: Forest = .{
        .splits = try tensorFloats(ctx, "nodes_splits"),
        .features = ints(ctx, "nodes_featureids"),
        .modes = modes,
        .true_ids = ints(ctx, "nodes_truenodeids"),
        .false_ids = ints(ctx, "nodes_falsenodeids"),
        .true_leafs = ints(ctx, "nodes_trueleafs"),
        .false_leafs = ints(ctx, "nodes_falseleafs"),
        .missing_true = ints(ctx, "nodes_missing_value_tracks_true"),
        .members = members,
        .leaf_targets = ints(ctx, "leaf_targetids"),
        .leaf_weights = try tensorFloats(ctx, "leaf_weights"),
        .roots = ints(ctx, "tree_roots"),
    };
    const n = modes.len;
    if (f.splits.len != n or f.features.len != n or f.true_ids.len != n or f.false_ids.len != n or
        f.true_leafs.len != n or f.false_leafs.len != n or f.leaf_targets.len != f.leaf_weights.len)
    {
        return ctx.fail("the node or leaf attributes differ in length", .{});
    }
    return f;
}

fn treeEnsemble(ctx: *Context) Error!void {
    const x = try ctx.require(0);
    if (x.shape.len != 2) return ctx.fail("X must be [N, F]", .{});
    _ = try common.precision(ctx, x.dtype, false);
    if (ctx.node.attrInt("post_transform", 0) != 0) return common.notImplemented(ctx, "post_transform other than NONE", .{});
    const forest = try load(ctx);
    const rows = common.dim(x, 0);
    const width = common.dim(x, 1);
    try forest.checkFeatures(ctx, width);
    const targets = std.math.cast(usize, ctx.node.attrInt("n_targets", 1)) orelse return ctx.fail("n_targets is negative", .{});
    const aggregate = ctx.node.attrInt("aggregate_function", 1); // 0 AVERAGE, 1 SUM, 2 MIN, 3 MAX
    if (aggregate < 0 or aggregate > 3) return ctx.fail("aggregate_function {d} is unknown", .{aggregate});
    const xs = try common.floats(f64, ctx, x);
    const y = try common.floatOutput(f64, ctx, 0, x.dtype, &.{ @intCast(rows), @intCast(targets) });
    const largest: f64 = if (x.dtype == .float64) std.math.floatMax(f64) else if (x.dtype == .float16) std.math.floatMax(f16) else std.math.floatMax(f32);
    @memset(y.values, switch (aggregate) {
        2 => largest,
        3 => -largest,
        else => 0,
    });
    const trees: f64 = @floatFromInt(forest.roots.len);
    for (0..rows) |r| {
        const row = xs[r * width ..][0..width];
        const out = y.values[r * targets ..][0..targets];
        for (forest.roots) |root_id| {
            const leaf = try forest.reach(ctx, root_id, row);
            if (leaf >= forest.leaf_weights.len) return ctx.fail("leaf {d} is out of range", .{leaf});
            const target = std.math.cast(usize, forest.leaf_targets[leaf]) orelse targets;
            if (target >= targets) return ctx.fail("leaf target {d} is out of range", .{forest.leaf_targets[leaf]});
            const w = forest.leaf_weights[leaf];
            out[target] = switch (aggregate) {
                0 => out[target] + w / trees,
                1 => out[target] + w,
                2 => @min(out[target], w),
                else => @max(out[target], w),
            };
        }
    }
    y.finish();
}

pub const kernels = [_]@import("entry.zig").Entry{
    .{ .domain = "ai.onnx.ml", .op = "TreeEnsemble", .run = treeEnsemble },
};
