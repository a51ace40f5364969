#!/usr/bin/env bun
/**
 * The `tessera` command. Each subcommand parses its arguments with node:util's parseArgs and
 * returns the text to print. A bad command line gets one line on stderr and exit status 2; a
 * failure while loading, reading or running gets one line and status 1; never a stack trace.
 */
import { parseArgs } from "node:util";
import * as rt from "../index.ts";
import { joinNegativeValues, UsageError } from "./args.ts";
import { bench } from "./bench.ts";
import { formatInfo } from "./info.ts";
import { profile } from "./profile.ts";
import { run } from "./run.ts";
import { table } from "./table.ts";

export { UsageError };

export interface Command {
  /** One line for `tessera --help`: the arguments, then what it does. */
  synopsis: string;
  summary: string;
  /** The text to print on stdout. */
  run: (args: string[]) => string | Promise<string>;
}

function devices(args: string[]): string {
  const { values } = parseArgs({ args, options: { json: { type: "boolean" } }, strict: true });
  const local = rt.getLocalInfo();
  if (values.json) return JSON.stringify(local, null, 2);
  const rows = local.devices.map((d) => [
    d.id,
    d.kind,
    d.name,
    d.cpu ? `${d.cpu.cores} cores, ${d.cpu.features.join(" ")}` : `Vulkan ${d.gpu!.apiVersion}, fp16 ${d.gpu!.fp16}, int8 ${d.gpu!.int8}`,
  ]);
  const cpu = local.devices.find((d) => d.cpu)?.cpu;
  const kernels = cpu ? `\n\nCPU kernels: level ${cpu.level}; ${cpu.kernels}` : "";
  return `host ${local.name} (${local.arch}, ${local.os})\n\n${table(["device", "kind", "name", "capabilities"], rows)}${kernels}`;
}

function info(args: string[]): string {
  const { values, positionals } = parseArgs({ args, options: { json: { type: "boolean" } }, allowPositionals: true, strict: true });
  if (positionals.length !== 1) throw new UsageError("info needs exactly one model path");
  using model = rt.loadModelSync(positionals[0]!);
  return values.json ? JSON.stringify(model.toJSON(), null, 2) : formatInfo(model);
}

/** Every subcommand by name; other modules may add theirs before main() runs. */
export const commands: Record<string, Command> = {
  devices: { synopsis: "devices [--json]", summary: "the host and its devices, with capabilities", run: devices },
  info: { synopsis: "info <model> [--json]", summary: "a model's signature, shapes, metadata and operations", run: info },
  run: { synopsis: "run <model> [--input ...] [--output dir]", summary: "run once on given or random inputs; show or save the outputs", run },
  bench: { synopsis: "bench <model> [-niter N | -t S] [-hint ...]", summary: "latency and throughput, benchmark_app style", run: bench },
  profile: { synopsis: "profile <model> [--trace out.json]", summary: "time per layer from the engine's events; a Chrome trace", run: profile },
};

export function usage(): string {
  const entries = Object.values(commands);
  const width = Math.max(...entries.map((c) => c.synopsis.length));
  return ["usage: tessera <command> [options]", ...entries.map((c) => `  ${c.synopsis.padEnd(width)}  ${c.summary}`)].join("\n");
}

/** Whether an error is one the user can act on from its message alone. */
function isKnown(error: unknown): boolean {
  return error instanceof UsageError || error instanceof rt.RuntimeException || isParseError(error);
}

/**
 * The error that says what went wrong. When a `using` block's disposal throws after its body
 * threw, the caller gets a SuppressedError ("An error was suppressed during disposal"), which
 * would hide a RuntimeException or UsageError from the body behind "unexpected error"; the body's
 * error came first and is the one to report.
 */
function bodyError(error: unknown): unknown {
  while (error instanceof SuppressedError) error = error.suppressed;
  return error;
}

function isParseError(error: unknown): boolean {
  return (error as { code?: string } | null)?.code?.startsWith("ERR_PARSE_ARGS") === true;
}

/** Runs one command line (without the program name) and returns the exit status. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h") {
    console.log(usage());
    return name ? 0 : 2;
  }
  try {
    const command = commands[name];
    if (!command) throw new UsageError(`unknown command '${name}'`);
    // Here, once, so that every command's numeric options refuse a negative value by what they take.
    console.log(await command.run(joinNegativeValues(rest)));
    return 0;
  } catch (thrown) {
    const error = bodyError(thrown);
    const message = (error as Error)?.message ?? String(error);
    // Only the first line: parseArgs adds advice on later lines, and one line is the contract.
    const line = message.split("\n")[0] || ((error as Error)?.name ?? "");
    console.error(`tessera: ${isKnown(error) ? "" : "unexpected error: "}${line}`);
    if (!isKnown(error) && ["trace", "debug"].includes(process.env.TESSERA_LOG ?? "")) console.error((error as Error).stack);
    return error instanceof UsageError || isParseError(error) ? 2 : 1;
  }
}

if (import.meta.main) {
  const args = typeof Bun !== "undefined" ? Bun.argv.slice(2) : (globalThis as unknown as { Deno: { args: string[] } }).Deno.args;
  process.exitCode = await main(args);
}
