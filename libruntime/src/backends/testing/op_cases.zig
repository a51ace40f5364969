//! The operator cases the backend harness (harness.zig) runs on every backend: one node each,
//! with its inputs' types and shapes, its attributes, and how far a backend's float results may
//! stray from the CPU's. Shapes are mostly odd (7, 13, 33) so that vector tails and block
//! remainders run.
const std = @import("std");
const onnx = @import("../../model/proto/onnx.zig");
const DType = @import("../../tensor/dtype.zig").DType;

pub const Attr = onnx.AttributeProto;

/// Normalized mean squared error thresholds, as ggml's test-backend-ops sets them per op.
pub const Threshold = struct {
    /// One rounding per element: elementwise arithmetic, activations, data movement.
    pub const elementwise = 1e-7;
    /// Sums over an axis, whose order a device may change: reductions, softmax, norms, resize.
    pub const accumulating = 1e-6;
    /// Long dot products, which a device may block, fuse or run at lower precision.
    pub const dot = 5e-4;
};

pub const Input = struct {
    dtype: DType = .float32,
    shape: []const i64 = &.{},
    /// Values the case fixes (a shape, axes, scales): the input is a constant of the graph, so
    /// that shape inference knows the output's shape.
    ints: ?[]const i64 = null,
    floats: ?[]const f32 = null,
    /// Otherwise random values, drawn uniformly from [low, high] (whole numbers for integer
    /// types; booleans ignore the range).
    low: f64 = -1,
    high: f64 = 1,
    /// An optional input left out (Resize's roi).
    absent: bool = false,

    pub fn isConstant(self: Input) bool {
        return self.ints != null or self.floats != null;
    }
};

pub const Case = struct {
    op: []const u8,
    opset: i64,
    inputs: []const Input,
    attributes: []const Attr = &.{},
    outputs: usize = 1,
    /// The largest normalized mean squared error a backend's float outputs may have against the
    /// CPU's; integer and boolean outputs must be equal.
    max_nmse: f64 = Threshold.elementwise,

    /// "Conv/11 float32[1,3,13,13] float32[8,3,3,3] pads=[1,1,1,1]": enough to find the case.
    pub fn format(self: Case, w: *std.Io.Writer) std.Io.Writer.Error!void {
        try w.print("{s}/{d}", .{ self.op, self.opset });
        for (self.inputs) |input| {
            if (input.absent) {
                try w.writeAll(" -");
                continue;
            }
            try w.print(" {s}", .{@tagName(input.dtype)});
            try writeInts(w, input.shape);
            if (input.ints) |values| try writeInts(w, values);
            if (input.floats) |values| {
                try w.writeAll("[");
                for (values, 0..) |v, k| try w.print("{s}{d}", .{ if (k == 0) "" else ",", v });
                try w.writeAll("]");
            }
        }
        for (self.attributes) |a| {
            try w.print(" {s}=", .{a.name});
            switch (a.type) {
                .int => try w.print("{d}", .{a.i}),
                .float => try w.print("{d}", .{a.f}),
                .string => try w.writeAll(a.s),
                .ints => try writeInts(w, a.ints),
                else => try w.writeAll("?"),
            }
        }
    }
};

fn writeInts(w: *std.Io.Writer, values: []const i64) std.Io.Writer.Error!void {
    try w.writeAll("[");
    for (values, 0..) |v, k| try w.print("{s}{d}", .{ if (k == 0) "" else ",", v });
    try w.writeAll("]");
}

// ---- the table --------------------------------------------------------------------------------

const T = Threshold;

pub const cases = elementwise ++ linalg ++ convolution ++ pooling ++ normalizing ++ movement;

