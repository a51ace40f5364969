/**
 * The compiled-model cache (docs/model-cache.md) seen from TypeScript: emptying a cache folder,
 * and where a loaded model's packed weights came from (packed by its load, mapped from the
 * cache, or shared with the model a hot update replaced).
 */
import { check, cString, lib, type Pointer } from "./native.ts";

/** Bytes of weights packed for the GEMM at load, by where they came from. */
export interface WeightOrigins {
  /** Packed by this load. */
  packedBytes: number;
  /** Mapped from the compiled-model cache instead of packed. */
  cachedBytes: number;
  /** Shared with the model that model.update() replaced. */
  sharedBytes: number;
}

const weightKeys = { packedBytes: 11, cachedBytes: 12, sharedBytes: 13 } as const;

/** @internal The numbers of a live native model. */
export function weightOrigins(model: Pointer): WeightOrigins {
  const read = (key: number) => {
    const slot = new BigInt64Array(1);
    check(lib.tsr_model_get_i64(model, key, slot));
    return Number(slot[0]);
  };
  return {
    packedBytes: read(weightKeys.packedBytes),
    cachedBytes: read(weightKeys.cachedBytes),
    sharedBytes: read(weightKeys.sharedBytes),
  };
}

/**
 * Removes the compiled-model cache's entries from `dir` (absent: TESSERA_CACHE_DIR's), and no
 * other file: the Vulkan pipeline cache that shares the folder stays. Returns how many went; a
 * folder that does not exist holds none.
 */
export function clearCache(dir?: string): number {
  const removed = new Uint32Array(1);
  check(lib.tsr_cache_clear(dir === undefined ? null : cString(dir), removed));
  return removed[0]!;
}
