//! Every operator with a shape rule has a CPU kernel, so that no model loads and then fails on
//! its first run for want of one.
const std = @import("std");
const shape_rules = @import("../../model/infer/registry.zig");
const kernels = @import("kernels/registry.zig");

test "every operator with a shape rule has a CPU kernel" {
    var missing: usize = 0;
    for (shape_rules.keys()) |key| {
        const colon = std.mem.indexOfScalar(u8, key, ':').?;
        if (kernels.lookup(key[0..colon], key[colon + 1 ..]) == null) {
            std.debug.print("shape rule without a CPU kernel: {s}\n", .{key});
            missing += 1;
        }
    }
    try std.testing.expectEqual(@as(usize, 0), missing);
}
