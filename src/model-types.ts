/**
 * The types a model is described by: its load options, its inputs' and outputs' TensorInfo, and
 * the operations, copies and islands of its partition (src/model.ts loads and describes models).
 */
import type { DType } from "./dtype.ts";
import type { ProgressCallback } from "./load-progress.ts";

export interface LoadOptions {
  /**
   * "cpu", "vulkan:N", "auto", a loaded extension's device ("myext:0", rt.loadExtension), or a
   * list in order of preference ("vulkan:0,cpu"): each operation runs on the first listed device
   * that supports it, the CPU last. "auto" is the CPU alone.
   */
  devices?: string | string[];
  /** Fail instead of falling back to the CPU for unsupported operations. */
  strict?: boolean;
  /** Share buffers between tensors whose lifetimes do not overlap (default true). */
  memoryOptimization?: boolean;
  disableDenormals?: boolean;
  /** Write every intermediate tensor there, in the tensor file format. */
  intermediateSavePath?: string;
  /**
   * Opens an encrypted container (rt.encryptModel, docs/encrypted-models.md). It appears in no
   * error message and cannot be read back with getOption.
   */
  passphrase?: string;
  /** Worker threads; 0 or absent: one per core. */
  threads?: number;
  /** CPU ids to pin threads to. */
  cores?: number[];
  scheduler?: "simple" | "exclusive" | "pipeline";
  /** Every request created from the model records profile events (see InferRequest.getProfileEvents). */
  profiling?: boolean;
  /** Events each request's ring keeps (default 65536); the oldest are overwritten beyond it. */
  profileBufferSize?: number;
  /**
   * Shapes for inputs (by name, or an array in input order), fixed before shape inference, so
   * the graph is inferred and its memory planned once for them; what model.reshape() loads with.
   * Symbols an input shares with others are fixed in all of them.
   */
  inputShapes?: InputShapes;
  /**
   * Called as the load advances: { stage, fraction } per stage (src/load-progress.ts). A throw
   * cancels the load, which fails with InvalidOperationError.
   */
  onProgress?: ProgressCallback;
  /** OpenVINO's hint: threads, streams and queue size chosen for it (see model.config). */
  performanceHint?: "latency" | "throughput";
  /** The requests the caller keeps in flight (1 or more): bounds the streams a hint chooses. */
  numRequests?: number;
  /**
   * The compiled-model cache's folder (docs/model-cache.md): the first load writes the weights it
   * packed there, later loads of the same model with the same options map them. Absent: the
   * TESSERA_CACHE_DIR environment variable's; "": no cache.
   */
  cacheDir?: string;
}

export type ModelSource = string | Uint8Array | ArrayBuffer;
export type DimValue = number | string;
/** Shapes for a model's inputs: by name, or an array in input order. */
export type InputShapes = Readonly<Record<string, readonly DimValue[]>> | readonly (readonly DimValue[])[];

export interface Quantization {
  scheme: "per-tensor" | "per-channel";
  axis: number;
  scales: number[];
  zeroPoints: number[];
}

export interface TensorInfo {
  name: string;
  kind: "tensor" | "sequence" | "optional" | "map" | "sparse-tensor" | "unknown";
  /** The element type; for a map (or a sequence or optional of maps), the key type. */
  dtype: DType | null;
  /** Only for a map (or a sequence or optional of maps) whose values' type is known: that type. */
  valueDtype?: DType;
  /** Numbers where known, symbolic dims as text ("batch", "2*N"); null for an unknown rank. */
  shape: DimValue[] | null;
  /** null when any dim is symbolic. */
  byteSize: number | null;
  alignment: number;
  padding: number;
  isConstant: boolean;
  /** An input the caller may leave out: the model has a default for it. */
  optOut: boolean;
  quantization: Quantization | null;
}

export interface Operation {
  name: string;
  opType: string;
  domain: string;
  /** Where the node runs, as the load's partition placed it ("cpu:0"). */
  device: string;
}

/**
 * A value copied from one device's memory to another's, where operations that read it sit on a
 * device whose memory is not the one it was made in: once per run, or once at load for a constant.
 */
export interface Copy {
  value: string;
  from: string;
  to: string;
  atLoad: boolean;
}

/** A run of consecutive operations (in execution order) placed on one device. */
export interface Island {
  device: string;
  /** The index of its first operation in `model.operations`. */
  first: number;
  count: number;
}
