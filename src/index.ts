/**
 * Tessera: an inference runtime for Bun and Deno.
 *
 *   import * as rt from "tessera";
 *   rt.version; rt.devices(); using t = rt.tensor([[1, 2], [3, 4]]);
 */
export * from "./errors.ts";
export { buildInfo, type BuildInfo, finalize, initialize, isInitialized, version } from "./runtime.ts";
export { logging, type LogCallback, type LogLevel, logLevels } from "./logging.ts";
export {
  cpuFeatureBits,
  type DeviceInfo,
  type DeviceKind,
  devices,
  getAvailableDevices,
  getLocalInfo,
  hostInfo,
  type HostInfo,
  listDevices,
  type Platform,
  platforms,
} from "./device.ts";
export {
  type DType,
  type DTypeLike,
  dtypeOf,
  dtypes,
  resolveDType,
  type TypedArray,
  typedArrayFor,
} from "./dtype.ts";
export { fromBFloat16Bits, fromFloat16Bits, pack, toBFloat16Bits, toFloat16Bits, unpack } from "./packing.ts";
export { type PrintOptions, printOptions, setPrintOptions } from "./format.ts";
export { loadTensor, tensorFromOnnx, type NestedArray, type Quantization, type Scalar, Tensor, tensor, type TensorOptions } from "./tensor.ts";
export { nativeStats, type NativeStats } from "./stats.ts";
export {
  compileModel,
  type DimValue,
  type InputShapes,
  loadModel,
  loadModelSync,
  type LoadOptions,
  Model,
  type ModelSource,
  type Copy,
  type Island,
  type Operation,
  type Quantization as QuantizationInfo,
  type TensorInfo,
} from "./model.ts";
export { clearCache, type WeightOrigins } from "./model-cache.ts";
export { encryptModel, type EncryptOptions } from "./encrypt-model.ts";
export { Extension, loadedExtensions, loadExtension } from "./extension.ts";
export { getModelInfo, type ModelInfo } from "./model-info.ts";
export { guessModelKind, type KindFacts, type KindGuess, type ModelKind } from "./model-kind.ts";
export { queryModel, type QueryResult } from "./query-model.ts";
export {
  type ElementsLike,
  InferRequest,
  type InferOptions,
  type Inputs,
  type InputValue,
  type MapKey,
  type MapLike,
  type MapValue,
  type OutputTargets,
  type Outputs,
  type RequestCallback,
  type RequestStatus,
  type RunOptions,
  type TensorLike,
  type Value,
  type ValueMap,
} from "./request.ts";
export { disposeValue } from "./run-values.ts";
export { decodeNpy, encodeNpy, type NpyArray, npyCanHold, readNpy, writeNpy } from "./npy.ts";
/** Builds ONNX models in TypeScript: rt.onnx.buildModel(graph) with an rt.onnx.GraphBuilder. */
export * as onnx from "./onnx/builder.ts";
export { optionalFromOnnx, sequenceFromOnnx } from "./onnx/values.ts";
/** A client for models served over OIP v2: rt.remote.connect(host, { port, secure, compression, token }). */
export * as remote from "./remote/index.ts";
export { AsyncInferQueue, type QueueCallback } from "./queue.ts";
export { type LoadProgress, type LoadStage, loadStages, type ProgressCallback } from "./load-progress.ts";
export { type NodeObserver } from "./observer.ts";
export { type BatchOptions, BatchRunError } from "./run-batch.ts";
export {
  detectBestDevice,
  type DeviceMemory,
  type DevicePreference,
  getDeviceMemory,
  type ModelConfig,
  optimizeThreading,
} from "./performance.ts";
export { memorySample, type MemoryMonitor, type MemorySample, monitorMemory, processRssBytes } from "./memory-monitor.ts";
export { percentile, percentileOfSorted, type Statistics, statistics, type StatisticsMs, statisticsMs } from "./profile/statistics.ts";
export {
  type ChromeTrace,
  type ChromeTraceEvent,
  type ChromeTraceOptions,
  chromeTraceProblems,
  toChromeTrace,
  writeChromeTrace,
} from "./profile/trace.ts";
export {
  EVENT_KINDS,
  type EventKind,
  type OptimaV2Kind,
  optimaV2Kind,
  type ProfileDurations,
  type ProfileEvent,
  type ProfileOptions,
  type ProfileResult,
  type Span,
} from "./profile/events.ts";
export { durationsOf, spansOf } from "./profile/durations.ts";
export { concreteShape, randomInputs, type RandomInputOptions, randomTensor } from "./profile/random-inputs.ts";
export {
  BasicProfiler,
  type BasicProfilerOptions,
  BatchProfiler,
  type BatchSizeResult,
  type BatchStatistics,
  type BenchmarkOptions,
  type BenchmarkResult,
  type LayerStatistics,
  mergeDurations,
  optimizeBatchSize,
  type OptimizeBatchSizeOptions,
  PerformanceProfiler,
  profileStatistics,
  type ProfileStatistics,
  type ProfileTarget,
  repeatAlongFirstDim,
} from "./profile/profilers.ts";
