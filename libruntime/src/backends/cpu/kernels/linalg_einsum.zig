//! Einsum (any number of operands, ellipsis broadcasting, repeated labels for diagonals, implicit
//! output) and Det. Einsum walks the joint index space of output and summed labels once, keeping
//! each operand's offset up to date; two-operand contractions (the common case) instead become a
//! batched matrix product in linalg_einsum_mm.zig.
const std = @import("std");
const status = @import("../../../core/status.zig");
const kernel = @import("../kernel.zig");
const Entry = @import("entry.zig").Entry;
const common = @import("linalg_common.zig");
const mm = @import("linalg_einsum_mm.zig");

const Context = kernel.Context;
const Tensor = kernel.Tensor;

const letter_count = 52;
const max_ellipsis = 32;
const max_labels = letter_count + max_ellipsis;
const max_operands = 16;

fn letterId(c: u8) ?usize {
    return switch (c) {
        'a'...'z' => c - 'a' + 26,
        'A'...'Z' => c - 'A',
        else => null,
    };
}

/// A parsed term: label ids per axis (ellipsis axes get ids after the letters).
const Term = struct {
    labels: [broadcast_rank]usize = undefined,
    len: usize = 0,
};
const broadcast_rank = 64;

/// Parses one term against a rank (null for the output, whose ellipsis takes `ellipsis` dims).
fn parseTerm(ctx: *Context, text: []const u8, rank: ?usize, ellipsis: *usize) status.Error!Term {
    var term: Term = .{};
    var letters: usize = 0;
    var has_ellipsis = false;
    var i: usize = 0;
    while (i < text.len) : (i += 1) {
        if (text[i] == '.') {
            if (has_ellipsis or i + 3 > text.len or !std.mem.eql(u8, text[i .. i + 3], "...")) {
                return ctx.fail("malformed ellipsis in '{s}'", .{text});
            }
            has_ellipsis = true;
            i += 2;
        } else if (letterId(text[i]) == null) {
            return ctx.fail("invalid character '{c}' in the equation", .{text[i]});
        } else letters += 1;
    }
    var e_dims: usize = ellipsis.*;
    if (rank) |r| {
        if (letters > r or (!has_ellipsis and letters != r)) {
            return ctx.fail("term '{s}' does not fit rank {d}", .{ text, r });
        }
        e_dims = if (has_ellipsis) r - letters else 0;
        if (e_dims > max_ellipsis) return ctx.fail("the ellipsis covers too many dims", .{});
        ellipsis.* = @max(ellipsis.*, e_dims);
    } else if (!has_ellipsis) e_dims = 0;
    if (letters + e_dims > broadcast_rank) return ctx.fail("term '{s}' has too many axes", .{text});
    i = 0;
    while (i < text.len) : (i += 1) {
        if (text[i] == '.') {
            // Ellipsis dims align to the right across operands, like numpy broadcasting.
            for (0..e_dims) |d| term.labels[term.len + d] = letter_count + max_ellipsis - e_dims + d;
            term.len += e_dims;
            i += 2;
        } else {
            term.labels[term.len] = letterId(text[i]).?;
            term.len += 1;
        }
    }
    return term;
}

const Equation = struct {
    inputs: [max_operands]Term = undefined,
    output: Term = .{},
    ellipsis: usize = 0,
};

