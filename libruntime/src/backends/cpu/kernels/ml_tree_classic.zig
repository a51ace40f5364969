//! TreeEnsembleClassifier and TreeEnsembleRegressor (ai.onnx.ml opsets 1-3; part of the ml
//! family, see ml.zig), what scikit-learn's decision trees, random forests and gradient boosting
//! convert to. Their nodes name each other by (tree id, node id) and mark leaves with mode LEAF;
//! a leaf carries any number of (class or target, weight) pairs. This file resolves those ids
//! once into ml_tree.zig's Forest, whose walk both formats share, and keeps the weights per leaf.
//! The classifier's binary cases (one scored class, base_values, the label it picks) follow
//! onnxruntime, which is what scikit-learn conversions are checked against.
const std = @import("std");
const common = @import("nn_common.zig");
const scores = @import("ml_scores.zig");
const tree = @import("ml_tree.zig");

const Context = common.Context;
const Error = common.Error;

const status = @import("../../../core/status.zig");

const NodeKey = struct { tree: i64, node: i64 };
const NodeIndex = std.AutoHashMap(NodeKey, usize);

/// The forest, the node index of each tree's root, and each leaf's weights: those of node i
/// are entries first[i]..first[i + 1].
const Ensemble = struct {
    forest: tree.Forest,
    first: []const usize,
    outputs: []const usize,
    weights: []const f64,
    /// Every weight is >= 0 (a probability-like score, not a margin).
    all_positive: bool,
    /// Weights go to exactly one class.
    one_class_scored: bool,

    fn leafWeights(self: *const Ensemble, leaf: usize) struct { []const usize, []const f64 } {
        const from = self.first[leaf];
        const to = self.first[leaf + 1];
        return .{ self.outputs[from..to], self.weights[from..to] };
    }
};

const modes = std.StaticStringMap(?tree.Mode).initComptime(.{
    .{ "BRANCH_LEQ", .leq }, .{ "BRANCH_LT", .lt },   .{ "BRANCH_GTE", .gte }, .{ "BRANCH_GT", .gt },
    .{ "BRANCH_EQ", .eq },   .{ "BRANCH_NEQ", .neq }, .{ "LEAF", null },
});

fn oom() Error {
    return status.fail(error.OutOfResource, "out of memory", .{});
}

fn sameLength(ctx: *const Context, name: []const u8, len: usize, n: usize) Error!void {
    if (len != n) return ctx.fail("{s} has {d} entries for {d} nodes", .{ name, len, n });
}

/// The node attributes as a Forest. A LEAF node becomes a node whose both branches are itself,
/// so that a one-leaf tree is its own leaf; a branch into a LEAF node sets the *_leafs flag.
fn loadForest(ctx: *const Context, index: *NodeIndex) Error!tree.Forest {
    const tree_ids = scores.ints(ctx, "nodes_treeids");
    const node_ids = scores.ints(ctx, "nodes_nodeids");
    const n = tree_ids.len;
    if (n == 0) return ctx.fail("has no nodes", .{});
    const names = ctx.node.attrStrings("nodes_modes") orelse &.{};
    const values = try scores.floatList(ctx, "nodes_values");
    const features = scores.ints(ctx, "nodes_featureids");
    const true_ids = scores.ints(ctx, "nodes_truenodeids");
    const false_ids = scores.ints(ctx, "nodes_falsenodeids");
    const missing = scores.ints(ctx, "nodes_missing_value_tracks_true");
    try sameLength(ctx, "nodes_nodeids", node_ids.len, n);
    try sameLength(ctx, "nodes_modes", names.len, n);
    try sameLength(ctx, "nodes_values", values.len, n);
    try sameLength(ctx, "nodes_featureids", features.len, n);
    try sameLength(ctx, "nodes_truenodeids", true_ids.len, n);
    try sameLength(ctx, "nodes_falsenodeids", false_ids.len, n);
    if (missing.len != 0) try sameLength(ctx, "nodes_missing_value_tracks_true", missing.len, n);

    const kinds = try ctx.alloc(?tree.Mode, n);
    var roots: std.ArrayList(i64) = .empty;
    var trees = std.AutoHashMap(i64, void).init(ctx.arena);
    for (kinds, names, tree_ids, node_ids, 0..) |*k, name, t, id, i| {
        k.* = modes.get(name) orelse return ctx.fail("node mode '{s}' is unknown", .{name});
        const slot = index.getOrPut(.{ .tree = t, .node = id }) catch return oom();
        if (slot.found_existing) return ctx.fail("tree {d} has two nodes {d}", .{ t, id });
        slot.value_ptr.* = i;
        // A tree's root is its first node in the lists.
        const seen = trees.getOrPut(t) catch return oom();
        if (!seen.found_existing) roots.append(ctx.arena, @intCast(i)) catch return oom();
    }
    const f: struct { modes: []tree.Mode, features: []i64, to: [2][]i64, leafs: [2][]i64 } = .{
        .modes = try ctx.alloc(tree.Mode, n),
        .features = try ctx.alloc(i64, n),
        .to = .{ try ctx.alloc(i64, n), try ctx.alloc(i64, n) },
        .leafs = .{ try ctx.alloc(i64, n), try ctx.alloc(i64, n) },
    };
    for (0..n) |i| {
        const mode = kinds[i] orelse {
            f.modes[i] = .leq;
            f.features[i] = 0;
            for (f.to, f.leafs) |to, leafs| {
                to[i] = @intCast(i);
                leafs[i] = 1;
            }
            continue;
        };
        f.modes[i] = mode;
        f.features[i] = features[i];
        for (f.to, f.leafs, [2]i64{ true_ids[i], false_ids[i] }) |to, leafs, id| {
            const target = index.get(.{ .tree = tree_ids[i], .node = id }) orelse
                return ctx.fail("node {d} of tree {d} branches to node {d}, which it does not have", .{ node_ids[i], tree_ids[i], id });
            to[i] = @intCast(target);
            leafs[i] = @intFromBool(kinds[target] == null);
        }
    }
    return .{
        .splits = values,
        .features = f.features,
        .modes = f.modes,
        .true_ids = f.to[0],
        .false_ids = f.to[1],
        .true_leafs = f.leafs[0],
        .false_leafs = f.leafs[1],
        .missing_true = missing,
        .members = &.{},
        .leaf_targets = &.{},
        .leaf_weights = &.{},
        .roots = roots.items,
    };
}

