/**
 * Profile events as a Chrome Trace Event Format object (the JSON that chrome://tracing and
 * Perfetto open): one "B"/"E" pair per span on the thread that recorded it, plus "M" metadata
 * naming the process and its threads.
 *
 * Viewers reject or misdraw a thread whose B/E events do not nest, so pairs are rebuilt here per
 * thread rather than taken from spans: the events of one thread are ordered by time (stably, so
 * the order the engine recorded breaks ties, which keeps a zero-length span inside its parent),
 * then matched with a stack. When the ring buffer overwrote the oldest events, some ends have lost
 * their begins (and a run still recording has begins without ends); those events are dropped, as
 * are begins whose end came only after their parent's, so everything emitted is properly nested.
 */
import { writeFileSync } from "node:fs";
import { getSystemErrorMessage } from "node:util";
import { IOError } from "../errors.ts";
import { type EventKind, type ProfileEvent } from "./events.ts";

export interface ChromeTraceEvent {
  name: string;
  /** "B" begin, "E" end, "M" metadata. */
  ph: "B" | "E" | "M";
  /** Microseconds on the library's monotonic clock (fractional: the events are in ns); 0 for metadata. */
  ts: number;
  pid: number;
  tid: number;
  cat?: string;
  args?: Record<string, unknown>;
}

export interface ChromeTrace {
  traceEvents: ChromeTraceEvent[];
  displayTimeUnit: "ns" | "ms";
}

export interface ChromeTraceOptions {
  /** The process id in the trace (default 1). */
  pid?: number;
  /** Shown as the process's name (default "tessera"). */
  processName?: string;
  /** How viewers print times (default "ns": layers take microseconds). */
  displayTimeUnit?: "ns" | "ms";
}

/** What names a layer's span: the model's operations, by index. */
export type OperationNames = readonly { readonly name: string; readonly opType: string }[];

/** Spans are paired by these (as spansOf pairs them); a begin matches the end with the same key on its thread. */
function spanKey(event: ProfileEvent): string {
  return `${event.kind}/${event.opIndex}/${event.depth}/${event.tensorId}`;
}

/** One thread's events in time order, and which of them form properly nested pairs. */
function matchedEvents(events: readonly ProfileEvent[]): ProfileEvent[] {
  // Array.prototype.sort is stable, so equal timestamps keep the recorded order.
  const ordered = [...events].sort((a, b) => a.timestampNs - b.timestampNs);
  const keep = new Array<boolean>(ordered.length).fill(false);
  const open: { index: number; key: string }[] = [];
  ordered.forEach((event, index) => {
    const key = spanKey(event);
    if (event.phase === "begin") {
      open.push({ index, key });
      return;
    }
    let at = open.length - 1;
    while (at >= 0 && open[at]!.key !== key) at--;
    if (at < 0) return; // its begin was overwritten: drop the end
    // Begins opened above the match never ended inside it: drop them with their (later) ends.
    const begin = open[at]!;
    open.length = at;
    keep[begin.index] = true;
    keep[index] = true;
  });
  return ordered.filter((_, index) => keep[index]);
}

function spanName(event: ProfileEvent, operations: OperationNames | undefined): string {
  if (event.kind !== "layer-execute") return event.kind;
  // opIndex indexes model.operations only for the model's own graph; subgraph nodes have their own numbering.
  const operation = event.depth === 0 ? operations?.[event.opIndex] : undefined;
  if (operation) return operation.name || operation.opType;
  return event.depth === 0 ? `op ${event.opIndex}` : `subgraph op ${event.opIndex}`;
}

function spanArgs(event: ProfileEvent, operations: OperationNames | undefined): Record<string, unknown> {
  const args: Record<string, unknown> = {};
  if (event.opIndex >= 0) args.opIndex = event.opIndex;
  if (event.kind === "layer-execute" && event.depth === 0 && operations?.[event.opIndex]) {
    args.opType = operations[event.opIndex]!.opType;
  }
  if (event.depth > 0) args.depth = event.depth;
  if (event.tensorId >= 0) args.tensorId = event.tensorId;
  if (event.srcDevice >= 0) args.srcDevice = event.srcDevice;
  if (event.dstDevice >= 0) args.dstDevice = event.dstDevice;
  return args;
}

/** A thread's label: the one that ran the model, a kernel pool worker, or just its id. */
function threadName(tid: number, kinds: ReadonlySet<EventKind>): string {
  if (kinds.has("model-execute") || kinds.has("layer-execute")) return `request thread ${tid}`;
  if (kinds.has("device-execute")) return `pool worker ${tid}`;
  return `thread ${tid}`;
}

