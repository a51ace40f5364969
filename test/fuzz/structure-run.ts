/**
 * Runs the structure fuzzer (structure.ts) for a while and reports what it found.
 *
 *   bun test/fuzz/structure-run.ts SECONDS [SEED] [--out DIR] [--no-suite] [--hang-ms MS] [--without KINDS]
 *   bun test/fuzz/structure-run.ts --replay SEED INDEX [--no-suite] [--without KINDS]   # one case, here
 *   bun test/fuzz/structure-run.ts --replay-file MODEL.onnx           # a saved finding
 *
 * The cases run in a child process, because a crash in the native library takes the process
 * with it. The child announces each case before running it (a synchronous write, so the line is
 * out even if the process dies in the next instruction); the supervisor rebuilds that case from
 * (seed, index), saves its model as the finding, and starts a new child at the next case. A case
 * that runs longer than --hang-ms (default 5000, far beyond the 200 ms run deadline) is a hang:
 * the supervisor kills the child. Ends with one line:
 *
 *   structure-fuzz: N cases (L loaded, R ran, T typed errors), C crashes, H hangs, U untyped errors
 *
 * and exits 1 if C + H + U > 0. Findings go to DIR (default .cache/fuzz-findings): per distinct
 * finding up to three models (.onnx) each with a one-line description (.txt).
 */
import { mkdirSync, readFileSync, writeFileSync, writeSync } from "node:fs";
import { join, resolve } from "node:path";
import {
  type Case, defaultSuiteDir, describeCase, loadSeeds, makeCase, operatorsOf, runCase,
} from "./structure.ts";

const ROOT = resolve(import.meta.dir, "../..");
/** A child whose resident memory passes this is stopped: a case must not take the machine down. */
const MAX_CHILD_RSS_BYTES = 4 * 2 ** 30;
/** Saved models per distinct finding; the rest are only counted. */
const SAVED_PER_FINDING = 3;

const argv = process.argv.slice(2);
const flag = (name: string) => {
  const at = argv.indexOf(name);
  return at < 0 ? undefined : argv.splice(at, 2)[1];
};
const noSuite = argv.includes("--no-suite") ? (argv.splice(argv.indexOf("--no-suite"), 1), true) : false;
const suiteArg = (): string | null => (noSuite ? null : defaultSuiteDir(ROOT));
/** Mutation kinds left out (--without wiring,value-kind): to look past a known finding. */
const without = new Set((flag("--without") ?? "").split(",").filter(Boolean));


// ---------------------------------------------------------------------------------- the child

async function child(): Promise<void> {
  const [, seedText, startText, endText, suite] = argv;
  const seed = Number(seedText);
  const end = Number(endText);
  const seeds = loadSeeds(suite === "-" ? null : suite!);
  writeSync(1, "READY\n");
  for (let index = Number(startText); Date.now() < end; index++) {
    let c: Case;
    try {
      c = makeCase(seeds, seed, index, without);
    } catch (error) {
      // A fuzzer bug, not a finding: say so and go on.
      writeSync(1, `X ${index} ${JSON.stringify(String(error))}\n`);
      continue;
    }
    writeSync(1, `S ${index}\n`);
    const o = runCase(c);
    writeSync(1, `E ${index} ${+o.loaded}${+o.ran}${o.typed ? 1 : 0} ${JSON.stringify(o.untyped ?? "")}\n`);
  }
  writeSync(1, "DONE\n");
}

// ---------------------------------------------------------------------------------- replays

function replay(): void {
  const seeds = loadSeeds(suiteArg());
  const seed = Number(argv[1]);
  const c = makeCase(seeds, seed, Number(argv[2]), without);
  console.log(describeCase(c, seed));
  console.log(JSON.stringify(runCase(c)));
}

function replayFile(): void {
  const bytes = new Uint8Array(readFileSync(argv[1]!));
  console.log(JSON.stringify(runCase({ index: 0, seedName: argv[1]!, mutations: [], bytes, threads: 1, inputSeed: 1 })));
}

// ---------------------------------------------------------------------------------- the supervisor

interface Finding { kind: "crash" | "hang" | "untyped"; key: string; detail: string; count: number; example: string }

