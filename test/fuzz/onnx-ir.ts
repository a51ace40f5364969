/**
 * A small, editable in-memory form of an ONNX ModelProto for the structure fuzzer: decoded from
 * bytes (the project's GraphBuilder output, or the ONNX backend suite's model.onnx files),
 * mutated as plain objects, and encoded again with the project's ProtoWriter.
 *
 * Only the fields the fuzzer mutates are decoded (graph wiring, attributes, value types, opsets,
 * initializer dims and dtypes); everything else is kept as raw fields and written back verbatim,
 * so a decode/encode round trip keeps what the loader sees. Values are deliberately not
 * validated: the point is to write what a hostile or broken exporter might write, so dtype codes,
 * dims and attribute kinds are plain numbers with no range checks beyond what the wire allows.
 */
import { ProtoWriter } from "../../src/onnx/protobuf.ts";

/** A field this form does not model, re-emitted as it came. */
export interface RawField { field: number; wire: number; value: bigint | Uint8Array }

/** A dim: a size (any int64), a dim_param, or null for an empty Dimension message. */
export type IrDim = bigint | string | null;

export type IrType =
  | { kind: "tensor" | "sparse"; elem: number; shape?: IrDim[] }
  | { kind: "sequence" | "optional"; elem?: IrType }
  | { kind: "map"; key: number; value?: IrType }
  | { kind: "empty" };

export interface IrValueInfo { name: string; type?: IrType; extra: RawField[] }

/** AttributeProto: `type` is the declared AttributeType code, kept apart from the payload. */
export interface IrAttr {
  name: string;
  type?: number;
  f?: number;
  i?: bigint;
  s?: Uint8Array;
  g?: IrGraph;
  floats: number[];
  ints: bigint[];
  strings: Uint8Array[];
  graphs: IrGraph[];
  extra: RawField[];
}

export interface IrNode {
  inputs: string[];
  outputs: string[];
  name?: string;
  opType: string;
  domain?: string;
  attrs: IrAttr[];
  extra: RawField[];
}

/** A TensorProto with its name, dims and data type pulled out; the rest (data) kept raw. */
export interface IrTensor { name: string; dims: bigint[]; dtype: number; extra: RawField[] }

export interface IrGraph {
  name: string;
  nodes: IrNode[];
  initializers: IrTensor[];
  inputs: IrValueInfo[];
  outputs: IrValueInfo[];
  valueInfo: IrValueInfo[];
  extra: RawField[];
}

export interface IrModel {
  irVersion?: bigint;
  opsets: { domain: string; version?: bigint }[];
  graph: IrGraph;
  extra: RawField[];
}

// ---------------------------------------------------------------------------------- decoding

const decoder = new TextDecoder();

/** Walks the fields of one message; `visit` gets each field with its raw value. */
function fields(bytes: Uint8Array, visit: (f: RawField) => void): void {
  let at = 0;
  const varint = (): bigint => {
    let result = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (at >= bytes.length || shift > 63n) throw new Error("truncated varint");
      const b = bytes[at++]!;
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return result;
    }
  };
  const take = (n: number): Uint8Array => {
    if (at + n > bytes.length) throw new Error("truncated field");
    const out = bytes.subarray(at, at + n);
    at += n;
    return out;
  };
  while (at < bytes.length) {
    const tag = Number(varint());
    const field = tag >>> 3;
    const wire = tag & 7;
    switch (wire) {
      case 0: visit({ field, wire, value: varint() }); break;
      case 1: visit({ field, wire, value: take(8) }); break;
      case 2: visit({ field, wire, value: take(Number(varint())) }); break;
      case 5: visit({ field, wire, value: take(4) }); break;
      default: throw new Error(`wire type ${wire} in field ${field}`);
    }
  }
}

const str = (f: RawField) => decoder.decode(f.value as Uint8Array);
const int64 = (v: bigint) => BigInt.asIntN(64, v);
const bytesOf = (f: RawField) => f.value as Uint8Array;

/** Repeated varints, packed (wire 2) or not. */
function varints(f: RawField, out: bigint[]): void {
  if (f.wire === 0) return void out.push(int64(f.value as bigint));
  const bytes = bytesOf(f);
  let at = 0;
  while (at < bytes.length) {
    let result = 0n;
    for (let shift = 0n; ; shift += 7n) {
      const b = bytes[at++]!;
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80 || at >= bytes.length) break;
    }
    out.push(int64(result));
  }
}

function float32(bytes: Uint8Array, at = 0): number {
  return new DataView(bytes.buffer, bytes.byteOffset + at, 4).getFloat32(0, true);
}