/// The leaf weights (class_* or target_* lists), grouped by leaf node; `outputs` bounds the ids.
fn loadEnsemble(ctx: *const Context, comptime prefix: []const u8, comptime id_name: []const u8, outputs: usize) Error!Ensemble {
    var index = NodeIndex.init(ctx.arena);
    const forest = try loadForest(ctx, &index);
    const tree_ids = scores.ints(ctx, prefix ++ "_treeids");
    const node_ids = scores.ints(ctx, prefix ++ "_nodeids");
    const ids = scores.ints(ctx, id_name);
    const weights = try scores.floatList(ctx, prefix ++ "_weights");
    const m = weights.len;
    if (tree_ids.len != m or node_ids.len != m or ids.len != m) {
        return ctx.fail("the {s}_* lists differ in length ({d} weights)", .{ prefix, m });
    }
    const n = forest.modes.len;
    const leaf_of = try ctx.alloc(usize, m);
    const first = try ctx.alloc(usize, n + 1);
    @memset(first, 0);
    var all_positive = true;
    for (leaf_of, tree_ids, node_ids, ids, weights) |*leaf, t, id, output, w| {
        leaf.* = index.get(.{ .tree = t, .node = id }) orelse
            return ctx.fail("a weight names node {d} of tree {d}, which does not exist", .{ id, t });
        if (output < 0 or output >= outputs) return ctx.fail("{s} {d} is out of range for {d} outputs", .{ id_name, output, outputs });
        first[leaf.* + 1] += 1;
        all_positive = all_positive and w >= 0;
    }
    for (1..n + 1) |i| first[i] += first[i - 1];
    // Counting sort by leaf keeps each leaf's weights in their listed order.
    const next = try ctx.alloc(usize, n);
    @memcpy(next, first[0..n]);
    const sorted_outputs = try ctx.alloc(usize, m);
    const sorted_weights = try ctx.alloc(f64, m);
    for (leaf_of, ids, weights) |leaf, output, w| {
        sorted_outputs[next[leaf]] = @intCast(output);
        sorted_weights[next[leaf]] = w;
        next[leaf] += 1;
    }
    const one_class = m > 0 and std.mem.allEqual(i64, ids, ids[0]);
    return .{
        .forest = forest,
        .first = first,
        .outputs = sorted_outputs,
        .weights = sorted_weights,
        .all_positive = all_positive,
        .one_class_scored = one_class,
    };
}

/// Sums (or takes the MIN/MAX of) each output's leaf weights over the trees, for one row.
/// `scored[k]` tells whether any leaf gave output k a weight.
fn accumulate(ctx: *const Context, e: *const Ensemble, row: []const f64, aggregate: Aggregate, sums: []f64, scored: []bool) Error!void {
    @memset(sums, 0);
    @memset(scored, false);
    for (e.forest.roots) |root| {
        const leaf_outputs, const leaf_weights = e.leafWeights(try e.forest.reach(ctx, root, row));
        for (leaf_outputs, leaf_weights) |k, w| {
            sums[k] = if (!scored[k]) w else switch (aggregate) {
                .sum, .average => sums[k] + w,
                .min => @min(sums[k], w),
                .max => @max(sums[k], w),
            };
            scored[k] = true;
        }
    }
}

const Aggregate = enum { sum, average, min, max };

fn aggregateOf(ctx: *const Context) Error!Aggregate {
    const name = ctx.node.attrString("aggregate_function", "SUM");
    const names = std.StaticStringMap(Aggregate).initComptime(.{
        .{ "SUM", .sum }, .{ "AVERAGE", .average }, .{ "MIN", .min }, .{ "MAX", .max },
    });
    return names.get(name) orelse ctx.fail("aggregate_function '{s}' is unknown", .{name});
}

