/**
 * Reads a request's profile ring (tsr_request_get_profile_events) into ProfileEvent objects, in
 * time order.
 * tsr_profile_event is 40 bytes: u64 timestamp, u32 kind, u32 phase, i32 op, u32 thread,
 * i32 tensor, i16 src, i16 dst, u32 depth, u32 reserved.
 */
import { ExtensionError } from "../errors.ts";
import { check, lib, type Pointer } from "../native.ts";
import { EVENT_KINDS, type ProfileEvent } from "./events.ts";

export const EVENT_BYTES = 40;

export interface RingContents {
  events: ProfileEvent[];
  dropped: number;
}

export function readEvents(request: Pointer): RingContents {
  const count = new Uint32Array(1);
  const dropped = new BigUint64Array(1);
  check(lib.tsr_request_get_profile_events(request, null, 0, count, dropped));
  const capacity = count[0]!;
  const bytes = new Uint8Array(Math.max(capacity, 1) * EVENT_BYTES);
  check(lib.tsr_request_get_profile_events(request, bytes, capacity, count, dropped));
  const held = Math.min(count[0]!, capacity);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const events: ProfileEvent[] = new Array(held);
  for (let i = 0; i < held; i++) {
    const at = i * EVENT_BYTES;
    events[i] = {
      timestampNs: Number(view.getBigUint64(at, true)),
      kind: kindOf(view.getUint32(at + 8, true)),
      phase: view.getUint32(at + 12, true) === 0 ? "begin" : "end",
      opIndex: view.getInt32(at + 16, true),
      threadId: view.getUint32(at + 20, true),
      tensorId: view.getInt32(at + 24, true),
      srcDevice: view.getInt16(at + 28, true),
      dstDevice: view.getInt16(at + 30, true),
      depth: view.getUint32(at + 32, true),
    };
  }
  // The ring holds events in the order they were recorded; a dispatch's per-thread spans are
  // recorded when it ends. Give them in time order (the sort is stable, so a begin and an end
  // with the same timestamp keep theirs).
  events.sort((a, b) => a.timestampNs - b.timestampNs);
  return { events, dropped: Number(dropped[0]!) };
}

function kindOf(code: number): ProfileEvent["kind"] {
  const kind = EVENT_KINDS[code];
  // The library and these bindings disagree on the event kinds: an ABI mismatch.
  if (kind === undefined) throw new ExtensionError(`unknown profile event kind ${code}`);
  return kind;
}
