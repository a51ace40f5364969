#!/usr/bin/env bun
/**
 * The `tessera` command. Subcommands: devices, info. Arguments are parsed by node:util's
 * parseArgs; a bad argument gets a one-line error and exit status 2, never a stack trace.
 */
import { parseArgs } from "node:util";
import * as rt from "../index.ts";
import { formatInfo } from "./info.ts";
import { table } from "./table.ts";

const usage = `usage: tessera <command> [options]
  devices [--json]          the host and its devices, with capabilities
  info <model> [--json]     a model's signature, shapes, metadata and operations`;

class UsageError extends Error {}

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
  return `host ${local.name} (${local.arch}, ${local.os})\n\n${table(["device", "kind", "name", "capabilities"], rows)}`;
}

function info(args: string[]): string {
  const { values, positionals } = parseArgs({ args, options: { json: { type: "boolean" } }, allowPositionals: true, strict: true });
  if (positionals.length !== 1) throw new UsageError("info needs exactly one model path");
  using model = rt.loadModelSync(positionals[0]!);
  return values.json ? JSON.stringify(model.toJSON(), null, 2) : formatInfo(model);
}

const commands: Record<string, (args: string[]) => string> = { devices, info };

export function main(argv: string[]): number {
  const [command, ...rest] = argv;
  if (!command || command === "--help" || command === "-h") {
    console.log(usage);
    return command ? 0 : 2;
  }
  const run = commands[command];
  try {
    if (!run) throw new UsageError(`unknown command '${command}'`);
    console.log(run(rest));
    return 0;
  } catch (error) {
    const known = error instanceof UsageError || error instanceof rt.RuntimeException || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS");
    if (!known) throw error;
    console.error(`tessera: ${(error as Error).message}`);
    return error instanceof UsageError || !(error instanceof rt.RuntimeException) ? 2 : 1;
  }
}

if (import.meta.main) {
  const args = typeof Bun !== "undefined" ? Bun.argv.slice(2) : (globalThis as unknown as { Deno: { args: string[] } }).Deno.args;
  process.exitCode = main(args);
}
