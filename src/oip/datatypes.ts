/**
 * OIP v2 datatype names against Tessera's dtypes, and the bytes one element takes in Triton's
 * binary tensor data extension (BYTES elements are length-prefixed instead, so have none).
 */
import type { DType } from "../dtype.ts";

const toTessera = {
  BOOL: "bool",
  UINT8: "uint8",
  UINT16: "uint16",
  UINT32: "uint32",
  UINT64: "uint64",
  INT8: "int8",
  INT16: "int16",
  INT32: "int32",
  INT64: "int64",
  FP16: "float16",
  FP32: "float32",
  FP64: "float64",
  BYTES: "string",
} as const satisfies Record<string, DType>;

export type Datatype = keyof typeof toTessera;

const fromTessera = new Map<DType, Datatype>(Object.entries(toTessera).map(([name, dtype]) => [dtype, name as Datatype]));

/** The Tessera dtype for an OIP datatype name, or undefined for one the server does not carry. */
export function dtypeForDatatype(name: unknown): DType | undefined {
  return typeof name === "string" && Object.hasOwn(toTessera, name) ? toTessera[name as Datatype] : undefined;
}

/** The OIP datatype for a Tessera dtype, or undefined where OIP has none (bfloat16, int4, ...). */
export function datatypeForDtype(dtype: DType | null): Datatype | undefined {
  return dtype === null ? undefined : fromTessera.get(dtype);
}

/** Bytes per element in binary tensor data; 0 for BYTES, whose elements carry their own length. */
export function elementBytes(datatype: Datatype): number {
  switch (datatype) {
    case "BOOL": case "UINT8": case "INT8": return 1;
    case "UINT16": case "INT16": case "FP16": return 2;
    case "UINT32": case "INT32": case "FP32": return 4;
    case "UINT64": case "INT64": case "FP64": return 8;
    case "BYTES": return 0;
  }
}