function decodeType(bytes: Uint8Array): IrType {
  let type: IrType = { kind: "empty" };
  fields(bytes, (f) => {
    if (f.field === 1 || f.field === 8) {
      const kind = f.field === 1 ? "tensor" : "sparse";
      let elem = 0;
      let shape: IrDim[] | undefined;
      fields(bytesOf(f), (t) => {
        if (t.field === 1) elem = Number(int64(t.value as bigint));
        if (t.field === 2) {
          shape = [];
          fields(bytesOf(t), (d) => {
            if (d.field !== 1) return;
            let dim: IrDim = null;
            fields(bytesOf(d), (v) => {
              if (v.field === 1) dim = int64(v.value as bigint);
              if (v.field === 2) dim = str(v);
            });
            shape!.push(dim);
          });
        }
      });
      type = { kind, elem, shape };
    } else if (f.field === 4 || f.field === 9) {
      let elem: IrType | undefined;
      fields(bytesOf(f), (t) => { if (t.field === 1) elem = decodeType(bytesOf(t)); });
      type = { kind: f.field === 4 ? "sequence" : "optional", elem };
    } else if (f.field === 5) {
      let key = 0;
      let value: IrType | undefined;
      fields(bytesOf(f), (t) => {
        if (t.field === 1) key = Number(int64(t.value as bigint));
        if (t.field === 2) value = decodeType(bytesOf(t));
      });
      type = { kind: "map", key, value };
    }
  });
  return type;
}

function decodeValueInfo(bytes: Uint8Array): IrValueInfo {
  const info: IrValueInfo = { name: "", extra: [] };
  fields(bytes, (f) => {
    if (f.field === 1) info.name = str(f);
    else if (f.field === 2) info.type = decodeType(bytesOf(f));
    else info.extra.push(f);
  });
  return info;
}

function decodeAttr(bytes: Uint8Array): IrAttr {
  const a: IrAttr = { name: "", floats: [], ints: [], strings: [], graphs: [], extra: [] };
  fields(bytes, (f) => {
    switch (f.field) {
      case 1: a.name = str(f); break;
      case 20: a.type = Number(f.value as bigint); break;
      case 2: a.f = float32(bytesOf(f)); break;
      case 3: a.i = int64(f.value as bigint); break;
      case 4: a.s = bytesOf(f); break;
      case 6: a.g = decodeGraph(bytesOf(f)); break;
      case 7:
        if (f.wire === 5) a.floats.push(float32(bytesOf(f)));
        else for (let at = 0; at + 4 <= bytesOf(f).length; at += 4) a.floats.push(float32(bytesOf(f), at));
        break;
      case 8: varints(f, a.ints); break;
      case 9: a.strings.push(bytesOf(f)); break;
      case 11: a.graphs.push(decodeGraph(bytesOf(f))); break;
      default: a.extra.push(f);
    }
  });
  return a;
}

function decodeNode(bytes: Uint8Array): IrNode {
  const n: IrNode = { inputs: [], outputs: [], opType: "", attrs: [], extra: [] };
  fields(bytes, (f) => {
    switch (f.field) {
      case 1: n.inputs.push(str(f)); break;
      case 2: n.outputs.push(str(f)); break;
      case 3: n.name = str(f); break;
      case 4: n.opType = str(f); break;
      case 5: n.attrs.push(decodeAttr(bytesOf(f))); break;
      case 7: n.domain = str(f); break;
      default: n.extra.push(f);
    }
  });
  return n;
}

function decodeTensor(bytes: Uint8Array): IrTensor {
  const t: IrTensor = { name: "", dims: [], dtype: 0, extra: [] };
  fields(bytes, (f) => {
    if (f.field === 1) varints(f, t.dims);
    else if (f.field === 2) t.dtype = Number(int64(f.value as bigint));
    else if (f.field === 8) t.name = str(f);
    else t.extra.push(f);
  });
  return t;
}

export function decodeGraph(bytes: Uint8Array): IrGraph {
  const g: IrGraph = { name: "", nodes: [], initializers: [], inputs: [], outputs: [], valueInfo: [], extra: [] };
  fields(bytes, (f) => {
    switch (f.field) {
      case 1: g.nodes.push(decodeNode(bytesOf(f))); break;
      case 2: g.name = str(f); break;
      case 5: g.initializers.push(decodeTensor(bytesOf(f))); break;
      case 11: g.inputs.push(decodeValueInfo(bytesOf(f))); break;
      case 12: g.outputs.push(decodeValueInfo(bytesOf(f))); break;
      case 13: g.valueInfo.push(decodeValueInfo(bytesOf(f))); break;
      default: g.extra.push(f);
    }
  });
  return g;
}

/** Decodes a ModelProto; throws a plain Error on bytes that are not well-formed protobuf. */
export function decodeModel(bytes: Uint8Array): IrModel {
  const m: IrModel = { opsets: [], graph: decodeGraph(new Uint8Array()), extra: [] };
  fields(bytes, (f) => {
    if (f.field === 1) m.irVersion = int64(f.value as bigint);
    else if (f.field === 7) m.graph = decodeGraph(bytesOf(f));
    else if (f.field === 8) {
      const opset: { domain: string; version?: bigint } = { domain: "" };
      fields(bytesOf(f), (o) => {
        if (o.field === 1) opset.domain = str(o);
        if (o.field === 2) opset.version = int64(o.value as bigint);
      });
      m.opsets.push(opset);
    } else m.extra.push(f);
  });
  return m;
}

