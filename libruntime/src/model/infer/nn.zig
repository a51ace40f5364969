//! Shape rules (family: nn). See context.zig for what a rule can read and set.
const registry = @import("registry.zig");

pub const rules = [_]registry.Entry{};
