/** What `tessera bench` reports: one record, printed as aligned lines (or as JSON, by json.ts). */
import type { InputDescription } from "./inputs.ts";
import type { Statistics } from "../profile/statistics.ts";

export interface BenchReport {
  model: string;
  loadMs: number;
  inputs: InputDescription[];
  threads: number;
  api: "sync" | "async";
  hint: "latency" | "throughput";
  requests: number;
  warmup: number;
  iterations: number;
  totalMs: number;
  latencyMs: Pick<Statistics, "min" | "median" | "mean" | "p90" | "p99" | "max">;
  /** Inferences per second over the whole timed run. */
  throughput: number;
  /** Items per inference: the inputs' batch (batch.ts). */
  batch: number;
  /** batch × throughput. */
  itemsPerSecond: number;
}

/** Milliseconds to the hundredth, or to three significant digits below 10 ms (fast models run in µs). */
const ms = (value: number) => (value >= 10 ? value.toFixed(2) : value.toPrecision(3));

export function formatBenchReport(report: BenchReport): string {
  const { latencyMs: l } = report;
  const inputs = report.inputs.map((i) => `${i.name} ${i.dtype} [${i.shape.join(", ")}] ${i.source}`);
  const rows: [string, string][] = [
    ["model", `${report.model} (loaded in ${ms(report.loadMs)} ms)`],
    ...inputs.map((text, i): [string, string] => [i === 0 ? "inputs" : "", text]),
    ["threads", String(report.threads)],
    ["api", report.api],
    ["requests", `${report.requests} in flight (hint ${report.hint})`],
    ["iterations", `${report.iterations} (after ${report.warmup} warm-up run${report.warmup === 1 ? "" : "s"} per request)`],
    ["total time", `${ms(report.totalMs)} ms`],
    ["latency (ms)", `min ${ms(l.min)}  median ${ms(l.median)}  p90 ${ms(l.p90)}  p99 ${ms(l.p99)}  max ${ms(l.max)}  mean ${ms(l.mean)}`],
    ["throughput", `${report.throughput.toFixed(2)} inferences/s${report.batch > 1 ? `, ${report.itemsPerSecond.toFixed(2)} items/s (batch ${report.batch})` : ""}`],
  ];
  return rows.map(([label, text]) => `${label.padEnd(13)} ${text}`).join("\n");
}