const elementwise = [_]Case{
    .{ .op = "Add", .opset = 14, .inputs = &.{ random(&.{ 7, 13 }), random(&.{ 7, 13 }) } },
    .{ .op = "Add", .opset = 14, .inputs = &.{ random(&.{1037}), random(&.{1037}) } },
    .{ .op = "Add", .opset = 14, .inputs = &.{ random(&.{ 2, 3, 33 }), random(&.{33}) } },
    .{ .op = "Add", .opset = 14, .inputs = &.{ random(&.{ 7, 1, 5 }), random(&.{ 1, 13, 1 }) } },
    .{ .op = "Add", .opset = 14, .inputs = &.{ randomIn(.int64, &.{ 7, 13 }, -100, 100), randomIn(.int64, &.{13}, -100, 100) } },
    .{ .op = "Sub", .opset = 14, .inputs = &.{ random(&.{ 4, 33 }), random(&.{ 4, 1 }) } },
    .{ .op = "Sub", .opset = 14, .inputs = &.{ random(&.{ 3, 7 }), random(&.{}) } },
    .{ .op = "Sub", .opset = 14, .inputs = &.{ randomIn(.int32, &.{ 5, 13 }, -1000, 1000), randomIn(.int32, &.{ 5, 13 }, -1000, 1000) } },
    .{ .op = "Mul", .opset = 14, .inputs = &.{ random(&.{ 2, 3, 4, 5 }), random(&.{ 3, 1, 5 }) } },
    .{ .op = "Mul", .opset = 14, .inputs = &.{ random(&.{1037}), random(&.{1037}) } },
    .{ .op = "Div", .opset = 14, .inputs = &.{ random(&.{ 7, 13 }), randomIn(.float32, &.{13}, 0.5, 2) } },
    .{ .op = "Div", .opset = 14, .inputs = &.{ random(&.{ 1, 33 }), randomIn(.float32, &.{ 7, 1 }, -2, -0.5) } },
    .{ .op = "Div", .opset = 14, .inputs = &.{ randomIn(.int32, &.{ 7, 13 }, -100, 100), randomIn(.int32, &.{ 7, 13 }, 1, 9) } },
    .{ .op = "Relu", .opset = 14, .inputs = &.{random(&.{ 7, 13, 3 })} },
    .{ .op = "Relu", .opset = 14, .inputs = &.{random(&.{1037})} },
    .{ .op = "Sigmoid", .opset = 13, .inputs = &.{randomIn(.float32, &.{ 7, 33 }, -8, 8)} },
    .{ .op = "Tanh", .opset = 13, .inputs = &.{randomIn(.float32, &.{ 7, 33 }, -5, 5)} },
    .{ .op = "Gelu", .opset = 20, .inputs = &.{randomIn(.float32, &.{ 7, 33 }, -4, 4)} },
    .{ .op = "Gelu", .opset = 20, .inputs = &.{randomIn(.float32, &.{ 7, 33 }, -4, 4)}, .attributes = &.{string("approximate", "tanh")} },
    .{ .op = "Erf", .opset = 13, .inputs = &.{randomIn(.float32, &.{ 13, 17 }, -3, 3)} },
    .{ .op = "Exp", .opset = 13, .inputs = &.{randomIn(.float32, &.{ 7, 33 }, -5, 5)} },
    .{ .op = "Where", .opset = 16, .inputs = &.{ randomIn(.bool, &.{ 7, 13 }, 0, 1), random(&.{ 7, 13 }), random(&.{13}) } },
    .{ .op = "Where", .opset = 16, .inputs = &.{ randomIn(.bool, &.{ 1, 13 }, 0, 1), random(&.{ 7, 1 }), random(&.{}) } },
    .{ .op = "Cast", .opset = 19, .inputs = &.{randomIn(.float32, &.{ 7, 13 }, -100, 100)}, .attributes = &.{int("to", @intFromEnum(DType.int32))} },
    .{ .op = "Cast", .opset = 19, .inputs = &.{random(&.{ 7, 13 })}, .attributes = &.{int("to", @intFromEnum(DType.float16))} },
    .{ .op = "Cast", .opset = 19, .inputs = &.{randomIn(.int64, &.{ 5, 7 }, -1000, 1000)}, .attributes = &.{int("to", @intFromEnum(DType.float32))} },
    .{ .op = "Cast", .opset = 19, .inputs = &.{randomIn(.float32, &.{33}, -2, 2)}, .attributes = &.{int("to", @intFromEnum(DType.bool))} },
    .{ .op = "Cast", .opset = 19, .inputs = &.{randomIn(.bool, &.{ 3, 13 }, 0, 1)}, .attributes = &.{int("to", @intFromEnum(DType.float32))} },
    .{ .op = "Cast", .opset = 19, .inputs = &.{randomIn(.int32, &.{ 3, 13 }, -1000, 1000)}, .attributes = &.{int("to", @intFromEnum(DType.int64))} },
};

