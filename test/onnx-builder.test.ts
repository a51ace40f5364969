/**
 * The TypeScript ONNX builder against the reference: every model it writes must pass the real
 * `onnx` checker and read back field for field, and some must run in onnxruntime.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { dtypes, type DType } from "../src/dtype.ts";
import {
  attr, bfloat16Bits, buildModel, encodeTensorProto, ExternalDataFile, float16Bits, FunctionBuilder,
  GraphBuilder, sparseTensor, tensor, types, type TensorData,
} from "../src/onnx/builder.ts";
import { ProtoWriter } from "../src/onnx/protobuf.ts";
import { repo, scratchDir } from "./support/paths.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const python = join(repo, ".cache/venv/bin/python");
const scratch = scratchDir("tessera-onnx-builder-");
const slow = { timeout: 60_000 };

/** Loads a model (argv[1]), checks it (argv[2] "full": strict shape inference too), dumps JSON. */
const dumpScript = String.raw`
import json, os, sys, numpy as np, onnx
from onnx import helper, numpy_helper
from onnx.external_data_helper import load_external_data_for_tensor
path = sys.argv[1]
m = onnx.load(path, load_external_data=False)
onnx.checker.check_model(path, full_check=sys.argv[2] == "full")
def values(a):
    flat, kind = a.flatten(), a.dtype.kind
    if kind in "iu" and a.dtype.itemsize == 8: return [str(v) for v in flat.tolist()]
    if kind == "c": return [[v.real, v.imag] for v in flat.tolist()]
    if kind == "O": return [v.decode() if isinstance(v, bytes) else v for v in flat.tolist()]
    if kind == "b": return flat.astype(int).tolist()
    if kind not in "iuf": return flat.astype(np.float32).tolist()  # ml_dtypes: float8, int4, ...
    return flat.tolist()
def tensor(t):
    out = {"name": t.name, "dtype": t.data_type, "dims": list(t.dims),
           "raw": t.HasField("raw_data"), "location": t.data_location,
           "external": {e.key: e.value for e in t.external_data}}
    if t.data_location == onnx.TensorProto.EXTERNAL:
        load_external_data_for_tensor(t, os.path.dirname(path))
    out["values"] = values(numpy_helper.to_array(t))
    return out
def dim(d):
    if d.HasField("dim_param"): return d.dim_param
    return d.dim_value if d.HasField("dim_value") else None
def typ(t):
    k = t.WhichOneof("value")
    if k in ("tensor_type", "sparse_tensor_type"):
        tt = getattr(t, k)
        shape = [dim(d) for d in tt.shape.dim] if tt.HasField("shape") else None
        return {"kind": k, "elem": tt.elem_type, "shape": shape}
    if k in ("sequence_type", "optional_type"):
        return {"kind": k, "elem": typ(getattr(t, k).elem_type)}
    return {"kind": k, "key": t.map_type.key_type, "value": typ(t.map_type.value_type)}
def info(v):
    return {"name": v.name, "type": typ(v.type) if v.HasField("type") else None,
            "doc": v.doc_string}
def sparse(s):
    return {"values": tensor(s.values), "indices": tensor(s.indices), "dims": list(s.dims)}
def each(f): return lambda v: [f(x) for x in v]
convert = {"INT": str, "INTS": each(str), "STRING": bytes.decode, "STRINGS": each(bytes.decode),
           "FLOATS": list, "TENSOR": tensor, "TENSORS": each(tensor), "GRAPH": lambda g: graph(g),
           "GRAPHS": each(lambda g: graph(g)), "SPARSE_TENSOR": sparse,
           "SPARSE_TENSORS": each(sparse), "TYPE_PROTO": typ, "TYPE_PROTOS": each(typ)}
def attr(a):
    kind = onnx.AttributeProto.AttributeType.Name(a.type)
    if a.ref_attr_name: return {"type": kind, "ref": a.ref_attr_name}
    return {"type": kind, "value": convert.get(kind, lambda v: v)(helper.get_attribute_value(a))}
def node(n):
    return {"op": n.op_type, "name": n.name, "domain": n.domain, "inputs": list(n.input),
            "outputs": list(n.output), "doc": n.doc_string,
            "attrs": {a.name: attr(a) for a in n.attribute}}
def graph(g):
    return {"name": g.name, "doc": g.doc_string, "inputs": [info(v) for v in g.input],
            "outputs": [info(v) for v in g.output],
            "value_info": [info(v) for v in g.value_info],
            "initializers": {t.name: tensor(t) for t in g.initializer},
            "sparse": {s.values.name: sparse(s) for s in g.sparse_initializer},
            "nodes": [node(n) for n in g.node]}
def opsets(p): return {o.domain: o.version for o in p.opset_import}
def function(f):
    return {"name": f.name, "domain": f.domain, "inputs": list(f.input),
            "outputs": list(f.output), "attribute": list(f.attribute),
            "attribute_proto": {a.name: attr(a) for a in f.attribute_proto},
            "nodes": [node(n) for n in f.node], "opsets": opsets(f)}
print(json.dumps({"ir_version": m.ir_version, "producer": [m.producer_name, m.producer_version],
    "domain": m.domain, "model_version": m.model_version, "doc": m.doc_string,
    "opsets": opsets(m), "metadata": {p.key: p.value for p in m.metadata_props},
    "graph": graph(m.graph), "functions": [function(f) for f in m.functions]}))
`;

