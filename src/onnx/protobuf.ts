/**
 * A minimal protobuf writer, enough to emit ONNX messages without a protobuf dependency.
 * Bytes are kept as a list of chunks so that nesting a message (or appending a large raw
 * tensor) links its bytes instead of copying them at every level; `finish()` copies once.
 */

/** Wire types of the protobuf encoding. */
const Wire = { Varint: 0, Fixed64: 1, Delimited: 2, Fixed32: 5 } as const;
type WireType = (typeof Wire)[keyof typeof Wire];

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;
/** Appended byte arrays at least this long are linked, not copied into the scratch buffer. */
const LINK_THRESHOLD_BYTES = 256;

const textEncoder = new TextEncoder();

export class ProtoWriter {
  private chunks: Uint8Array[] = [];
  private scratch = new Uint8Array(64);
  private used = 0;
  private linkedBytes = 0;

  /** Bytes written so far. */
  get length(): number {
    return this.linkedBytes + this.used;
  }

  /** A signed integer (int64, int32, enum): negatives take ten bytes, as protobuf says. */
  int64(field: number, value: number | bigint): this {
    this.tag(field, Wire.Varint);
    this.rawVarint(BigInt.asUintN(64, checkInt64(value)));
    return this;
  }

  /** An unsigned 64-bit integer (uint64/uint32). */
  uint64(field: number, value: number | bigint): this {
    this.tag(field, Wire.Varint);
    this.rawVarint(checkUint64(value));
    return this;
  }

  /** int32 fields share int64's encoding; the range check is the only difference. */
  int32(field: number, value: number): this {
    if (!Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff) {
      throw new RangeError(`int32 field ${field}: ${value} is not a 32-bit integer`);
    }
    return this.int64(field, value);
  }

  bool(field: number, value: boolean): this {
    return this.uint64(field, value ? 1 : 0);
  }

  float(field: number, value: number): this {
    this.tag(field, Wire.Fixed32);
    new DataView(this.reserve(4).buffer).setFloat32(this.used - 4, value, true);
    return this;
  }

  double(field: number, value: number): this {
    this.tag(field, Wire.Fixed64);
    new DataView(this.reserve(8).buffer).setFloat64(this.used - 8, value, true);
    return this;
  }

  fixed32(field: number, value: number): this {
    this.tag(field, Wire.Fixed32);
    new DataView(this.reserve(4).buffer).setUint32(this.used - 4, value, true);
    return this;
  }

  fixed64(field: number, value: number | bigint): this {
    this.tag(field, Wire.Fixed64);
    const bits = BigInt.asUintN(64, typeof value === "bigint" ? value : BigInt(value));
    new DataView(this.reserve(8).buffer).setBigUint64(this.used - 8, bits, true);
    return this;
  }

  /** A length-delimited byte string (protobuf `bytes`). */
  bytes(field: number, value: Uint8Array): this {
    this.tag(field, Wire.Delimited);
    this.rawVarint(value.length);
    this.append(value);
    return this;
  }

  /** A protobuf `string`: UTF-8 bytes. */
  string(field: number, value: string): this {
    return this.bytes(field, textEncoder.encode(value));
  }

  /** A nested message, written by `write` into a fresh writer; an empty one is still present. */
  message(field: number, write: (inner: ProtoWriter) => void): this {
    const inner = new ProtoWriter();
    write(inner);
    return this.embed(field, inner);
  }

  /** Appends an already built writer as a nested message, linking its chunks. */
  embed(field: number, inner: ProtoWriter): this {
    this.tag(field, Wire.Delimited);
    this.rawVarint(inner.length);
    inner.flush();
    this.flush();
    for (const chunk of inner.chunks) this.link(chunk);
    return this;
  }

  packedInt64(field: number, values: ArrayLike<number | bigint>): this {
    return this.packed(field, values, (w, v) => w.rawVarint(BigInt.asUintN(64, checkInt64(v))));
  }