const linalg = [_]Case{
    .{ .op = "MatMul", .opset = 13, .inputs = &.{ random(&.{ 7, 13 }), random(&.{ 13, 33 }) }, .max_nmse = T.dot },
    .{ .op = "MatMul", .opset = 13, .inputs = &.{ random(&.{ 65, 129 }), random(&.{ 129, 33 }) }, .max_nmse = T.dot },
    .{ .op = "MatMul", .opset = 13, .inputs = &.{ random(&.{ 3, 7, 13 }), random(&.{ 3, 13, 9 }) }, .max_nmse = T.dot },
    .{ .op = "MatMul", .opset = 13, .inputs = &.{ random(&.{ 2, 3, 5, 17 }), random(&.{ 17, 6 }) }, .max_nmse = T.dot },
    .{ .op = "MatMul", .opset = 13, .inputs = &.{ random(&.{ 1, 4, 7, 13 }), random(&.{ 3, 1, 13, 5 }) }, .max_nmse = T.dot },
    .{ .op = "MatMul", .opset = 13, .inputs = &.{ random(&.{13}), random(&.{ 13, 7 }) }, .max_nmse = T.dot },
    .{ .op = "MatMul", .opset = 13, .inputs = &.{ random(&.{ 2, 7, 13 }), random(&.{13}) }, .max_nmse = T.dot },
    .{ .op = "Gemm", .opset = 13, .inputs = &.{ random(&.{ 7, 13 }), random(&.{ 13, 33 }), random(&.{33}) }, .max_nmse = T.dot },
    .{ .op = "Gemm", .opset = 13, .inputs = &.{ random(&.{ 13, 7 }), random(&.{ 13, 33 }), random(&.{ 7, 33 }) }, .attributes = &.{int("transA", 1)}, .max_nmse = T.dot },
    .{ .op = "Gemm", .opset = 13, .inputs = &.{ random(&.{ 7, 13 }), random(&.{ 33, 13 }), random(&.{ 7, 1 }) }, .attributes = &.{int("transB", 1)}, .max_nmse = T.dot },
    .{
        .op = "Gemm",
        .opset = 13,
        .inputs = &.{ random(&.{ 13, 7 }), random(&.{ 33, 13 }), random(&.{ 1, 33 }) },
        .attributes = &.{ int("transA", 1), int("transB", 1), float("alpha", 0.5), float("beta", 2) },
        .max_nmse = T.dot,
    },
    .{ .op = "Gemm", .opset = 13, .inputs = &.{ random(&.{ 7, 13 }), random(&.{ 13, 5 }) }, .attributes = &.{float("alpha", -1.5)}, .max_nmse = T.dot },
    .{ .op = "Gemm", .opset = 13, .inputs = &.{ random(&.{ 33, 17 }), random(&.{ 17, 9 }), random(&.{}) }, .attributes = &.{float("beta", -1)}, .max_nmse = T.dot },
};

const convolution = [_]Case{
    .{ .op = "Conv", .opset = 11, .inputs = &.{ random(&.{ 1, 16, 13, 13 }), random(&.{ 8, 16, 1, 1 }), random(&.{8}) }, .max_nmse = T.dot },
    .{ .op = "Conv", .opset = 11, .inputs = &.{ random(&.{ 1, 3, 13, 13 }), random(&.{ 8, 3, 3, 3 }), random(&.{8}) }, .attributes = &.{intList("pads", &.{ 1, 1, 1, 1 })}, .max_nmse = T.dot },
    .{ .op = "Conv", .opset = 11, .inputs = &.{ random(&.{ 2, 4, 15, 15 }), random(&.{ 6, 4, 3, 3 }) }, .attributes = &.{intList("strides", &.{ 2, 2 })}, .max_nmse = T.dot },
    .{
        .op = "Conv",
        .opset = 11,
        .inputs = &.{ random(&.{ 1, 3, 17, 17 }), random(&.{ 4, 3, 3, 3 }), random(&.{4}) },
        .attributes = &.{ intList("dilations", &.{ 2, 2 }), intList("pads", &.{ 2, 2, 2, 2 }) },
        .max_nmse = T.dot,
    },
    .{
        .op = "Conv",
        .opset = 11,
        .inputs = &.{ random(&.{ 1, 8, 11, 11 }), random(&.{ 6, 4, 3, 3 }), random(&.{6}) },
        .attributes = &.{ int("group", 2), intList("pads", &.{ 1, 1, 1, 1 }) },
        .max_nmse = T.dot,
    },
    .{
        .op = "Conv",
        .opset = 11,
        .inputs = &.{ random(&.{ 1, 8, 13, 13 }), random(&.{ 8, 1, 3, 3 }), random(&.{8}) },
        .attributes = &.{ int("group", 8), intList("pads", &.{ 1, 1, 1, 1 }) },
        .max_nmse = T.dot,
    },
    .{
        .op = "Conv",
        .opset = 11,
        .inputs = &.{ random(&.{ 1, 16, 14, 14 }), random(&.{ 16, 1, 3, 3 }) },
        .attributes = &.{ int("group", 16), intList("pads", &.{ 1, 1, 1, 1 }), intList("strides", &.{ 2, 2 }) },
        .max_nmse = T.dot,
    },
    .{ .op = "Conv", .opset = 11, .inputs = &.{ random(&.{ 1, 2, 9, 9 }), random(&.{ 3, 2, 5, 5 }) }, .attributes = &.{intList("pads", &.{ 2, 1, 2, 1 })}, .max_nmse = T.dot },
    .{
        .op = "Conv",
        .opset = 11,
        .inputs = &.{ random(&.{ 1, 3, 10, 10 }), random(&.{ 4, 3, 3, 3 }) },
        .attributes = &.{ string("auto_pad", "SAME_UPPER"), intList("strides", &.{ 2, 2 }) },
        .max_nmse = T.dot,
    },
    .{ .op = "Conv", .opset = 11, .inputs = &.{ random(&.{ 1, 4, 33 }), random(&.{ 5, 4, 3 }), random(&.{5}) }, .max_nmse = T.dot },
};