// ---------------------------------------------------------------------------------- encoding

function writeRaw(w: ProtoWriter, f: RawField): void {
  const v = f.value;
  if (f.wire === 0) w.uint64(f.field, v as bigint);
  else if (f.wire === 2) w.bytes(f.field, v as Uint8Array);
  else if (f.wire === 5) w.fixed32(f.field, new DataView((v as Uint8Array).slice().buffer).getUint32(0, true));
  else w.fixed64(f.field, new DataView((v as Uint8Array).slice().buffer).getBigUint64(0, true));
}

/** int64 fields: values outside int64 (a mutation may make any bigint) wrap, as C would. */
const i64 = (v: bigint | number) => BigInt.asIntN(64, BigInt(v));

function writeType(w: ProtoWriter, t: IrType): void {
  switch (t.kind) {
    case "tensor": case "sparse":
      return void w.message(t.kind === "tensor" ? 1 : 8, (x) => {
        x.int64(1, i64(t.elem));
        if (t.shape) {
          x.message(2, (s) => {
            for (const d of t.shape!) {
              s.message(1, (m) => {
                if (typeof d === "bigint") m.int64(1, i64(d));
                else if (typeof d === "string") m.string(2, d);
              });
            }
          });
        }
      });
    case "sequence": case "optional":
      return void w.message(t.kind === "sequence" ? 4 : 9, (x) => {
        if (t.elem) x.message(1, (e) => writeType(e, t.elem!));
      });
    case "map":
      return void w.message(5, (x) => {
        x.int64(1, i64(t.key));
        if (t.value) x.message(2, (v) => writeType(v, t.value!));
      });
    case "empty": return;
  }
}

function writeValueInfo(w: ProtoWriter, v: IrValueInfo): void {
  w.string(1, v.name);
  if (v.type) w.message(2, (t) => writeType(t, v.type!));
  for (const f of v.extra) writeRaw(w, f);
}

function writeAttr(w: ProtoWriter, a: IrAttr): void {
  w.string(1, a.name);
  if (a.type !== undefined) w.int64(20, i64(a.type));
  if (a.f !== undefined) w.float(2, a.f);
  if (a.i !== undefined) w.int64(3, i64(a.i));
  if (a.s !== undefined) w.bytes(4, a.s);
  if (a.g) w.message(6, (g) => writeGraph(g, a.g!));
  for (const v of a.floats) w.float(7, v);
  for (const v of a.ints) w.int64(8, i64(v));
  for (const v of a.strings) w.bytes(9, v);
  for (const g of a.graphs) w.message(11, (x) => writeGraph(x, g));
  for (const f of a.extra) writeRaw(w, f);
}

function writeNode(w: ProtoWriter, n: IrNode): void {
  for (const s of n.inputs) w.string(1, s);
  for (const s of n.outputs) w.string(2, s);
  if (n.name !== undefined) w.string(3, n.name);
  w.string(4, n.opType);
  for (const a of n.attrs) w.message(5, (x) => writeAttr(x, a));
  if (n.domain !== undefined) w.string(7, n.domain);
  for (const f of n.extra) writeRaw(w, f);
}

function writeTensor(w: ProtoWriter, t: IrTensor): void {
  for (const d of t.dims) w.int64(1, i64(d));
  w.int64(2, i64(t.dtype));
  w.string(8, t.name);
  for (const f of t.extra) writeRaw(w, f);
}

export function writeGraph(w: ProtoWriter, g: IrGraph): void {
  for (const n of g.nodes) w.message(1, (x) => writeNode(x, n));
  w.string(2, g.name);
  for (const t of g.initializers) w.message(5, (x) => writeTensor(x, t));
  for (const v of g.inputs) w.message(11, (x) => writeValueInfo(x, v));
  for (const v of g.outputs) w.message(12, (x) => writeValueInfo(x, v));
  for (const v of g.valueInfo) w.message(13, (x) => writeValueInfo(x, v));
  for (const f of g.extra) writeRaw(w, f);
}

export function encodeModel(m: IrModel): Uint8Array {
  const w = new ProtoWriter();
  if (m.irVersion !== undefined) w.int64(1, i64(m.irVersion));
  w.message(7, (g) => writeGraph(g, m.graph));
  for (const o of m.opsets) {
    w.message(8, (x) => {
      x.string(1, o.domain);
      if (o.version !== undefined) x.int64(2, i64(o.version));
    });
  }
  for (const f of m.extra) writeRaw(w, f);
  return w.finish();
}

/**
 * A deep copy, so mutations never touch the decoded seeds. Byte arrays are shared, not copied:
 * mutations replace them and never write into them, and structuredClone would copy a whole
 * suite model's buffer once per clone.
 */
export function cloneModel(m: IrModel): IrModel {
  return deepCopy(m);
}

function deepCopy<T>(v: T): T {
  if (v instanceof Uint8Array || typeof v !== "object" || v === null) return v;
  if (Array.isArray(v)) return v.map(deepCopy) as T;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = deepCopy(x);
  return out as T;
}
