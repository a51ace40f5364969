/**
 * ONNX SequenceProto and OptionalProto bytes (such as ONNX test data's .pb files for sequence and
 * optional values) as run values: the tensors of a sequence, or an optional's tensor, array of
 * tensors (an optional sequence) or null. Each TensorProto inside is decoded by the library.
 */
import { InvalidArgumentError } from "../errors.ts";
import { type Tensor, tensorFromOnnx } from "../tensor.ts";

/** A protobuf field: its number, and for length-delimited fields, its bytes. */
type Field = { number: number; bytes: Uint8Array | null };

/** The top-level fields of a message; only what these two messages use (varints and bytes). */
function fields(message: Uint8Array): Field[] {
  const out: Field[] = [];
  let at = 0;
  const varint = (): number => {
    let result = 0;
    let scale = 1;
    for (;;) {
      if (at >= message.length) throw new InvalidArgumentError("truncated protobuf message");
      const byte = message[at++]!;
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) return result;
      scale *= 128;
    }
  };
  while (at < message.length) {
    const key = varint();
    const wire = key & 7;
    const number = Math.floor(key / 8);
    if (wire === 0) {
      varint();
      out.push({ number, bytes: null });
    } else if (wire === 2) {
      const length = varint();
      if (at + length > message.length) throw new InvalidArgumentError("truncated protobuf message");
      out.push({ number, bytes: message.subarray(at, at + length) });
      at += length;
    } else if (wire === 5) {
      at += 4;
    } else if (wire === 1) {
      at += 8;
    } else {
      throw new InvalidArgumentError(`unsupported protobuf wire type ${wire}`);
    }
  }
  return out;
}

// Field numbers shared by SequenceProto and OptionalProto.
const TENSOR = 3;
const SEQUENCE = 5;
const OPTIONAL = 7;

/** The tensors of a SequenceProto, in order (sequences of tensors only). */
export function sequenceFromOnnx(bytes: Uint8Array): Tensor[] {
  const out: Tensor[] = [];
  for (const field of fields(bytes)) {
    if (field.number === TENSOR && field.bytes) out.push(tensorFromOnnx(field.bytes));
    else if (field.bytes && field.number >= 4) throw new InvalidArgumentError("only sequences of dense tensors are supported");
  }
  return out;
}

/** An OptionalProto's value: a tensor, a sequence's tensors, or null when it holds none. */
export function optionalFromOnnx(bytes: Uint8Array): Tensor | Tensor[] | null {
  for (const field of fields(bytes)) {
    if (!field.bytes) continue;
    if (field.number === TENSOR) return tensorFromOnnx(field.bytes);
    if (field.number === SEQUENCE) return sequenceFromOnnx(field.bytes);
    if (field.number === OPTIONAL || field.number >= 4) throw new InvalidArgumentError("only optional tensors and sequences are supported");
  }
  return null;
}