const pooling = [_]Case{
    .{ .op = "MaxPool", .opset = 12, .inputs = &.{random(&.{ 1, 3, 13, 13 })}, .attributes = &.{ intList("kernel_shape", &.{ 3, 3 }), intList("strides", &.{ 2, 2 }) } },
    .{ .op = "MaxPool", .opset = 12, .inputs = &.{random(&.{ 2, 5, 7, 9 })}, .attributes = &.{ intList("kernel_shape", &.{ 3, 3 }), intList("pads", &.{ 1, 1, 1, 1 }) } },
    .{
        .op = "MaxPool",
        .opset = 12,
        .inputs = &.{random(&.{ 1, 2, 15, 15 })},
        .attributes = &.{ intList("kernel_shape", &.{ 2, 2 }), intList("strides", &.{ 2, 2 }), int("ceil_mode", 1) },
    },
    .{ .op = "MaxPool", .opset = 12, .inputs = &.{random(&.{ 1, 3, 13, 11 })}, .attributes = &.{intList("kernel_shape", &.{ 2, 3 })}, .outputs = 2 },
    .{ .op = "AveragePool", .opset = 19, .inputs = &.{random(&.{ 1, 3, 13, 13 })}, .attributes = &.{ intList("kernel_shape", &.{ 3, 3 }), intList("strides", &.{ 2, 2 }) }, .max_nmse = T.accumulating },
    .{
        .op = "AveragePool",
        .opset = 19,
        .inputs = &.{random(&.{ 2, 3, 9, 7 })},
        .attributes = &.{ intList("kernel_shape", &.{ 3, 3 }), intList("pads", &.{ 1, 1, 1, 1 }) },
        .max_nmse = T.accumulating,
    },
    .{
        .op = "AveragePool",
        .opset = 19,
        .inputs = &.{random(&.{ 2, 3, 9, 7 })},
        .attributes = &.{ intList("kernel_shape", &.{ 3, 3 }), intList("pads", &.{ 1, 1, 1, 1 }), int("count_include_pad", 1) },
        .max_nmse = T.accumulating,
    },
    .{ .op = "GlobalAveragePool", .opset = 1, .inputs = &.{random(&.{ 2, 7, 13, 11 })}, .max_nmse = T.accumulating },
    .{ .op = "GlobalAveragePool", .opset = 1, .inputs = &.{random(&.{ 1, 33, 5, 5 })}, .max_nmse = T.accumulating },
};