/**
 * The events as a Chrome trace. `operations` (model.operations) names layer spans; without it
 * they are "op N". Events need not be sorted; unmatched ones are left out (see the file comment).
 */
export function toChromeTrace(
  events: readonly ProfileEvent[],
  operations?: OperationNames,
  options: ChromeTraceOptions = {},
): ChromeTrace {
  const pid = options.pid ?? 1;
  const byThread = new Map<number, ProfileEvent[]>();
  for (const event of events) {
    const list = byThread.get(event.threadId);
    if (list) list.push(event);
    else byThread.set(event.threadId, [event]);
  }

  const metadata: ChromeTraceEvent[] = [
    { name: "process_name", ph: "M", ts: 0, pid, tid: 0, args: { name: options.processName ?? "tessera" } },
  ];
  const spans: ChromeTraceEvent[] = [];
  // Threads in order of their first event, so the thread that started the run sorts first.
  const threads = [...byThread.entries()]
    .map(([tid, list]) => ({ tid, list: matchedEvents(list) }))
    .filter(({ list }) => list.length > 0)
    .sort((a, b) => a.list[0]!.timestampNs - b.list[0]!.timestampNs);
  threads.forEach(({ tid, list }, order) => {
    const kinds = new Set(list.map((event) => event.kind));
    metadata.push({ name: "thread_name", ph: "M", ts: 0, pid, tid, args: { name: threadName(tid, kinds) } });
    metadata.push({ name: "thread_sort_index", ph: "M", ts: 0, pid, tid, args: { sort_index: order } });
    for (const event of list) {
      const entry: ChromeTraceEvent = {
        name: spanName(event, operations),
        ph: event.phase === "begin" ? "B" : "E",
        ts: event.timestampNs / 1000,
        pid,
        tid,
        cat: event.kind,
      };
      if (event.phase === "begin") entry.args = spanArgs(event, operations);
      spans.push(entry);
    }
  });
  return { traceEvents: [...metadata, ...spans], displayTimeUnit: options.displayTimeUnit ?? "ns" };
}

/**
 * Writes toChromeTrace's result as JSON, for chrome://tracing or ui.perfetto.dev. A file that
 * cannot be written is an IOError naming the path and the system's reason, like every failure
 * Tessera reports, rather than node:fs's bare error.
 */
export function writeChromeTrace(
  path: string,
  events: readonly ProfileEvent[],
  operations?: OperationNames,
  options?: ChromeTraceOptions,
): ChromeTrace {
  const trace = toChromeTrace(events, operations, options);
  try {
    writeFileSync(path, JSON.stringify(trace));
  } catch (error) {
    // node:fs messages repeat the path after the syscall ("ENOENT: …, open '/x'"); the errno's own text does not.
    const { errno, code } = error as { errno?: number; code?: string };
    const reason = typeof errno === "number" ? `${getSystemErrorMessage(errno)} (${code})` : (error as Error).message;
    throw new IOError(`cannot write the trace to '${path}': ${reason}`, { cause: error });
  }
  return trace;
}

/**
 * What would make a viewer reject or misdraw the trace, one line per problem (empty: none): a
 * B without its E on the same thread, an E that closes another name than the innermost open B,
 * or timestamps going back on a thread.
 */
export function chromeTraceProblems(trace: ChromeTrace): string[] {
  const problems: string[] = [];
  const open = new Map<string, ChromeTraceEvent[]>();
  const last = new Map<string, number>();
  for (const event of trace.traceEvents) {
    if (event.ph === "M") continue;
    const thread = `${event.pid}/${event.tid}`;
    if (!Number.isFinite(event.ts)) problems.push(`thread ${thread}: ts ${event.ts} is not a number`);
    if (event.ts < (last.get(thread) ?? -Infinity)) {
      problems.push(`thread ${thread}: ts goes back from ${last.get(thread)} to ${event.ts} at ${event.ph} ${event.name}`);
    }
    last.set(thread, event.ts);
    const stack = open.get(thread) ?? [];
    open.set(thread, stack);
    if (event.ph === "B") {
      stack.push(event);
      continue;
    }
    const begin = stack.pop();
    if (!begin) problems.push(`thread ${thread}: E ${event.name} at ${event.ts} has no open B`);
    else if (begin.name !== event.name || begin.cat !== event.cat) {
      problems.push(`thread ${thread}: E ${event.name} at ${event.ts} closes B ${begin.name} from ${begin.ts}`);
    }
  }
  for (const [thread, stack] of open) {
    for (const begin of stack) problems.push(`thread ${thread}: B ${begin.name} at ${begin.ts} never ends`);
  }
  return problems;
}
