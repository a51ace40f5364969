/** The native library's own memory and object counts (tsr_stats_get), for leak checks and monitoring. */
import { lib, outU64 } from "./native.ts";

export interface NativeStats {
  liveBytes: number;
  peakBytes: number;
  allocations: number;
  liveTensors: number;
  liveModels: number;
}

const keys = { liveBytes: 0, peakBytes: 1, allocations: 2, liveTensors: 3, liveModels: 4 } as const;

export function nativeStats(): NativeStats {
  const get = (key: number) => Number(outU64((slot) => lib.tsr_stats_get(key, slot)));
  return {
    liveBytes: get(keys.liveBytes),
    peakBytes: get(keys.peakBytes),
    allocations: get(keys.allocations),
    liveTensors: get(keys.liveTensors),
    liveModels: get(keys.liveModels),
  };
}