/** Runs a model in onnxruntime: argv[2] is {name: {dtype, shape, data}}; prints {output: list}. */
const runScript = String.raw`
import json, sys, numpy as np, onnxruntime as ort
session = ort.InferenceSession(sys.argv[1], providers=["CPUExecutionProvider"])
feeds = {k: np.array(v["data"], dtype=v["dtype"]).reshape(v["shape"])
         for k, v in json.loads(sys.argv[2]).items()}
results = session.run(None, feeds)
print(json.dumps({o.name: np.asarray(r).tolist() for o, r in zip(session.get_outputs(), results)}))
`;

/** Runs `script` in the venv and parses its JSON; a missing venv fails loudly, never skips. */
function runPython(script: string, args: string[], stdin?: string): Json {
  if (!existsSync(python)) {
    throw new Error(`missing ${python}: these tests need the venv with onnx and onnxruntime`);
  }
  const result = Bun.spawnSync([python, "-c", script, ...args], {
    stdin: stdin === undefined ? "ignore" : Buffer.from(stdin),
    stdout: "pipe",
    stderr: "pipe",
  });
  if (result.exitCode !== 0) {
    throw new Error(`python exited ${result.exitCode}:\n${result.stderr.toString()}`);
  }
  return JSON.parse(result.stdout.toString());
}

function save(file: string, bytes: Uint8Array): string {
  const path = join(scratch, file);
  writeFileSync(path, bytes);
  return path;
}

/** Writes the model, runs the onnx checker on it, and returns what onnx reads back. */
function check(file: string, bytes: Uint8Array, mode: "full" | "basic" = "full"): Json {
  return runPython(dumpScript, [save(file, bytes), mode]);
}

type Feed = { dtype: string; shape: number[]; data: unknown[] };
function ortRun(file: string, feeds: Record<string, Feed>): Json {
  return runPython(runScript, [join(scratch, file), JSON.stringify(feeds)]);
}

const FLOAT = dtypes.float32.code;
const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;
const U64_MAX = (1n << 64n) - 1n;
const f32 = (shape: number[], data: unknown[]): Feed => ({ dtype: "float32", shape, data });

describe("protobuf writer", () => {
  const hex = (w: ProtoWriter) => Buffer.from(w.finish()).toString("hex");

  test("varints: small, multi-byte, negative int64 in ten bytes, uint64 max", () => {
    expect(hex(new ProtoWriter().int64(1, 150))).toBe("089601");
    expect(hex(new ProtoWriter().int64(1, -1))).toBe("08ffffffffffffffffff01");
    expect(hex(new ProtoWriter().int64(2, I64_MIN))).toBe("1080808080808080808001");
    expect(hex(new ProtoWriter().uint64(1, U64_MAX))).toBe("08ffffffffffffffffff01");
    expect(hex(new ProtoWriter().int32(1, -2))).toBe("08feffffffffffffffff01");
    expect(() => new ProtoWriter().int64(1, 2 ** 60)).toThrow(/bigint/);
    expect(() => new ProtoWriter().int64(1, I64_MAX + 1n)).toThrow(RangeError);
  });

  test("fixed widths, strings, nested and packed fields", () => {
    expect(hex(new ProtoWriter().float(1, 1))).toBe("0d0000803f");
    expect(hex(new ProtoWriter().double(1, 1))).toBe("09000000000000f03f");
    expect(hex(new ProtoWriter().fixed64(1, -1n))).toBe("09ffffffffffffffff");
    expect(hex(new ProtoWriter().string(2, "é"))).toBe("1202c3a9");
    expect(hex(new ProtoWriter().message(3, (m) => m.int64(1, 1)))).toBe("1a020801");
    expect(hex(new ProtoWriter().message(3, () => {}))).toBe("1a00");
    expect(hex(new ProtoWriter().packedInt64(4, [1, -1n]))).toBe("220b01ffffffffffffffffff01");
    expect(hex(new ProtoWriter().packedFloat(4, []))).toBe("");
    // A large byte string is linked, not copied; the lengths around it must still add up.
    const big = new Uint8Array(1000).fill(7);
    const nested = new ProtoWriter().message(1, (m) => m.bytes(2, big).int64(3, 5)).finish();
    expect(nested.length).toBe(1 + 2 + 1 + 2 + 1000 + 2);
    expect(Array.from(nested.subarray(0, 6))).toEqual([0x0a, 0xed, 0x07, 0x12, 0xe8, 0x07]);
  });
});

