/**
 * Printing tensors like numpy: nested brackets, a fixed precision for floats, and summarized
 * with "..." past a threshold of elements.
 */

export interface PrintOptions {
  /** Above this many elements, print only the edges of each axis. */
  threshold: number;
  /** Digits after the point for floating-point elements. */
  precision: number;
  /** Elements kept at each edge of a summarized axis. */
  edgeItems: number;
}

export const printOptions: PrintOptions = { threshold: 1000, precision: 4, edgeItems: 3 };

export function setPrintOptions(options: Partial<PrintOptions>): void {
  Object.assign(printOptions, options);
}

/** Formats `count` elements laid out in `shape`, reading each through `element(i)`. */
export function formatElements(
  shape: readonly number[],
  element: (index: number) => unknown,
  floating: boolean,
  options: Partial<PrintOptions> = {},
): string {
  const o = { ...printOptions, ...options };
  const size = shape.reduce((a, b) => a * b, 1);
  const summarize = size > o.threshold;
  const text = (value: unknown): string => formatScalar(value, floating, o.precision);
  if (shape.length === 0) return text(element(0));
  const strides = shape.map((_, axis) => shape.slice(axis + 1).reduce((a, b) => a * b, 1));
  const render = (axis: number, offset: number, indent: string): string => {
    const length = shape[axis]!;
    const indices = visibleIndices(length, summarize, o.edgeItems);
    const last = axis === shape.length - 1;
    const parts = indices.map((i) =>
      i === -1 ? "..." : last ? text(element(offset + i)) : render(axis + 1, offset + i * strides[axis]!, indent + " ")
    );
    const separator = last ? ", " : "," + "\n".repeat(shape.length - axis - 1) + indent + " ";
    return "[" + parts.join(separator) + "]";
  };
  return render(0, 0, "");
}

function visibleIndices(length: number, summarize: boolean, edge: number): number[] {
  if (!summarize || length <= 2 * edge) return Array.from({ length }, (_, i) => i);
  const head = Array.from({ length: edge }, (_, i) => i);
  const tail = Array.from({ length: edge }, (_, i) => length - edge + i);
  return [...head, -1, ...tail];
}

function formatScalar(value: unknown, floating: boolean, precision: number): string {
  if (typeof value === "number") {
    return floating && Number.isFinite(value) ? value.toFixed(precision) : String(value);
  }
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) {
    const [re, im] = value.map((part) => formatScalar(part, floating, precision));
    return `${re}${im!.startsWith("-") ? "" : "+"}${im}j`;
  }
  return String(value);
}