/// Y [N, n_targets]: the aggregate of the leaf weights, plus base_values, through post_transform.
fn treeEnsembleRegressor(ctx: *Context) Error!void {
    const x = try scores.rows(ctx, 0);
    const targets = std.math.cast(usize, ctx.node.attrInt("n_targets", 1)) orelse return ctx.fail("n_targets is negative", .{});
    const aggregate = try aggregateOf(ctx);
    const post = try scores.transform(ctx);
    const base = try scores.floatList(ctx, "base_values");
    if (base.len != 0 and base.len != targets) return ctx.fail("{d} base_values for {d} targets", .{ base.len, targets });
    const e = try loadEnsemble(ctx, "target", "target_ids", targets);
    try e.forest.checkFeatures(ctx, x.width);
    const trees: f64 = @floatFromInt(e.forest.roots.len);
    const sums = try ctx.alloc(f64, targets);
    const scored = try ctx.alloc(bool, targets);
    const y = try ctx.output(0, .float32, &.{ @intCast(x.count), @intCast(targets) });
    for (0..x.count) |i| {
        if (i % 64 == 63) try ctx.checkStop();
        try accumulate(ctx, &e, x.row(i), aggregate, sums, scored);
        for (sums, 0..) |*s, k| {
            if (aggregate == .average) s.* /= trees;
            if (base.len > 0) s.* += base[k];
        }
        scores.apply(post, sums);
        scores.store(y.items(f32)[i * targets ..][0..targets], sums);
    }
}

/// One row's label and scores from the per-class sums, as onnxruntime finishes them.
fn finishClassifier(e: *const Ensemble, base: []const f64, sums: []f64, scored: []bool) struct { scores.Choice, ?f64 } {
    if (sums.len != 2) {
        for (base, 0..) |b, k| {
            sums[k] += b;
            scored[k] = true;
        }
        // The best class among those scored; unscored classes only count when none is.
        var best: ?usize = null;
        for (sums, scored, 0..) |s, has, k| if (has and (best == null or s > sums[best.?])) {
            best = k;
        };
        return .{ .{ .index = best orelse 0 }, null };
    }
    // Two classes. Base values apply to the second class when it is scored, else the first.
    if (base.len == 2) {
        if (scored[1]) sums[1] = base[1] + sums[0] else sums[0] += base[0];
    } else if (base.len == 1) {
        sums[0] += base[0];
    }
    // With only the first class scored and fewer than two base values, that score s is the
    // whole model: [1 - s, s] or [-s, s] come from it.
    const single: ?f64 = if (!scored[1] and base.len < 2) sums[0] else null;
    const positive = if (scored[1]) sums[1] else sums[0];
    if (!e.one_class_scored) return .{ .{ .raw = @intFromBool(positive > 0) }, single };
    const threshold: f64 = if (e.all_positive) 0.5 else 0;
    return .{ .{ .index = @intFromBool(positive > threshold) }, single };
}

/// Y [N] labels and Z [N, classes] scores (the sums of leaf weights, plus base_values,
/// through post_transform).
fn treeEnsembleClassifier(ctx: *Context) Error!void {
    const x = try scores.rows(ctx, 0);
    const labels = scores.Labels.load(ctx, "classlabels_int64s");
    const classes = labels.count();
    if (classes == 0) return ctx.fail("needs classlabels_int64s or classlabels_strings", .{});
    const post = try scores.transform(ctx);
    const base = try scores.floatList(ctx, "base_values");
    if (base.len > classes) return ctx.fail("{d} base_values for {d} classes", .{ base.len, classes });
    const e = try loadEnsemble(ctx, "class", "class_ids", classes);
    try e.forest.checkFeatures(ctx, x.width);
    const sums = try ctx.alloc(f64, classes);
    const scored = try ctx.alloc(bool, classes);
    const y = try scores.LabelOutput.init(ctx, labels, x.count);
    const z = try scores.scoresOutput(ctx, 1, x.count, classes);
    for (0..x.count) |i| {
        if (i % 64 == 63) try ctx.checkStop();
        try accumulate(ctx, &e, x.row(i), .sum, sums, scored);
        const choice, const single = finishClassifier(&e, base, sums, scored);
        try y.set(ctx, i, choice);
        const out = z orelse continue;
        if (single) |s| {
            const pair = scores.binaryPair(post, s, !(e.one_class_scored and e.all_positive));
            scores.store(out[i * 2 ..][0..2], &pair);
        } else {
            scores.apply(post, sums);
            scores.store(out[i * classes ..][0..classes], sums);
        }
    }
}

const domain = "ai.onnx.ml";

pub const kernels = [_]@import("entry.zig").Entry{
    .{ .domain = domain, .op = "TreeEnsembleClassifier", .run = treeEnsembleClassifier },
    .{ .domain = domain, .op = "TreeEnsembleRegressor", .run = treeEnsembleRegressor },
};