async function supervise(): Promise<void> {
  const seconds = Number(argv[0]);
  const seed = argv[1] !== undefined ? Number(argv[1]) : Date.now() % 1_000_000;
  const out = resolve(flag("--out") ?? join(ROOT, ".cache", "fuzz-findings"));
  const hangMs = Number(flag("--hang-ms") ?? 5000);
  if (!(seconds > 0) || !Number.isInteger(seed)) {
    console.error("usage: bun test/fuzz/structure-run.ts SECONDS [SEED] [--out DIR] [--no-suite] [--hang-ms MS] [--without KINDS]");
    process.exit(2);
  }
  mkdirSync(out, { recursive: true });
  const suite = suiteArg();
  // The supervisor rebuilds the cases that kill a child, so it needs the same seeds.
  const seeds = loadSeeds(suite);
  console.log(`structure-fuzz: seed ${seed}, ${seeds.catalogue.length} catalogue models ` +
    `(${operatorsOf(seeds.catalogue).size} operators), ${seeds.suite.length} suite models, findings in ${out}`);

  const started = Date.now();
  const end = started + seconds * 1000;
  const counts = { cases: 0, loaded: 0, ran: 0, typed: 0, crashes: 0, hangs: 0, untyped: 0, fuzzerErrors: 0 };
  const findings = new Map<string, Finding>();
  const record = (kind: Finding["kind"], index: number, detail: string) => {
    const c = makeCase(seeds, seed, index, without);
    // An untyped error names its cause; a crash or hang says little, so the kinds of mutation
    // that led to it tell findings apart too.
    const categories = [...new Set(c.mutations.map((m) => m.split(":")[0]))].sort().join("+");
    const key = `${kind} ${normalize(detail)}${kind === "untyped" ? "" : ` [${categories}]`}`;
    let f = findings.get(key);
    if (!f) findings.set(key, f = { kind, key, detail, count: 0, example: "" });
    f.count++;
    if (f.count > SAVED_PER_FINDING) return;
    const base = join(out, `${kind}-s${seed}-c${index}`);
    writeFileSync(`${base}.onnx`, c.bytes);
    writeFileSync(`${base}.txt`, `${kind}: ${detail.replace(/\s+/g, " ")} | ${describeCase(c, seed)}\n`);
    f.example ||= `${base}.onnx`;
  };

  let next = 0;
  while (Date.now() < end) {
    const result = await runChild(seed, next, end, suite, hangMs, (index, flags, untyped) => {
      counts.cases++;
      if (flags[0] === "1") counts.loaded++;
      if (flags[1] === "1") counts.ran++;
      if (flags[2] === "1") counts.typed++;
      if (untyped) { counts.untyped++; record("untyped", index, untyped); }
    }, (line) => {
      if (counts.fuzzerErrors++ < 3) console.log(`  fuzzer error (a case the fuzzer could not build): ${line}`);
    });
    if (result.startFailed) {
      console.error(`structure-fuzz: the child process could not start:\n${result.stderr}`);
      process.exit(2);
    }
    if (result.dead === null) break; // it ran out of time and said DONE
    counts.cases++;
    if (result.dead.kind === "hang") counts.hangs++;
    else counts.crashes++;
    record(result.dead.kind, result.dead.index, result.dead.detail);
    next = result.dead.index + 1;
  }

  const elapsed = (Date.now() - started) / 1000;
  for (const f of findings.values()) {
    const categories = f.kind === "untyped" ? "" : ` ${f.key.slice(f.key.lastIndexOf(" ["))}`;
    console.log(`  ${f.kind} x${f.count}${categories}: ${f.detail.replace(/\s+/g, " ").slice(0, 400)}\n    e.g. ${f.example}`);
  }
  if (counts.fuzzerErrors) console.log(`  (${counts.fuzzerErrors} cases could not be built: fuzzer errors)`);
  console.log(`  ${(counts.cases / elapsed).toFixed(1)} cases/s over ${elapsed.toFixed(1)} s`);
  console.log(`structure-fuzz: ${counts.cases} cases (${counts.loaded} loaded, ${counts.ran} ran, ${counts.typed} typed errors), ` +
    `${counts.crashes} crashes, ${counts.hangs} hangs, ${counts.untyped} untyped errors`);
  process.exit(counts.crashes + counts.hangs + counts.untyped > 0 ? 1 : 0);
}

/** Findings that differ only in numbers or names are one finding. */
function normalize(detail: string): string {
  return detail.replace(/'[^']*'|"[^"]*"/g, "'…'").replace(/0x[0-9a-f]+|\d+/gi, "N").replace(/\s+/g, " ").slice(0, 200);
}

interface ChildResult {
  startFailed?: boolean;
  stderr: string;
  /** The case the child died in (or was killed in), or null if it finished its time. */
  dead: { kind: "crash" | "hang"; index: number; detail: string } | null;
}

