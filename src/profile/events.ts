/**
 * Profile events as the engine records them: one begin and one end per span, read back from a
 * request's ring buffer. The kinds cover the seeds' sets; `optimaV2Kind` gives OptimaV2's names
 * for the same spans.
 */

/** Event kinds in the C ABI's order (tsr_event_kind). */
export const EVENT_KINDS = [
  "model-init",
  "subgraph-init",
  "request-init",
  "transfer-from-input",
  "transfer-to-output",
  "layer-execute",
  "launch",
  "device-execute",
  "copy",
  "queue",
  "wait",
  "model-execute",
  "subgraph-execute",
] as const;

export type EventKind = (typeof EVENT_KINDS)[number];

export interface ProfileEvent {
  kind: EventKind;
  phase: "begin" | "end";
  /** Nanoseconds on the library's monotonic clock (zero when the library was loaded). */
  timestampNs: number;
  /** The node's index in model.operations (for a node inside a subgraph: that subgraph's node index); -1 when none applies. */
  opIndex: number;
  /** The OS thread that recorded the event. */
  threadId: number;
  /** The value id of the tensor a transfer or copy moved; -1 when none applies. */
  tensorId: number;
  /** Source and destination device index for transfers and copies (0: the CPU); -1 when none applies. */
  srcDevice: number;
  dstDevice: number;
  /** Subgraph nesting depth: 0 for the model's own graph. */
  depth: number;
}

/** OptimaV2's event names for the same spans (launch, device-execute and queue have none there). */
export type OptimaV2Kind =
  | "ModelInit"
  | "SubgraphInit"
  | "RequestInit"
  | "TransferFromInput"
  | "TransferToOutput"
  | "LayerExecute"
  | "Wait"
  | "BufferCopy"
  | "ModelExecute"
  | "SubgraphExecute";

const optimaV2Names: Partial<Record<EventKind, OptimaV2Kind>> = {
  "model-init": "ModelInit",
  "subgraph-init": "SubgraphInit",
  "request-init": "RequestInit",
  "transfer-from-input": "TransferFromInput",
  "transfer-to-output": "TransferToOutput",
  "layer-execute": "LayerExecute",
  wait: "Wait",
  copy: "BufferCopy",
  "model-execute": "ModelExecute",
  "subgraph-execute": "SubgraphExecute",
};

export function optimaV2Kind(kind: EventKind): OptimaV2Kind | null {
  return optimaV2Names[kind] ?? null;
}

/** A matched begin/end pair: the event's fields, with both times. */
export interface Span extends Omit<ProfileEvent, "phase" | "timestampNs"> {
  startNs: number;
  endNs: number;
  durationNs: number;
}

/** Durations derived from a request's events, in ns, one entry per occurrence. */
export interface ProfileDurations {
  /** Each model execute (one per run). */
  model: number[];
  /** Per top-level operation, by index in model.operations: each execute of it. */
  layers: { opIndex: number; name: string; opType: string; ns: number[] }[];
  /** Each copy or transfer, with the tensor it moved. */
  copies: { kind: EventKind; tensorId: number; ns: number }[];
}

/** Options of request.profile (Optimium's names). */
export interface ProfileOptions {
  /** Timed runs (default 1). */
  repeat?: number;
  /** Untimed runs first (default 0). */
  warmup?: number;
  /** Keep warming up until this much time has passed, in µs (default 0). */
  warmupTimeUs?: number;
  /** Stop the timed runs early once their total passes this, in µs (0: never). */
  stopThresholdUs?: number;
  /** Look at the stop threshold every this many runs (default 1). */
  checkPeriod?: number;
  /** The ring buffer's size in events (default 65536); the oldest events are overwritten beyond it. */
  eventBufferSize?: number;
}

/** What request.profile returns. */
export interface ProfileResult {
  /** Timed runs done (fewer than `repeat` when the stop threshold stopped them). */
  runs: number;
  events: ProfileEvent[];
  durations: ProfileDurations;
  /** Events lost because the ring was full (the oldest ones). */
  dropped: number;
}
