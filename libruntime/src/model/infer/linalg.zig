//! Shape rules (family: linalg). See context.zig for what a rule can read and set.
const registry = @import("registry.zig");

pub const rules = [_]registry.Entry{};
