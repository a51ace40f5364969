//! Unit tests of the control-flow rules on hand-built graphs with subgraphs and symbolic dims:
//! loop-carried values that grow, trip counts from shape arithmetic, If branches that differ or
//! are decided by a known condition, Scan axes, and sequences. The ONNX backend suite
//! (suite_check.zig) covers the static cases.
const std = @import("std");
const ir = @import("../ir.zig");
const testing = @import("testing.zig");

const Attr = testing.Attr;
const Harness = testing.Harness;
const Id = ir.ValueId;
const graphAttr = testing.graphAttr;

test "Loop: a carried value that changes shape widens; scan outputs stack along the trip count" {
    var h = Harness.init();
    defer h.deinit();
    const root = &h.graph;
    const x = try h.value(root, .float32, &.{ "N", "3" });
    const y0 = try h.value(root, .float32, &.{ "1", "3" });
    const m = try h.value(root, .int64, &.{});
    root.value(m).symbolic_elements = try h.arena().dupe(ir.Dim, &.{try h.pool.parse("N")});
    const body = try h.subgraph(root);
    const i = try h.value(body, .int64, &.{});
    const c = try h.value(body, .bool, &.{});
    const y_in = try h.value(body, null, null);
    const x_outer = try h.outer(body, x);
    const y_out = (try h.node(body, "Add", 14, &.{ y_in, x_outer }, 1, &.{}, &.{}))[0].?;
    const doubled = (try h.node(body, "Add", 14, &.{ y_out, y_out }, 1, &.{}, &.{}))[0].?;
    body.inputs = try h.arena().dupe(Id, &.{ i, c, y_in });
    body.outputs = try h.arena().dupe(Id, &.{ c, y_out, doubled });
    const outs = try h.node(root, "Loop", 13, &.{ m, null, y0 }, 2, &.{graphAttr("body")}, &.{body});
    try h.infer();
    try std.testing.expectEqualStrings("float32 [*,3]", try h.textIn(root, outs[0].?));
    try std.testing.expectEqualStrings("float32 [N,*,3]", try h.textIn(root, outs[1].?));
    // The body saw a carried shape general enough for every iteration.
    try std.testing.expectEqualStrings("float32 [*,3]", try h.textIn(body, y_in));
}

test "Loop: a stable carried value keeps its shape; a cond that may stop early gives a fresh count" {
    var h = Harness.init();
    defer h.deinit();
    const root = &h.graph;
    const y0 = try h.value(root, .float32, &.{ "B", "3" });
    const m = try h.scalar(root, .int64, 5);
    const cond = try h.value(root, .bool, &.{});
    const body = try h.subgraph(root);
    const i = try h.value(body, .int64, &.{});
    const c = try h.value(body, .bool, &.{});
    const y_in = try h.value(body, .float32, null);
    const y_out = (try h.node(body, "Add", 14, &.{ y_in, y_in }, 1, &.{}, &.{}))[0].?;
    body.inputs = try h.arena().dupe(Id, &.{ i, c, y_in });
    body.outputs = try h.arena().dupe(Id, &.{ c, y_out, y_out });
    const counted = try h.node(root, "Loop", 13, &.{ m, null, y0 }, 2, &.{graphAttr("body")}, &.{body});
    const stopped = try h.node(root, "Loop", 13, &.{ m, cond, y0 }, 2, &.{graphAttr("body")}, &.{body});
    try h.infer();
    try std.testing.expectEqualStrings("float32 [B,3]", try h.textIn(root, counted[0].?));
    try std.testing.expectEqualStrings("float32 [5,B,3]", try h.textIn(root, counted[1].?));
    try std.testing.expectEqualStrings("float32 [*,B,3]", try h.textIn(root, stopped[1].?));
}

test "If: differing branch dims become fresh; a known condition picks its branch; kinds must agree" {
    var h = Harness.init();
    defer h.deinit();
    const root = &h.graph;
    const a = try h.value(root, .float32, &.{ "2", "S" });
    const b = try h.value(root, .float32, &.{ "4", "S" });
    const cond = try h.value(root, .bool, &.{});
    const yes = try h.scalar(root, .bool, 1);
    const then_graph = try h.subgraph(root);
    const a_inner = try h.outer(then_graph, a);
    const then_out = (try h.node(then_graph, "Add", 14, &.{ a_inner, a_inner }, 1, &.{}, &.{}))[0].?;
    then_graph.outputs = try h.arena().dupe(Id, &.{then_out});
    const else_graph = try h.subgraph(root);
    const else_out = try h.outer(else_graph, b);
    else_graph.outputs = try h.arena().dupe(Id, &.{else_out});
    const attrs = [_]Attr{ graphAttr("then_branch"), graphAttr("else_branch") };
    const merged = try h.node(root, "If", 13, &.{cond}, 1, &attrs, &.{ then_graph, else_graph });
    const picked = try h.node(root, "If", 13, &.{yes}, 1, &attrs, &.{ then_graph, else_graph });
    try h.infer();
    try std.testing.expectEqualStrings("float32 [*,S]", try h.textIn(root, merged[0].?));
    try std.testing.expectEqualStrings("float32 [2,S]", try h.textIn(root, picked[0].?));

    var h2 = Harness.init();
    defer h2.deinit();
    const t = try h2.value(&h2.graph, .float32, &.{"2"});
    const c2 = try h2.value(&h2.graph, .bool, &.{});
    const seq_graph = try h2.subgraph(&h2.graph);
    const seq = (try h2.node(seq_graph, "SequenceConstruct", 11, &.{try h2.outer(seq_graph, t)}, 1, &.{}, &.{}))[0].?;
    seq_graph.outputs = try h2.arena().dupe(Id, &.{seq});
    const plain_graph = try h2.subgraph(&h2.graph);
    plain_graph.outputs = try h2.arena().dupe(Id, &.{try h2.outer(plain_graph, t)});
    _ = try h2.node(&h2.graph, "If", 13, &.{c2}, 1, &attrs, &.{ seq_graph, plain_graph });
    try std.testing.expectError(error.ShapeError, h2.infer());
}

