/**
 * `tessera serve` as a child process for the client tests: it serves a fresh test repository on
 * free ports (port 0) and prints the addresses it listens on, one line each, which are read back.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { bunBinary, repo } from "./paths.ts";
import { makeRepository } from "./serve-repository.ts";

/**
 * The Python of the tritonclient venv (.cache/triton-venv, installed by
 * scripts/install-triton-client; TESSERA_TRITON_VENV names another). A missing venv fails loudly.
 */
export function tritonPython(): string {
  const venv = process.env.TESSERA_TRITON_VENV ?? join(repo, ".cache/triton-venv");
  const python = join(venv, "bin/python");
  if (!existsSync(python)) throw new Error(`no tritonclient venv at ${venv}: run scripts/install-triton-client`);
  return python;
}

export interface ServeProcess {
  child: ReturnType<typeof Bun.spawn<"ignore", "pipe", "pipe">>;
  /** The first `lines` lines it printed. */
  printed: string[];
}

export async function startServe(options: string[], lines = 1, env: Record<string, string> = {}): Promise<ServeProcess> {
  const child = Bun.spawn([bunBinary, join(repo, "src/cli/tessera.ts"), "serve", makeRepository(), "--port", "0", ...options], {
    env: { ...process.env, ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  return { child, printed: await firstLines(child, lines) };
}

/** The first `lines` lines a started `tessera serve` prints: the addresses it listens on. */
export async function firstLines(child: ServeProcess["child"], lines: number): Promise<string[]> {
  const reader = child.stdout.getReader();
  let printed = "";
  while (printed.split("\n").length <= lines) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`tessera serve ended before listening: ${await new Response(child.stderr).text()}`);
    printed += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  return printed.split("\n").slice(0, lines);
}

/**
 * Runs a client's case script against `address` (then `args`, with `env` added to the
 * environment); the cases' lines, "PASS name" or "FAIL name: reason".
 */
export async function runCases(python: string, script: string, address: string, args: string[] = [], env: Record<string, string> = {}): Promise<{ code: number; err: string; lines: string[] }> {
  const run = Bun.spawn([python, join(repo, script), address, ...args], { env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(run.stdout).text(), new Response(run.stderr).text(), run.exited]);
  return { code, err, lines: out.trim().split("\n") };
}