const normalizing = [_]Case{
    .{ .op = "Softmax", .opset = 13, .inputs = &.{randomIn(.float32, &.{ 7, 33 }, -5, 5)}, .max_nmse = T.accumulating },
    .{ .op = "Softmax", .opset = 13, .inputs = &.{random(&.{ 3, 7, 13 })}, .attributes = &.{int("axis", 1)}, .max_nmse = T.accumulating },
    .{ .op = "Softmax", .opset = 13, .inputs = &.{random(&.{ 5, 13 })}, .attributes = &.{int("axis", 0)}, .max_nmse = T.accumulating },
    .{ .op = "LogSoftmax", .opset = 13, .inputs = &.{randomIn(.float32, &.{ 7, 33 }, -5, 5)}, .max_nmse = T.accumulating },
    .{ .op = "LogSoftmax", .opset = 13, .inputs = &.{random(&.{ 2, 13, 7 })}, .attributes = &.{int("axis", 1)}, .max_nmse = T.accumulating },
    .{ .op = "ReduceMean", .opset = 18, .inputs = &.{ random(&.{ 7, 33 }), ints(&.{-1}) }, .max_nmse = T.accumulating },
    .{ .op = "ReduceMean", .opset = 18, .inputs = &.{ random(&.{ 5, 7, 13 }), ints(&.{ 0, 2 }) }, .attributes = &.{int("keepdims", 0)}, .max_nmse = T.accumulating },
    .{ .op = "ReduceMean", .opset = 13, .inputs = &.{random(&.{ 2, 3, 7, 7 })}, .attributes = &.{intList("axes", &.{ 2, 3 })}, .max_nmse = T.accumulating },
    .{ .op = "ReduceSum", .opset = 13, .inputs = &.{ random(&.{ 3, 13, 7 }), ints(&.{1}) }, .max_nmse = T.accumulating },
    .{ .op = "ReduceSum", .opset = 13, .inputs = &.{random(&.{ 7, 13 })}, .attributes = &.{int("keepdims", 0)}, .max_nmse = T.accumulating },
    .{ .op = "ReduceMax", .opset = 18, .inputs = &.{ random(&.{ 7, 33, 3 }), ints(&.{1}) }, .attributes = &.{int("keepdims", 0)} },
    .{ .op = "ReduceMax", .opset = 18, .inputs = &.{ random(&.{ 4, 5, 6 }), ints(&.{ 0, -1 }) } },
    .{ .op = "LayerNormalization", .opset = 17, .inputs = &.{ random(&.{ 7, 33 }), random(&.{33}), random(&.{33}) }, .max_nmse = T.accumulating },
    .{
        .op = "LayerNormalization",
        .opset = 17,
        .inputs = &.{ random(&.{ 2, 5, 13 }), random(&.{ 5, 13 }), random(&.{ 5, 13 }) },
        .attributes = &.{ int("axis", 1), float("epsilon", 1e-3) },
        .max_nmse = T.accumulating,
    },
    .{ .op = "LayerNormalization", .opset = 17, .inputs = &.{ random(&.{ 3, 7, 17 }), random(&.{17}) }, .max_nmse = T.accumulating },
    .{
        .op = "BatchNormalization",
        .opset = 15,
        .inputs = &.{ random(&.{ 2, 3, 7, 7 }), random(&.{3}), random(&.{3}), random(&.{3}), randomIn(.float32, &.{3}, 0.5, 2) },
        .max_nmse = T.accumulating,
    },
    .{
        .op = "BatchNormalization",
        .opset = 15,
        .inputs = &.{ random(&.{ 1, 13, 5 }), random(&.{13}), random(&.{13}), random(&.{13}), randomIn(.float32, &.{13}, 0.5, 2) },
        .attributes = &.{float("epsilon", 1e-3)},
        .max_nmse = T.accumulating,
    },
};

