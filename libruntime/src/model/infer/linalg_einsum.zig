//! Shape rule for Einsum: parses the equation (explicit `->` output or numpy's implicit one),
//! checks each operand's rank against its term, unifies the dims of each label across operands
//! and broadcasts the dims covered by `...` (right-aligned, as numpy does).
const std = @import("std");
const status = @import("../../core/status.zig");
const ir = @import("../ir.zig");
const common = @import("common.zig");
const context = @import("context.zig");
const registry = @import("registry.zig");
const dims = @import("linalg_dims.zig");

const Context = context.Context;
const Dim = ir.Dim;

/// Labels are ASCII letters; numbering them in ASCII order (A-Z, then a-z) makes the implicit
/// output's sorted order the order of the numbers.
const label_count = 52;

fn labelIndex(c: u8) ?u8 {
    if (c >= 'A' and c <= 'Z') return c - 'A';
    if (c >= 'a' and c <= 'z') return 26 + (c - 'a');
    return null;
}

fn labelChar(l: u8) u8 {
    return if (l < 26) 'A' + l else 'a' + (l - 26);
}

/// One term of the equation: its labels in order, and where `...` sits among them.
const Term = struct {
    labels: []const u8,
    ellipsis_at: ?usize,
};

fn parseTerm(ctx: *const Context, text: []const u8) status.Error!Term {
    const labels = try ctx.alloc(u8, text.len);
    var count: usize = 0;
    var ellipsis_at: ?usize = null;
    var k: usize = 0;
    while (k < text.len) {
        if (text[k] == '.') {
            if (!std.mem.startsWith(u8, text[k..], "...")) return ctx.fail("a lone '.' in term '{s}'", .{text});
            if (ellipsis_at != null) return ctx.fail("term '{s}' has more than one '...'", .{text});
            ellipsis_at = count;
            k += 3;
            continue;
        }
        labels[count] = labelIndex(text[k]) orelse {
            return ctx.fail("'{c}' is not a label in term '{s}'", .{ text[k], text });
        };
        count += 1;
        k += 1;
    }
    return .{ .labels = labels[0..count], .ellipsis_at = ellipsis_at };
}

/// The equation without spaces, split at `->` (null output: implicit).
const Equation = struct { inputs: []const Term, output: ?Term };

fn parseEquation(ctx: *const Context) status.Error!Equation {
    const raw = ctx.attrString("equation", "");
    const text = try ctx.alloc(u8, raw.len);
    var len: usize = 0;
    for (raw) |c| if (c != ' ') {
        text[len] = c;
        len += 1;
    };
    const equation = text[0..len];
    if (equation.len == 0) return ctx.fail("the equation attribute is required", .{});
    const arrow = std.mem.indexOf(u8, equation, "->");
    const lhs = equation[0 .. arrow orelse equation.len];
    const terms = try ctx.alloc(Term, std.mem.count(u8, lhs, ",") + 1);
    var it = std.mem.splitScalar(u8, lhs, ',');
    var i: usize = 0;
    while (it.next()) |term| : (i += 1) terms[i] = try parseTerm(ctx, term);
    const output = if (arrow) |a| try parseTerm(ctx, equation[a + 2 ..]) else null;
    return .{ .inputs = terms, .output = output };
}

fn einsum(ctx: *Context) status.Error!void {
    const n = ctx.inputCount();
    if (n == 0) return ctx.fail("needs at least one operand", .{});
    const indices = try ctx.alloc(usize, n);
    for (indices, 0..) |*slot, i| {
        _ = try ctx.require(i);
        slot.* = i;
    }
    const dtype = try dims.sameDType(ctx, indices);
    const equation = try parseEquation(ctx);
    if (equation.inputs.len != n) {
        return ctx.fail("the equation has {d} operands but the node has {d} inputs", .{ equation.inputs.len, n });
    }
    var counts = [_]u32{0} ** label_count;
    for (equation.inputs) |term| {
        for (term.labels) |l| counts[l] += 1;
    }
    if (equation.output) |out| try checkOutputTerm(ctx, out, &counts);
    try ctx.setOutput(0, dtype, try outputShape(ctx, equation, &counts));
}

/// Explicit outputs name only input labels, each once.
fn checkOutputTerm(ctx: *const Context, out: Term, counts: *const [label_count]u32) status.Error!void {
    var seen = [_]bool{false} ** label_count;
    for (out.labels) |l| {
        if (counts[l] == 0) return ctx.fail("output label '{c}' does not appear in the inputs", .{labelChar(l)});
        if (seen[l]) return ctx.fail("output label '{c}' appears twice", .{labelChar(l)});
        seen[l] = true;
    }
}

fn outputShape(ctx: *const Context, equation: Equation, counts: *const [label_count]u32) status.Error!?[]const Dim {
    var label_dims = [_]?Dim{null} ** label_count;
    const ellipses = try ctx.alloc(?[]const Dim, equation.inputs.len);
    var known = true;
    for (equation.inputs, 0..) |term, i| {
        ellipses[i] = &.{};
        const s = ctx.shape(i) orelse {
            known = false;
            continue;
        };
        ellipses[i] = try bindTerm(ctx, term, s, i, &label_dims);
    }
    if (!known) return null;
    // Operands without `...` contribute no dims here: an empty list broadcasts with anything.
    const ellipsis = (try common.broadcast(ctx, ellipses)).?;
    var out: std.ArrayList(Dim) = .empty;
    if (equation.output) |term| {
        if (term.ellipsis_at == null and ellipsis.len > 0) {
            return ctx.fail("the output needs '...' for the {d} broadcast dims", .{ellipsis.len});
        }
        for (term.labels, 0..) |l, k| {
            if (term.ellipsis_at == k) try appendAll(ctx, &out, ellipsis);
            try append(ctx, &out, label_dims[l].?);
        }
        if (term.ellipsis_at == term.labels.len) try appendAll(ctx, &out, ellipsis);
    } else {
        try appendAll(ctx, &out, ellipsis);
        for (counts, 0..) |c, l| if (c == 1) try append(ctx, &out, label_dims[l].?);
    }
    return out.items;
}

/// Binds the labels of one operand to its dims; returns the dims its `...` covers.
fn bindTerm(
    ctx: *const Context,
    term: Term,
    s: []const Dim,
    i: usize,
    label_dims: *[label_count]?Dim,
) status.Error![]const Dim {
    const n = term.labels.len;
    if (term.ellipsis_at == null and s.len != n) {
        return ctx.fail("operand {d} has rank {d} but its term has {d} labels", .{ i, s.len, n });
    }
    if (s.len < n) return ctx.fail("operand {d} has rank {d}, fewer than its {d} labels", .{ i, s.len, n });
    const covered = s.len - n;
    const at = term.ellipsis_at orelse n;
    for (term.labels, 0..) |l, k| {
        const d = s[if (k < at) k else k + covered];
        label_dims[l] = if (label_dims[l]) |prev| try dims.broadcastDim(ctx, prev, d, "an Einsum label") else d;
    }
    return s[at .. at + covered];
}

fn append(ctx: *const Context, list: *std.ArrayList(Dim), d: Dim) status.Error!void {
    list.append(ctx.arena, d) catch return dims.outOfMemory();
}

fn appendAll(ctx: *const Context, list: *std.ArrayList(Dim), ds: []const Dim) status.Error!void {
    list.appendSlice(ctx.arena, ds) catch return dims.outOfMemory();
}

pub const rules = [_]registry.Entry{
    .{ .op = "Einsum", .rule = einsum },
};