describe("models checked by onnx", () => {
  test("elementwise chain with symbolic and unknown dims runs in onnxruntime", () => {
    const g = new GraphBuilder("chain", { doc: "x + w, relu, times two" });
    const x = g.input("x", "float32", [1, "N", 4], { doc: "the input" });
    const w = g.initializer("w", "float32", [4], new Float32Array([1, -2, 3, -4]));
    const two = g.initializer("two", "float32", [], [2], { encoding: "typed" });
    const sum = g.node("Add", [x, w], { name: "add0" });
    const relu = g.node("Relu", [sum]);
    g.node("Mul", [relu, two], { outputs: ["out"], doc: "scale" });
    g.valueInfo(sum, "float32", [1, "N", null]);
    g.output("out", "float32", [1, "N", 4]);
    const options = { opsets: { "": 17 }, irVersion: 8, producerName: "tessera-test" };
    const m = check("chain.onnx", buildModel(g, options));
    expect([m.ir_version, m.producer, m.opsets]).toEqual([8, ["tessera-test", ""], { "": 17 }]);
    expect([m.graph.name, m.graph.doc]).toEqual(["chain", "x + w, relu, times two"]);
    const xType = { kind: "tensor_type", elem: FLOAT, shape: [1, "N", 4] };
    expect(m.graph.inputs).toEqual([{ name: "x", doc: "the input", type: xType }]);
    expect(m.graph.value_info[0].type.shape).toEqual([1, "N", null]);
    expect(m.graph.nodes.map((n: Json) => n.op)).toEqual(["Add", "Relu", "Mul"]);
    expect(m.graph.nodes[0]).toMatchObject({ name: "add0", inputs: ["x", "w"], outputs: [sum] });
    expect(m.graph.nodes[2]).toMatchObject({ outputs: ["out"], doc: "scale" });
    expect(m.graph.initializers.w).toMatchObject({ dims: [4], raw: true, values: [1, -2, 3, -4] });
    expect(m.graph.initializers.two).toMatchObject({ dims: [], raw: false, values: [2] });
    const out = ortRun("chain.onnx", { x: f32([1, 2, 4], [1, 1, 1, 1, -5, 5, -5, 5]) });
    expect(out.out).toEqual([[[4, 0, 8, 0], [0, 6, 0, 2]]]);
  }, slow);

  test("If with subgraph branches runs both ways in onnxruntime", () => {
    const branch = (name: string, op: string) => {
      const b = new GraphBuilder(name);
      const one = b.node("Constant", [], { attrs: { value: tensor("float32", [1], [1]) } });
      b.node(op, ["x", one], { outputs: [`${name}_y`] });
      b.output(`${name}_y`, "float32", [2]);
      return b;
    };
    const g = new GraphBuilder("if_model");
    g.input("cond", "bool", []);
    g.input("x", "float32", [2]);
    const attrs = { then_branch: branch("then", "Add"), else_branch: branch("else", "Sub") };
    g.node("If", ["cond"], { outputs: ["y"], attrs });
    g.output("y", "float32", [2]);
    const m = check("if.onnx", buildModel(g, { opsets: { "": 17 } }));
    const { then_branch, else_branch } = m.graph.nodes[0].attrs;
    expect(then_branch.type).toBe("GRAPH");
    expect(then_branch.value.nodes.map((n: Json) => n.op)).toEqual(["Constant", "Add"]);
    expect(else_branch.value.outputs[0].name).toBe("else_y");
    expect(then_branch.value.nodes[0].attrs.value.value.values).toEqual([1]);
    for (const [cond, expected] of [[true, [11, 21]], [false, [9, 19]]] as const) {
      const feeds = { cond: { dtype: "bool", shape: [], data: [cond] }, x: f32([2], [10, 20]) };
      expect(ortRun("if.onnx", feeds).y).toEqual(expected);
    }
  }, slow);

  test("Loop with a carried sum and a scan output runs in onnxruntime", () => {
    const body = new GraphBuilder("body");
    const i = body.input("i", "int64", []);
    const condIn = body.input("cond_in", "bool", []);
    const sumIn = body.input("sum_in", "float32", [1]);
    const iFloat = body.node("Cast", [i], { attrs: { to: dtypes.float32.code } });
    body.node("Add", [sumIn, iFloat], { outputs: ["sum_out"] });
    body.node("Identity", [condIn], { outputs: ["cond_out"] });
    const axes = body.node("Constant", [], { attrs: { value_ints: [0] } });
    body.node("Unsqueeze", [iFloat, axes], { outputs: ["seen"] });
    body.output("cond_out", "bool", []);
    body.output("sum_out", "float32", [1]);
    body.output("seen", "float32", [1]);
    const g = new GraphBuilder("loop_model");
    g.input("trips", "int64", []);
    g.input("keep_going", "bool", []);
    g.input("sum0", "float32", [1]);
    const inputs = ["trips", "keep_going", "sum0"];
    const outputs = g.nodeWithOutputs("Loop", inputs, ["sum", "all_seen"], { attrs: { body } });
    g.output("sum", "float32", [1]);
    g.output("all_seen", "float32", ["T", 1]);
    const m = check("loop.onnx", buildModel(g, { opsets: { "": 17 } }));
    const loop = m.graph.nodes[0];
    const bodyInputs = loop.attrs.body.value.inputs.map((v: Json) => v.name);
    expect(bodyInputs).toEqual(["i", "cond_in", "sum_in"]);
    expect(loop.outputs).toEqual(outputs);
    const out = ortRun("loop.onnx", {
      trips: { dtype: "int64", shape: [], data: [4] },
      keep_going: { dtype: "bool", shape: [], data: [true] },
      sum0: f32([1], [0.5]),
    });
    expect(out).toEqual({ sum: [6.5], all_seen: [[0], [1], [2], [3]] });
  }, slow);

  /** Data per dtype, and what numpy reads back (floats for float8/4 codes, strings for 64-bit). */
  const everyDType: [DType, number[], TensorData, unknown[]][] = [
    ["float32", [3], [1.5, -2, 3.25], [1.5, -2, 3.25]],
    ["uint8", [3], [0, 255, 7], [0, 255, 7]],
    ["int8", [3], [-128, 127, 0], [-128, 127, 0]],
    ["uint16", [3], [0, 65535, 1], [0, 65535, 1]],
    ["int16", [3], [-32768, 32767, 5], [-32768, 32767, 5]],
    ["int32", [3], [-(2 ** 31), 2 ** 31 - 1, 0], [-(2 ** 31), 2 ** 31 - 1, 0]],
    ["int64", [3], [I64_MIN, I64_MAX, -1n], [String(I64_MIN), String(I64_MAX), "-1"]],
    ["string", [3], ["a", "héllo", ""], ["a", "héllo", ""]],
    ["bool", [3], [true, false, true], [1, 0, 1]],
    ["float16", [3], [0.5, -2, 65504], [0.5, -2, 65504]],
    ["float64", [3], [1e300, -0.1, 0], [1e300, -0.1, 0]],
    ["uint32", [3], [0, 2 ** 32 - 1, 3], [0, 2 ** 32 - 1, 3]],
    ["uint64", [3], [0n, U64_MAX, 5n], ["0", String(U64_MAX), "5"]],
    ["complex64", [2], [1, 2, 3, 4], [[1, 2], [3, 4]]],
    ["complex128", [2], new Float64Array([1, -2, 0.5, 4]), [[1, -2], [0.5, 4]]],
    ["bfloat16", [3], [1, -2.5, Math.PI], [1, -2.5, 3.140625]],
    ["float8e4m3fn", [3], [0x38, 0xb8, 0x40], [1, -1, 2]],
    ["float8e4m3fnuz", [3], [0x40, 0xc0, 0x48], [1, -1, 2]],
    ["float8e5m2", [3], [0x3c, 0xbc, 0x40], [1, -1, 2]],
    ["float8e5m2fnuz", [3], [0x40, 0xc0, 0x44], [1, -1, 2]],
    ["uint4", [3], [0, 15, 7], [0, 15, 7]],
    ["int4", [3], [-8, 7, -1], [-8, 7, -1]],
    ["float4e2m1", [3], [0b0010, 0b1010, 0b0100], [1, -1, 2]],
    ["float8e8m0", [3], [127, 128, 126], [1, 2, 0.5]],
    ["uint2", [5], [0, 3, 1, 2, 3], [0, 3, 1, 2, 3]],
    ["int2", [5], [-2, 1, -1, 0, 1], [-2, 1, -1, 0, 1]],
  ];

  test("every ONNX element type has a test row", () => {
    const onnxTypes = Object.entries(dtypes).filter(([, d]) => d.code <= 26).map(([name]) => name);
    const names: string[] = everyDType.map(([name]) => name);
    expect(names.sort()).toEqual(onnxTypes.sort());
  });

  for (const encoding of ["raw", "typed"] as const) {
    test(`initializers of every element type, ${encoding} encoding, read by numpy_helper`, () => {
      const g = new GraphBuilder(`dtypes_${encoding}`);
      for (const [dtype, dims, data] of everyDType) {
        g.initializer(`w_${dtype}`, dtype, dims, data, { encoding });
      }
      g.input("x", "float32", [1]);
      g.node("Identity", ["x"], { outputs: ["y"] });
      g.output("y", "float32", [1]);
      const bytes = buildModel(g, { opsets: { "": 23 }, irVersion: 13 });
      const m = check(`dtypes_${encoding}.onnx`, bytes);
      for (const [dtype, dims, , expected] of everyDType) {
        const t = m.graph.initializers[`w_${dtype}`];
        expect([dtype, t.dtype, t.dims]).toEqual([dtype, dtypes[dtype].code, dims]);
        expect([dtype, t.values]).toEqual([dtype, expected]);
        expect([dtype, t.raw]).toEqual([dtype, encoding === "raw" && dtype !== "string"]);
      }
    }, slow);
  }

  test("a model-local function with a required and a defaulted attribute runs in ORT", () => {
    const domain = "tessera.test";
    const doc = "a * alpha + b + beta";
    const f = new FunctionBuilder("ScaledAdd", { domain, opsets: { "": 17 }, doc });
    const a = f.input("a");
    const b = f.input("b");
    f.attribute("alpha");
    f.attribute("beta", attr.float(0.5));
    const alpha = f.node("Constant", [], { attrs: { value_float: attr.ref("alpha", "float") } });
    const beta = f.node("Constant", [], { attrs: { value_float: attr.ref("beta", "float") } });
    const sum = f.node("Add", [f.node("Mul", [a, alpha]), b]);
    f.node("Add", [sum, beta], { outputs: ["out"] });
    f.output("out");
    const g = new GraphBuilder("uses_function");
    g.input("x", "float32", [3]);
    g.input("y", "float32", [3]);
    g.node("ScaledAdd", ["x", "y"], { domain, outputs: ["z"], attrs: { alpha: attr.float(2) } });
    g.output("z", "float32", [3]);
    const bytes = buildModel(g, { opsets: { "": 17, [domain]: 1 }, functions: [f] });
    const m = check("function.onnx", bytes);
    const fn = m.functions[0];
    expect([fn.name, fn.domain, fn.inputs, fn.outputs, fn.attribute])
      .toEqual(["ScaledAdd", domain, ["a", "b"], ["out"], ["alpha"]]);
    expect(fn.attribute_proto.beta).toMatchObject({ type: "FLOAT", value: 0.5 });
    expect(fn.nodes[0].attrs.value_float).toEqual({ type: "FLOAT", ref: "alpha" });
    expect(fn.opsets).toEqual({ "": 17 });
    expect(m.graph.nodes[0]).toMatchObject({ op: "ScaledAdd", domain });
    const out = ortRun("function.onnx", { x: f32([3], [1, 2, 3]), y: f32([3], [10, 20, 30]) });
    expect(out.z).toEqual([12.5, 24.5, 36.5]);
  }, slow);

  test("external-data initializers: entries, aligned offsets, values, and onnxruntime", () => {
    const file = new ExternalDataFile("weights.bin");
    const g = new GraphBuilder("external");
    g.input("x", "float32", [4]);
    g.initializer("w", "float32", [4], [1, 2, 3, 4], { external: file });
    g.initializer("k", "int64", [2], [7n, -7n], { external: file });
    const other = { location: "other.bin", offset: 8 };
    g.initializer("kept", "float32", [2], [5, 6], { external: other });
    g.node("Add", ["x", "w"], { outputs: ["y"] });
    g.output("y", "float32", [4]);
    save("weights.bin", file.bytes());
    const otherBytes = new Uint8Array(16);
    otherBytes.set(new Uint8Array(new Float32Array([5, 6]).buffer), 8);
    save("other.bin", otherBytes);
    const m = check("external.onnx", buildModel(g));
    const { w, k, kept } = m.graph.initializers;
    expect([w.location, w.raw]).toEqual([1, false]);
    expect(w.external).toEqual({ location: "weights.bin", offset: "0", length: "16" });
    expect(k.external).toEqual({ location: "weights.bin", offset: "4096", length: "16" });
    expect(kept.external).toEqual({ location: "other.bin", offset: "8", length: "8" });
    expect([w.values, k.values, kept.values]).toEqual([[1, 2, 3, 4], ["7", "-7"], [5, 6]]);
    expect(readFileSync(join(scratch, "weights.bin")).length).toBe(4096 + 16);
    const out = ortRun("external.onnx", { x: f32([4], [10, 10, 10, 10]) });
    expect(out.y).toEqual([11, 12, 13, 14]);
  }, slow);

  test("sparse initializers, linear and coordinate indices, densified by onnxruntime", () => {
    const g = new GraphBuilder("sparse");
    g.input("x", "float32", [3, 4]);
    g.sparseInitializer("s", "float32", [3, 4], [1, 2, 3], [1, 5, 11]);
    g.sparseInitializer("c", "int32", [2, 2], [9, 8], [0, 1, 1, 0]);
    g.node("Add", ["x", "s"], { outputs: ["y"] });
    g.output("y", "float32", [3, 4]);
    // Shape inference types a sparse initializer as sparse_tensor, which Add refuses; onnxruntime
    // densifies it, so only the structural check applies.
    const m = check("sparse.onnx", buildModel(g), "basic");
    const { s, c } = m.graph.sparse;
    expect(s.dims).toEqual([3, 4]);
    expect(s.values).toMatchObject({ name: "s", dims: [3], values: [1, 2, 3] });
    expect(s.indices).toMatchObject({ dims: [3], values: ["1", "5", "11"] });
    expect(c.indices).toMatchObject({ dims: [2, 2], values: ["0", "1", "1", "0"] });
    const out = ortRun("sparse.onnx", { x: f32([3, 4], new Array(12).fill(0)) });
    expect(out.y).toEqual([[0, 1, 0, 0], [0, 2, 0, 0], [0, 0, 0, 3]]);
  }, slow);

  test("metadata, producer fields, doc strings, and several opset domains", () => {
    const g = new GraphBuilder("meta");
    g.input("x", "float32", ["B", 2]);
    g.node("Identity", ["x"], { outputs: ["y"] });
    g.output("y", "float32", ["B", 2]);
    const bytes = buildModel(g, {
      opsets: { "": 18, "ai.onnx.ml": 3, "com.microsoft": 1 },
      irVersion: 9,
      producerName: "tessera",
      producerVersion: "0.1.0",
      domain: "dev.tessera",
      modelVersion: 42,
      doc: "a model about nothing",
      metadata: { k: "v", author: "tessera", empty: "" },
    });
    const m = check("meta.onnx", bytes);
    expect(m).toMatchObject({
      ir_version: 9,
      producer: ["tessera", "0.1.0"],
      domain: "dev.tessera",
      model_version: 42,
      doc: "a model about nothing",
      metadata: { k: "v", author: "tessera", empty: "" },
      opsets: { "": 18, "ai.onnx.ml": 3, "com.microsoft": 1 },
    });
  }, slow);

  test("sequence, optional, map and sparse tensor value types", () => {
    const g = new GraphBuilder("typed_values");
    g.input("seq", types.sequence(types.tensor("float32", [null])));
    g.input("opt", types.optional(types.tensor("int64", [2])));
    g.input("table", types.map("string", types.tensor("float32")));
    g.input("opt_seq", types.optional(types.sequence(types.tensor("float32"))));
    g.input("sp", types.sparseTensor("float32", [2, "K"]));
    g.node("SequenceLength", ["seq"], { outputs: ["n"] });
    g.node("OptionalHasElement", ["opt"], { outputs: ["has"] });
    g.output("n", "int64", []);
    g.output("has", "bool", []);
    const m = check("typed_values.onnx", buildModel(g, { opsets: { "": 18 } }));
    const [seq, opt, table, optSeq, sp] = m.graph.inputs.map((v: Json) => v.type);
    const tensorOf = (elem: number, shape: unknown) => ({ kind: "tensor_type", elem, shape });
    expect(seq).toEqual({ kind: "sequence_type", elem: tensorOf(FLOAT, [null]) });
    expect(opt).toEqual({ kind: "optional_type", elem: tensorOf(dtypes.int64.code, [2]) });
    const key = dtypes.string.code;
    expect(table).toEqual({ kind: "map_type", key, value: tensorOf(FLOAT, null) });
    expect(optSeq.elem.kind).toBe("sequence_type");
    expect(sp).toEqual({ kind: "sparse_tensor_type", elem: FLOAT, shape: [2, "K"] });
    expect(m.graph.outputs[0].type.shape).toEqual([]);
  }, slow);

  test("attributes of every kind, inferred or explicit", () => {
    const sub = new GraphBuilder("sub");
    sub.output("z", "float32", [1]);
    sub.initializer("z", "float32", [1], [3]);
    const g = new GraphBuilder("attrs");
    g.input("x", "float32", [1]);
    const attrs = {
      f: 0.25, i: -7, big: I64_MIN, flag: true, s: "héllo", t: tensor("int32", [2], [1, 2]),
      g: sub, floats: [1.5, 2], ints: [1, 2, 3], strings: ["a", "b"], graphs: [sub],
      tensors: [tensor("float32", [], [1])], sp: sparseTensor("float32", [4], [5], [2]),
      tp: attr.type(types.sequence(types.tensor("int8", [2]))),
      tps: attr.types([types.tensor("bool")]),
      one: attr.float(1), no_floats: attr.floats([]),
    };
    g.node("Everything", ["x"], { domain: "tessera.attrs", outputs: ["y"], attrs });
    g.output("y", "float32", [1]);
    // Strict shape inference refuses ops it has no schema for; the structural check still runs.
    const bytes = buildModel(g, { opsets: { "": 17, "tessera.attrs": 1 } });
    const a = check("attrs.onnx", bytes, "basic").graph.nodes[0].attrs;
    expect(a.f).toEqual({ type: "FLOAT", value: 0.25 });
    const ints = [a.i.value, a.big.value, a.flag.value, a.i.type];
    expect(ints).toEqual(["-7", String(I64_MIN), "1", "INT"]);
    expect(a.s).toEqual({ type: "STRING", value: "héllo" });
    expect([a.t.type, a.t.value.dtype, a.t.value.values]).toEqual(["TENSOR", 6, [1, 2]]);
    expect([a.g.type, a.g.value.initializers.z.values]).toEqual(["GRAPH", [3]]);
    expect(a.floats).toEqual({ type: "FLOATS", value: [1.5, 2] });
    expect(a.ints).toEqual({ type: "INTS", value: ["1", "2", "3"] });
    expect(a.strings).toEqual({ type: "STRINGS", value: ["a", "b"] });
    expect([a.tensors.type, a.tensors.value[0].values]).toEqual(["TENSORS", [1]]);
    expect([a.graphs.type, a.graphs.value[0].name]).toEqual(["GRAPHS", "sub"]);
    const sp = [a.sp.type, a.sp.value.dims, a.sp.value.values.values, a.sp.value.indices.values];
    expect(sp).toEqual(["SPARSE_TENSOR", [4], [5], ["2"]]);
    const int8Pair = { kind: "tensor_type", elem: dtypes.int8.code, shape: [2] };
    expect(a.tp).toEqual({ type: "TYPE_PROTO", value: { kind: "sequence_type", elem: int8Pair } });
    expect([a.tps.type, a.tps.value[0].elem]).toEqual(["TYPE_PROTOS", dtypes.bool.code]);
    expect(a.one).toEqual({ type: "FLOAT", value: 1 });
    expect(a.no_floats).toEqual({ type: "FLOATS", value: [] });
  }, slow);
});