const movement = [_]Case{
    .{ .op = "Transpose", .opset = 13, .inputs = &.{random(&.{ 7, 13 })} },
    .{ .op = "Transpose", .opset = 13, .inputs = &.{random(&.{ 2, 3, 5, 7 })}, .attributes = &.{intList("perm", &.{ 0, 2, 3, 1 })} },
    .{ .op = "Transpose", .opset = 13, .inputs = &.{randomIn(.int64, &.{ 3, 13, 7 }, -9, 9)}, .attributes = &.{intList("perm", &.{ 2, 0, 1 })} },
    .{ .op = "Concat", .opset = 13, .inputs = &.{ random(&.{ 7, 3 }), random(&.{ 7, 13 }), random(&.{ 7, 1 }) }, .attributes = &.{int("axis", 1)} },
    .{ .op = "Concat", .opset = 13, .inputs = &.{ random(&.{ 2, 5 }), random(&.{ 5, 5 }) }, .attributes = &.{int("axis", 0)} },
    .{ .op = "Concat", .opset = 13, .inputs = &.{ randomIn(.int64, &.{ 3, 2, 4 }, -9, 9), randomIn(.int64, &.{ 3, 2, 7 }, -9, 9) }, .attributes = &.{int("axis", -1)} },
    .{ .op = "Reshape", .opset = 14, .inputs = &.{ random(&.{ 7, 13 }), ints(&.{ 13, 7 }) } },
    .{ .op = "Reshape", .opset = 14, .inputs = &.{ random(&.{ 2, 3, 5 }), ints(&.{ -1, 5 }) } },
    .{ .op = "Reshape", .opset = 14, .inputs = &.{ random(&.{ 6, 7 }), ints(&.{ 0, -1 }) } },
    .{ .op = "Slice", .opset = 13, .inputs = &.{ random(&.{ 7, 33 }), ints(&.{ 1, 3 }), ints(&.{ 6, 30 }), ints(&.{ 0, 1 }) } },
    .{ .op = "Slice", .opset = 13, .inputs = &.{ random(&.{ 13, 7 }), ints(&.{-1}), ints(&.{-20}), ints(&.{0}), ints(&.{-2}) } },
    .{ .op = "Slice", .opset = 13, .inputs = &.{ random(&.{ 5, 13, 7 }), ints(&.{2}), ints(&.{11}), ints(&.{1}), ints(&.{3}) } },
    .{ .op = "Gather", .opset = 13, .inputs = &.{ random(&.{ 13, 7 }), randomIn(.int64, &.{5}, -13, 12) } },
    .{ .op = "Gather", .opset = 13, .inputs = &.{ random(&.{ 3, 13, 5 }), randomIn(.int64, &.{ 2, 4 }, -13, 12) }, .attributes = &.{int("axis", 1)} },
    .{ .op = "Gather", .opset = 13, .inputs = &.{ random(&.{ 7, 33 }), randomIn(.int32, &.{3}, 0, 32) }, .attributes = &.{int("axis", -1)} },
    .{ .op = "Resize", .opset = 13, .inputs = &.{ random(&.{ 1, 3, 7, 7 }), absent, floats(&.{ 1, 1, 2, 2 }) }, .max_nmse = T.accumulating },
    .{ .op = "Resize", .opset = 13, .inputs = &.{ random(&.{ 1, 2, 13, 13 }), absent, floats(&.{ 1, 1, 0.5, 0.5 }) }, .max_nmse = T.accumulating },
    .{
        .op = "Resize",
        .opset = 13,
        .inputs = &.{ random(&.{ 1, 3, 7, 5 }), absent, absent, ints(&.{ 1, 3, 13, 11 }) },
        .attributes = &.{string("mode", "linear")},
        .max_nmse = T.accumulating,
    },
    .{
        .op = "Resize",
        .opset = 13,
        .inputs = &.{ random(&.{ 1, 2, 6, 6 }), absent, floats(&.{ 1, 1, 1.5, 1.5 }) },
        .attributes = &.{ string("mode", "linear"), string("coordinate_transformation_mode", "align_corners") },
        .max_nmse = T.accumulating,
    },
    .{ .op = "Resize", .opset = 13, .inputs = &.{ random(&.{ 1, 1, 5, 7 }), absent, floats(&.{ 1, 1, 2, 2 }) }, .attributes = &.{string("mode", "cubic")}, .max_nmse = T.accumulating },
};

// ---- building the table --------------------------------------------------------------------

/// Random float32 values in [-1, 1].
pub fn random(shape: []const i64) Input {
    return .{ .shape = shape };
}

/// Random values of `dtype` in [low, high].
pub fn randomIn(dtype: DType, shape: []const i64, low: f64, high: f64) Input {
    return .{ .dtype = dtype, .shape = shape, .low = low, .high = high };
}

/// A 1-D int64 constant.
pub fn ints(values: []const i64) Input {
    return .{ .dtype = .int64, .shape = &.{@intCast(values.len)}, .ints = values };
}

/// A 1-D float32 constant.
pub fn floats(values: []const f32) Input {
    return .{ .shape = &.{@intCast(values.len)}, .floats = values };
}

pub const absent: Input = .{ .absent = true };

pub fn int(name: []const u8, v: i64) Attr {
    return .{ .name = name, .type = .int, .i = v };
}

pub fn intList(name: []const u8, values: []const i64) Attr {
    return .{ .name = name, .type = .ints, .ints = values };
}

pub fn float(name: []const u8, v: f32) Attr {
    return .{ .name = name, .type = .float, .f = v };
}

pub fn string(name: []const u8, v: []const u8) Attr {
    return .{ .name = name, .type = .string, .s = v };
}