fn parse(ctx: *Context, raw: []const u8, operands: []const *const Tensor) status.Error!Equation {
    var buffer: [512]u8 = undefined;
    var len: usize = 0;
    for (raw) |c| if (c != ' ') {
        if (len == buffer.len) return ctx.fail("the equation is too long", .{});
        buffer[len] = c;
        len += 1;
    };
    const text = buffer[0..len];
    const arrow = std.mem.indexOf(u8, text, "->");
    const lhs = if (arrow) |a| text[0..a] else text;
    var eq: Equation = .{};
    var it = std.mem.splitScalar(u8, lhs, ',');
    var n: usize = 0;
    while (it.next()) |part| : (n += 1) {
        if (n >= operands.len) return ctx.fail("the equation has more terms than the {d} inputs", .{operands.len});
        eq.inputs[n] = try parseTerm(ctx, part, operands[n].shape.len, &eq.ellipsis);
    }
    if (n != operands.len) return ctx.fail("the equation has {d} terms for {d} inputs", .{ n, operands.len });
    if (arrow) |a| {
        eq.output = try parseTerm(ctx, text[a + 2 ..], null, &eq.ellipsis);
        for (eq.output.labels[0..eq.output.len], 0..) |l, k| {
            if (std.mem.indexOfScalar(usize, eq.output.labels[0..k], l) != null) {
                return ctx.fail("output label repeats", .{});
            }
        }
    } else {
        // Implicit output: the ellipsis dims, then letters used once, in alphabetical order.
        var uses = [_]usize{0} ** max_labels;
        for (eq.inputs[0..n]) |t| for (t.labels[0..t.len]) |l| {
            uses[l] += 1;
        };
        for (0..eq.ellipsis) |d| eq.output.labels[d] = max_labels - eq.ellipsis + d;
        eq.output.len = eq.ellipsis;
        const alphabets = [_][]const u8{ "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz" };
        for (alphabets) |alphabet| for (alphabet) |c| {
            const id = letterId(c).?;
            if (uses[id] != 1) continue;
            eq.output.labels[eq.output.len] = id;
            eq.output.len += 1;
        };
    }
    return eq;
}

/// Per label: its size and each operand's element stride along it (0 where absent).
const Layout = struct {
    size: [max_labels]usize = [_]usize{0} ** max_labels,
    used: [max_labels]bool = [_]bool{false} ** max_labels,
    strides: [max_operands][max_labels]usize = undefined,
};

fn layout(ctx: *Context, eq: *const Equation, operands: []const *const Tensor) status.Error!Layout {
    var lay: Layout = .{};
    for (operands, 0..) |op, o| {
        lay.strides[o] = [_]usize{0} ** max_labels;
        const t = eq.inputs[o];
        var stride: usize = 1;
        var k = t.len;
        while (k > 0) {
            k -= 1;
            const l = t.labels[k];
            const d: usize = @intCast(op.shape[k]);
            const is_ellipsis = l >= letter_count;
            if (!lay.used[l] or (is_ellipsis and lay.size[l] == 1)) {
                lay.size[l] = d;
                lay.used[l] = true;
            } else if (d != lay.size[l] and !(is_ellipsis and d == 1)) {
                return ctx.fail("label sizes differ: {d} and {d}", .{ d, lay.size[l] });
            }
            // A broadcast ellipsis dim of 1 keeps stride 0; a repeated label walks the diagonal.
            if (!(is_ellipsis and d == 1)) lay.strides[o][l] += stride;
            stride *= d;
        }
    }
    for (eq.output.labels[0..eq.output.len]) |l| {
        if (!lay.used[l]) {
            if (l < letter_count) return ctx.fail("an output label is not in any input", .{});
            lay.used[l] = true;
            lay.size[l] = 1;
        }
    }
    return lay;
}

fn einsum(ctx: *Context) status.Error!void {
    const count = ctx.inputCount();
    if (count == 0 or count > max_operands) return ctx.fail("needs 1 to {d} inputs, not {d}", .{ max_operands, count });
    var operands: [max_operands]*const Tensor = undefined;
    for (0..count) |i| {
        operands[i] = try ctx.require(i);
        if (operands[i].dtype != operands[0].dtype) return ctx.fail("inputs mix element types", .{});
        _ = try common.checkData(ctx, operands[i]);
    }
    const ops = operands[0..count];
    const eq = try parse(ctx, ctx.node.attrString("equation", ""), ops);
    const lay = try layout(ctx, &eq, ops);
    var order: [max_labels]usize = undefined;
    var n_order: usize = 0;
    for (eq.output.labels[0..eq.output.len]) |l| {
        order[n_order] = l;
        n_order += 1;
    }
    const out_shape = try ctx.alloc(i64, eq.output.len);
    for (out_shape, eq.output.labels[0..eq.output.len]) |*d, l| d.* = @intCast(lay.size[l]);
    var sum_count: usize = 1;
    const out_labels = eq.output.labels[0..eq.output.len];
    for (0..max_labels) |l| if (lay.used[l] and std.mem.indexOfScalar(usize, out_labels, l) == null) {
        order[n_order] = l;
        n_order += 1;
        sum_count = std.math.mul(usize, sum_count, lay.size[l]) catch return ctx.fail("too many terms", .{});
    };
    const out_count = try common.product(ctx, out_shape);
    _ = std.math.mul(usize, out_count, sum_count) catch return ctx.fail("too many terms", .{});
    inline for (common.numeric_kinds) |kind| if (ops[0].dtype == kind.dtype) {
        const out = try ctx.output(0, kind.dtype, out_shape);
        if (count == 2) {
            const a: mm.Operand = .{ .labels = eq.inputs[0].labels[0..eq.inputs[0].len], .shape = ops[0].shape };
            const b: mm.Operand = .{ .labels = eq.inputs[1].labels[0..eq.inputs[1].len], .shape = ops[1].shape };
            const labels = eq.output.labels[0..eq.output.len];
            const x = try common.elems(ctx, kind.T, ops[0]);
            const y = try common.elems(ctx, kind.T, ops[1]);
            if (try mm.contract(kind.T, ctx, a, b, labels, &lay.size, x, y, out.items(kind.T))) return;
        }
        run(kind.T, ops, &lay, order[0..n_order], sum_count, out.items(kind.T));
        return;
    };
    return ctx.unsupported(ops[0].dtype);
}