  packedInt32(field: number, values: ArrayLike<number>): this {
    return this.packed(field, values, (w, v) => {
      if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) {
        throw new RangeError(`int32 field ${field}: ${v} is not a 32-bit integer`);
      }
      w.rawVarint(BigInt.asUintN(64, BigInt(v)));
    });
  }

  packedUint64(field: number, values: ArrayLike<number | bigint>): this {
    return this.packed(field, values, (w, v) => w.rawVarint(checkUint64(v)));
  }

  packedFloat(field: number, values: ArrayLike<number>): this {
    return this.packedFixed(field, values, 4, (view, at, v) => view.setFloat32(at, v, true));
  }

  packedDouble(field: number, values: ArrayLike<number>): this {
    return this.packedFixed(field, values, 8, (view, at, v) => view.setFloat64(at, v, true));
  }

  /** All bytes written, as one array. */
  finish(): Uint8Array {
    this.flush();
    if (this.chunks.length === 1) return this.chunks[0]!;
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, at);
      at += chunk.length;
    }
    return out;
  }

  /** Empty packed fields are omitted, which protobuf reads back as an empty list. */
  private packed<T>(field: number, values: ArrayLike<T>, write: (w: ProtoWriter, v: T) => void) {
    if (values.length === 0) return this;
    const inner = new ProtoWriter();
    for (let i = 0; i < values.length; i++) write(inner, values[i]!);
    return this.embed(field, inner);
  }

  private packedFixed(
    field: number,
    values: ArrayLike<number>,
    width_bytes: number,
    set: (view: DataView, at: number, v: number) => void,
  ): this {
    if (values.length === 0) return this;
    const payload = new Uint8Array(values.length * width_bytes);
    const view = new DataView(payload.buffer);
    for (let i = 0; i < values.length; i++) set(view, i * width_bytes, values[i]!);
    return this.bytes(field, payload);
  }

  private tag(field: number, wire: WireType): void {
    if (!Number.isInteger(field) || field < 1 || field > 0x1fffffff) {
      throw new RangeError(`bad protobuf field number ${field}`);
    }
    this.rawVarint(field * 8 + wire);
  }

  /** A varint of a non-negative value: plain numbers while exact, bigint above 2^53. */
  private rawVarint(value: number | bigint): void {
    if (typeof value === "number") {
      if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`bad varint ${value}`);
      const out = this.reserve(8);
      let at = this.used - 8;
      while (value >= 0x80) {
        out[at++] = (value % 0x80) | 0x80;
        value = Math.floor(value / 0x80);
      }
      out[at++] = value;
      this.used = at;
      return;
    }
    if (value <= BigInt(Number.MAX_SAFE_INTEGER)) return this.rawVarint(Number(value));
    const out = this.reserve(10);
    let at = this.used - 10;
    while (value >= 0x80n) {
      out[at++] = Number(value & 0x7fn) | 0x80;
      value >>= 7n;
    }
    out[at++] = Number(value);
    this.used = at;
  }

  /** Makes room for `count` more bytes, advances `used` past them, returns the scratch buffer. */
  private reserve(count: number): Uint8Array {
    if (this.used + count > this.scratch.length) {
      const grown = new Uint8Array(Math.max(this.scratch.length * 2, this.used + count));
      grown.set(this.scratch.subarray(0, this.used));
      this.scratch = grown;
    }
    this.used += count;
    return this.scratch;
  }

  private append(bytes: Uint8Array): void {
    if (bytes.length >= LINK_THRESHOLD_BYTES) {
      this.flush();
      this.link(bytes);
      return;
    }
    this.reserve(bytes.length).set(bytes, this.used - bytes.length);
  }

  private link(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.linkedBytes += chunk.length;
  }

  /** Moves the scratch bytes into the chunk list; the scratch buffer starts afresh. */
  private flush(): void {
    if (this.used === 0) return;
    this.link(this.scratch.subarray(0, this.used));
    this.scratch = new Uint8Array(64);
    this.used = 0;
  }
}

function checkInt64(value: number | bigint): bigint {
  if (typeof value === "number" && !Number.isSafeInteger(value)) {
    throw new RangeError(`int64 value ${value} is not a safe integer; pass a bigint`);
  }
  const big = BigInt(value);
  if (big < INT64_MIN || big > INT64_MAX) throw new RangeError(`${value} does not fit in int64`);
  return big;
}

function checkUint64(value: number | bigint): bigint {
  if (typeof value === "number" && !Number.isSafeInteger(value)) {
    throw new RangeError(`uint64 value ${value} is not a safe integer; pass a bigint`);
  }
  const big = BigInt(value);
  if (big < 0n || big > UINT64_MAX) throw new RangeError(`${value} does not fit in uint64`);
  return big;
}
