/**
 * Spans and durations from profile events. Begins and ends are paired per thread, kind, node,
 * depth and tensor with a stack, so nested and interleaved spans pair correctly, and an end whose
 * begin the ring overwrote is dropped rather than paired wrongly.
 */
import type { EventKind, ProfileDurations, ProfileEvent, Span } from "./events.ts";

function pairKey(e: ProfileEvent): string {
  return `${e.threadId}|${e.kind}|${e.opIndex}|${e.depth}|${e.tensorId}`;
}

/** Matched begin/end pairs, ordered by start time. */
export function spansOf(events: readonly ProfileEvent[]): Span[] {
  const open = new Map<string, ProfileEvent[]>();
  const spans: Span[] = [];
  for (const e of events) {
    const key = pairKey(e);
    if (e.phase === "begin") {
      const stack = open.get(key);
      if (stack) stack.push(e);
      else open.set(key, [e]);
      continue;
    }
    const begin = open.get(key)?.pop();
    if (!begin) continue;
    spans.push({
      kind: e.kind,
      startNs: begin.timestampNs,
      endNs: e.timestampNs,
      durationNs: e.timestampNs - begin.timestampNs,
      opIndex: e.opIndex,
      threadId: e.threadId,
      tensorId: e.tensorId,
      srcDevice: e.srcDevice,
      dstDevice: e.dstDevice,
      depth: e.depth,
    });
  }
  return spans.sort((a, b) => a.startNs - b.startNs);
}

const copyKinds: ReadonlySet<EventKind> = new Set(["copy", "transfer-from-input", "transfer-to-output"]);

/**
 * Model durations (one per model execute), per-layer durations of the model's own graph (by
 * index into `operations`), and per-copy durations, all in ns.
 */
export function durationsOf(events: readonly ProfileEvent[], operations: readonly { name: string; opType: string }[]): ProfileDurations {
  const model: number[] = [];
  const layers = new Map<number, number[]>();
  const copies: ProfileDurations["copies"] = [];
  for (const span of spansOf(events)) {
    if (span.kind === "model-execute") model.push(span.durationNs);
    else if (span.kind === "layer-execute" && span.depth === 0) {
      const list = layers.get(span.opIndex);
      if (list) list.push(span.durationNs);
      else layers.set(span.opIndex, [span.durationNs]);
    } else if (copyKinds.has(span.kind)) copies.push({ kind: span.kind, tensorId: span.tensorId, ns: span.durationNs });
  }
  return {
    model,
    layers: [...layers].sort((a, b) => a[0] - b[0]).map(([opIndex, ns]) => ({
      opIndex,
      name: operations[opIndex]?.name ?? "",
      opType: operations[opIndex]?.opType ?? "",
      ns,
    })),
    copies,
  };
}