describe("standalone tensors and conversions", () => {
  test("generated names are unique within a graph and carry its name", () => {
    const g = new GraphBuilder("main");
    const [a, b] = g.nodeWithOutputs("Split", ["x"], 2);
    const c = g.node("Relu", [a!]);
    expect([a, b, c]).toEqual(["main/Split_0:0", "main/Split_0:1", "main/Relu_1:0"]);
  });

  test("encodeTensorProto writes test-data tensors onnx reads", () => {
    const ints = new BigInt64Array([1n, -2n, 3n, -4n]);
    const path = save("input_0.pb", encodeTensorProto("input", "int64", [2, 2], ints));
    const half = save("input_1.pb", encodeTensorProto("h", "float16", [3], [1, -0.5, 1e-7]));
    const script = String.raw`
import json, sys, onnx
from onnx import numpy_helper
out = []
for p in sys.argv[1:]:
    t = onnx.load_tensor(p)
    values = numpy_helper.to_array(t).astype(float).flatten().tolist()
    out.append({"name": t.name, "dims": list(t.dims), "values": values})
print(json.dumps(out))`;
    const [intTensor, halfTensor] = runPython(script, [path, half]);
    expect(intTensor).toEqual({ name: "input", dims: [2, 2], values: [1, -2, 3, -4] });
    expect(halfTensor.values.slice(0, 2)).toEqual([1, -0.5]);
    expect(halfTensor.values[2]).toBe(2 * 2 ** -24); // 1e-7 rounds to two subnormal steps
  }, slow);

  test("float16 and bfloat16 rounding matches numpy and ml_dtypes bit for bit", () => {
    const specials = [
      0, -0, 1, 65504, 65519.99, 65520, 1e-8, 2 ** -24, 2 ** -25, 3 * 2 ** -26, Infinity,
      -Infinity, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 1 + 2 ** -8, 1 + 3 * 2 ** -8,
    ];
    let seed = 12345;
    const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    const random = () => (next() / 2 ** 32 - 0.5) * 2 ** ((next() % 44) - 22);
    const values = [...specials, ...Array.from({ length: 4000 }, random)].map(Math.fround);
    const script = String.raw`
import json, sys, numpy as np, ml_dtypes
v = np.array(json.loads(sys.stdin.read()), dtype=np.uint32).view(np.float32)
halves = v.astype(np.float16).view(np.uint16).tolist()
print(json.dumps([halves, v.astype(ml_dtypes.bfloat16).view(np.uint16).tolist()]))`;
    const bits = Array.from(new Uint32Array(new Float32Array(values).buffer));
    const [halfBits, bfBits] = runPython(script, [], JSON.stringify(bits));
    expect(values.map(float16Bits)).toEqual(halfBits);
    expect(values.map(bfloat16Bits)).toEqual(bfBits);
    expect(float16Bits(NaN) & 0x7c00).toBe(0x7c00);
    expect(bfloat16Bits(NaN)).toBe(0x7fc0);
  }, slow);

  test("errors: ambiguous attributes, wrong counts, Tessera-only dtypes, bad indices", () => {
    const g = new GraphBuilder("bad");
    g.node("Foo", [], { attrs: { empty: [] } });
    expect(() => buildModel(g)).toThrow(/attr\./);
    expect(() => tensor("float32", [2, 2], [1, 2, 3])).toThrow(/needs 4 values/);
    expect(() => tensor("int32", [2], new Uint8Array(3))).toThrow(/needs 2 values/);
    expect(() => tensor("qint8", [1], [1])).toThrow(/no ONNX/);
    expect(() => tensor("string", [2], ["a"])).toThrow(/2 strings/);
    expect(() => sparseTensor("float32", [4, 4], [1, 2], [1, 2, 3])).toThrow(/indices/);
    expect(() => new GraphBuilder("")).toThrow(/name/);
    expect(() => tensor("float32", [-1], [])).toThrow(/dims/);
    const two = ["a", "b"] as unknown as [string];
    expect(() => g.node("Split", ["x"], { outputs: two })).toThrow(/nodeWithOutputs/);
    expect(() => buildModel(new GraphBuilder("x"), { irVersion: 2 ** 60 })).toThrow(/bigint/);
  });
});
