//! Root of one CPU level's copy of the library (build.zig compiles it once per level, each for
//! that level's instruction set). It exports nothing public: only its table of the C functions,
//! under a hidden name that the dispatcher (dispatch/shim.zig) links against.
const build_options = @import("build_options");
const exports = @import("api/exports.zig");

comptime {
    @export(&exports.table, .{ .name = exports.tableSymbol(build_options.cpu_level), .visibility = .hidden });
}