/** One child from case `start` on, until it says DONE, dies, or hangs in a case. */
async function runChild(seed: number, start: number, end: number, suite: string | null, hangMs: number,
  onCase: (index: number, flags: string, untyped: string) => void, onFuzzerError: (line: string) => void): Promise<ChildResult> {
  const proc = Bun.spawn([process.execPath, import.meta.path, "--child", String(seed), String(start), String(end), suite ?? "-",
    "--without", [...without].join(",")],
    { stdout: "pipe", stderr: "pipe", cwd: ROOT });
  let stderr = "";
  let caseStderrAt = 0;
  let ready = false;
  let done = false;
  let current: number | null = null;
  let last = start;
  let caseStart = 0;
  type Kill = { kind: "hang" | "crash"; why: string };
  let killed = null as Kill | null;

  const readErr = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of proc.stderr) {
      stderr += decoder.decode(chunk, { stream: true });
      // Keep the tail only, but never cut into the current case's part.
      if (stderr.length > 64_000 && caseStderrAt > 32_000) {
        const cut = Math.min(stderr.length - 32_000, caseStderrAt);
        stderr = stderr.slice(cut);
        caseStderrAt -= cut;
      }
    }
  })();
  const readOut = (async () => {
    const decoder = new TextDecoder();
    let pending = "";
    for await (const chunk of proc.stdout) {
      pending += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (line === "READY") ready = true;
        else if (line === "DONE") done = true;
        else if (line.startsWith("S ")) {
          current = Number(line.slice(2));
          caseStart = Date.now();
          caseStderrAt = stderr.length;
        } else if (line.startsWith("E ")) {
          const [, index, flags, untyped] = /^E (\d+) (\d{3}) (.*)$/.exec(line) ?? [];
          onCase(Number(index), flags ?? "000", JSON.parse(untyped ?? '""') as string);
          last = Number(index);
          current = null;
        } else if (line.startsWith("X ")) onFuzzerError(line.slice(2));
      }
    }
  })();
  const watchdog = setInterval(() => {
    if (current === null || killed) return;
    if (Date.now() - caseStart > hangMs) {
      killed = { kind: "hang", why: `no result after ${hangMs} ms` };
      proc.kill("SIGKILL");
      return;
    }
    const rss = residentBytes(proc.pid);
    if (rss > MAX_CHILD_RSS_BYTES) {
      killed = { kind: "crash", why: `stopped: resident memory ${(rss / 2 ** 30).toFixed(1)} GiB` };
      proc.kill("SIGKILL");
    }
  }, 100);
  const exitCode = await proc.exited;
  clearInterval(watchdog);
  await Promise.all([readOut, readErr]);
  if (!ready) return { startFailed: true, stderr, dead: null };
  if (done && current === null) return { stderr, dead: null };
  if (current === null) {
    // Died between cases (after a result, before the next announcement: a finalizer, say):
    // blame the last case run, and say so.
    return { stderr, dead: { kind: "crash", index: last, detail: `exit ${exitCode} after the case: ${tail(stderr)}` } };
  }
  const index: number = current;
  const kill = killed as Kill | null; // set by the watchdog, which TypeScript's narrowing cannot see
  if (kill) return { stderr, dead: { kind: kill.kind, index, detail: `${kill.why}; ${tail(stderr.slice(caseStderrAt))}` } };
  const how = proc.signalCode ? `signal ${proc.signalCode}` : `exit code ${exitCode}`;
  return { stderr, dead: { kind: "crash", index, detail: `${how}: ${tail(stderr.slice(caseStderrAt))}` } };
}

/** Bun's crash banner: the same for every crash, so it tells nothing about the case. */
const BANNER = /^(=+|Bun v|Linux Kernel|CPU:|Args:|Features:|Builtins:|Elapsed:|RSS:|oh no: Bun|To send a redacted|https:\/\/bun\.report|Search GitHub|please file a GitHub issue)/;

/** The telling part of a dying process's stderr: its panic line and a little after it. */
function tail(text: string): string {
  const lines = text.split("\n").map((l) => l.trim()).filter((l) => l && !BANNER.test(l));
  const panic = lines.findIndex((l) => /panic|fault|abort|assert|unreachable|error:/i.test(l));
  return (panic >= 0 ? lines.slice(panic, panic + 3) : lines.slice(-3)).join(" | ").slice(0, 600);
}

function residentBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

// Last, so that every constant above is initialised before any mode runs.
if (argv[0] === "--child") await child();
else if (argv[0] === "--replay") replay();
else if (argv[0] === "--replay-file") replayFile();
else await supervise();