test "Scan 9: scan axes come out of the slices and go back in at the output axes" {
    var h = Harness.init();
    defer h.deinit();
    const root = &h.graph;
    const s0 = try h.value(root, .float32, &.{ "B", "4" });
    const x = try h.value(root, .float32, &.{ "B", "T", "4" });
    const body = try h.subgraph(root);
    const s_in = try h.value(body, null, null);
    const x_t = try h.value(body, null, null);
    const s_out = (try h.node(body, "Add", 14, &.{ s_in, x_t }, 1, &.{}, &.{}))[0].?;
    body.inputs = try h.arena().dupe(Id, &.{ s_in, x_t });
    body.outputs = try h.arena().dupe(Id, &.{ s_out, s_out, x_t });
    const attrs = [_]Attr{
        graphAttr("body"),
        .{ .name = "num_scan_inputs", .type = .int, .i = 1 },
        .{ .name = "scan_input_axes", .type = .ints, .ints = &.{1} },
        .{ .name = "scan_output_axes", .type = .ints, .ints = &.{ 0, -1 } },
    };
    const outs = try h.node(root, "Scan", 16, &.{ s0, x }, 3, &attrs, &.{body});
    try h.infer();
    try std.testing.expectEqualStrings("float32 [B,4]", try h.textIn(body, x_t));
    try std.testing.expectEqualStrings("float32 [B,4]", try h.textIn(root, outs[0].?));
    try std.testing.expectEqualStrings("float32 [T,B,4]", try h.textIn(root, outs[1].?));
    try std.testing.expectEqualStrings("float32 [B,4,T]", try h.textIn(root, outs[2].?));
}

test "sequences: SplitToSequence chunks, a built sequence's elements, unions and concatenation" {
    var h = Harness.init();
    defer h.deinit();
    const root = &h.graph;
    const x = try h.value(root, .float32, &.{ "B", "6" });
    const y = try h.value(root, .float32, &.{ "B", "2" });
    const two = try h.scalar(root, .int64, 2);
    const zero = try h.scalar(root, .int64, 0);
    const axis_1 = [_]Attr{.{ .name = "axis", .type = .int, .i = 1 }};
    const split = (try h.node(root, "SplitToSequence", 11, &.{ x, two }, 1, &axis_1, &.{}))[0];
    const first = (try h.node(root, "SequenceAt", 11, &.{ split, zero }, 1, &.{}, &.{}))[0].?;
    const built = (try h.node(root, "SequenceConstruct", 11, &.{ x, y, x }, 1, &.{}, &.{}))[0];
    const last_axis = [_]Attr{.{ .name = "axis", .type = .int, .i = -1 }};
    const cat = (try h.node(root, "ConcatFromSequence", 11, &.{built}, 1, &last_axis, &.{}))[0].?;
    const stack_attrs = [_]Attr{
        .{ .name = "axis", .type = .int, .i = 0 },
        .{ .name = "new_axis", .type = .int, .i = 1 },
    };
    const stacked = (try h.node(root, "ConcatFromSequence", 11, &.{built}, 1, &stack_attrs, &.{}))[0].?;
    const length = (try h.node(root, "SequenceLength", 11, &.{split}, 1, &.{}, &.{}))[0].?;
    const minus_two = try h.scalar(root, .int64, -2);
    const picked = (try h.node(root, "SequenceAt", 11, &.{ built, minus_two }, 1, &.{}, &.{}))[0].?;
    try h.infer();
    try std.testing.expectEqualStrings("float32 [B,2]", try h.textIn(root, first));
    try std.testing.expectEqualStrings("sequence float32 [B,*]", try h.textIn(root, built.?));
    try std.testing.expectEqualStrings("float32 [B,14]", try h.textIn(root, cat));
    try std.testing.expectEqualStrings("float32 [3,B,*]", try h.textIn(root, stacked));
    try std.testing.expectEqualStrings("int64 []", try h.textIn(root, length));
    try std.testing.expectEqualStrings("float32 [B,2]", try h.textIn(root, picked));
}
