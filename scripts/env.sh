# Sourced by every script: where the project keeps its toolchains and caches.
# All of them live under .cache/ and node_modules/, both ignored by git.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="$ROOT/.cache"
. "$ROOT/scripts/versions.env"
export ZIG_GLOBAL_CACHE_DIR="$CACHE/zig-global"
export ZIG_LOCAL_CACHE_DIR="$CACHE/zig-local"
export MESA_SHADER_CACHE_DIR="$CACHE/mesa-shaders"
# The Vulkan backend's pipeline cache, for the tests and scripts (docs/vulkan.md).
export TESSERA_CACHE_DIR="$CACHE/tessera-cache"
export PATH="$ROOT/node_modules/.bin:$PATH"
VENV="$CACHE/venv"
PYTHON_CONSTRAINTS="$ROOT/scripts/python-constraints.txt"
ZIG="$ROOT/scripts/zig"
LIBRARY="$ROOT/libruntime/zig-out/lib/libtessera.so"
