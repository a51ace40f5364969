/**
 * The JSON every command prints (--json, -report json), through one serializer so that the same
 * quantity has the same precision whatever command prints it.
 *
 * The rule: a measurement is rounded to 3 decimals in its unit, everything else is printed
 * exactly. Measurements are known by their key: times in milliseconds end in `Ms` or are `ms`
 * (3 decimals: the microsecond, which is all performance.now() and the engine's events resolve
 * here), rates end in `PerSecond` or are `throughput` (inferences per second: 3 decimals). A key
 * that names a measurement rounds every number under it too (`latencyMs: { min, median, ... }`).
 * Counts, sizes, shapes, a model's own numbers (quantization scales) and tensor statistics are
 * data, not measurements, and keep every digit.
 */

const measurement = /(?:Ms|PerSecond)$|^(?:ms|throughput)$/;

/** A measurement as printed: 3 decimals. */
export function roundMeasurement(value: number): number {
  return Math.round(value * 1000) / 1000;
}

function roundAll(value: unknown): unknown {
  if (typeof value === "number") return roundMeasurement(value);
  if (Array.isArray(value)) return value.map(roundAll);
  if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, roundAll(v)]));
  return value;
}

/** `value` as indented JSON, measurements rounded by the rule above. */
export function toJson(value: unknown): string {
  // JSON.stringify has already called any toJSON() when the replacer sees a value.
  return JSON.stringify(value, (key, field: unknown) => (measurement.test(key) ? roundAll(field) : field), 2);
}