fn run(
    comptime T: type,
    ops: []const *const Tensor,
    lay: *const Layout,
    order: []const usize,
    sum_count: usize,
    out: []T,
) void {
    const A = common.Acc(T);
    var index = [_]usize{0} ** max_labels;
    var offsets = [_]usize{0} ** max_operands;
    if (sum_count == 0) {
        @memset(out, common.store(T, 0));
        return;
    }
    for (out) |*o| {
        var acc: A = 0;
        for (0..sum_count) |_| {
            var term: A = 1;
            for (ops, 0..) |op, i| term = common.mul(A, term, common.load(T, op.items(T)[offsets[i]]));
            acc = common.add(A, acc, term);
            // Odometer over all labels, innermost last; offsets follow incrementally.
            var k = order.len;
            while (k > 0) {
                k -= 1;
                const l = order[k];
                index[k] += 1;
                for (ops, 0..) |_, i| offsets[i] += lay.strides[i][l];
                if (index[k] < lay.size[l]) break;
                for (ops, 0..) |_, i| offsets[i] -= lay.strides[i][l] * index[k];
                index[k] = 0;
            }
        }
        o.* = common.store(T, acc);
    }
}

/// Det: LU decomposition with partial pivoting, in f64, per matrix of the batch.
fn det(ctx: *Context) status.Error!void {
    const x = try ctx.require(0);
    if (x.shape.len < 2) return ctx.fail("input must have rank at least 2, not {d}", .{x.shape.len});
    _ = try common.product(ctx, x.shape);
    const n: usize = @intCast(x.shape[x.shape.len - 1]);
    if (x.shape[x.shape.len - 2] != x.shape[x.shape.len - 1]) return ctx.fail("matrices must be square", .{});
    const out_shape = x.shape[0 .. x.shape.len - 2];
    inline for (common.float_kinds) |kind| if (x.dtype == kind.dtype) {
        const values = try common.elems(ctx, kind.T, x);
        const out = try ctx.output(0, x.dtype, out_shape);
        const work = try ctx.alloc(f64, n * n);
        for (out.items(kind.T), 0..) |*o, b| {
            for (work, values[b * n * n ..][0 .. n * n]) |*w, v| w.* = @floatCast(common.load(kind.T, v));
            o.* = common.store(kind.T, @floatCast(luDet(work, n)));
        }
        return;
    };
    return ctx.unsupported(x.dtype);
}

fn luDet(a: []f64, n: usize) f64 {
    var result: f64 = 1;
    for (0..n) |c| {
        var pivot = c;
        for (c + 1..n) |r| if (@abs(a[r * n + c]) > @abs(a[pivot * n + c])) {
            pivot = r;
        };
        if (a[pivot * n + c] == 0) return 0;
        if (pivot != c) {
            for (0..n) |j| std.mem.swap(f64, &a[c * n + j], &a[pivot * n + j]);
            result = -result;
        }
        const p = a[c * n + c];
        result *= p;
        for (c + 1..n) |r| {
            const f = a[r * n + c] / p;
            if (f == 0) continue;
            for (c..n) |j| a[r * n + j] -= f * a[c * n + j];
        }
    }
    return result;
}

pub const kernels = [_]Entry{
    .{ .op = "Einsum", .run = einsum },
    .{ .op = "Det", .run = det },
};
