/**
 * onnxruntime's session and run options in Tessera's terms. Each option is mapped, accepted
 * where what it asks for is what Tessera does anyway, or refused with a NotImplementedError that
 * says why: nothing is dropped without a word. A key onnxruntime does not know is an
 * InvalidArgumentError, as Tessera's own options are. docs/porting.md has the same table.
 */
import type { InferenceSession } from "onnxruntime-common";
import { InvalidArgumentError, NotImplementedError } from "../errors.ts";
import type { LoadOptions } from "../model.ts";
import { type LogLevel, logging } from "../logging.ts";
import { checkOptionKeys, describe } from "../option-keys.ts";
import { platforms } from "../device.ts";

type SessionOptions = InferenceSession.SessionOptions;
type RunOptions = InferenceSession.RunOptions;

/** What a session's options ask of Tessera: the model's load options, a log level, and sizes for named dims. */
export interface SessionSettings {
  load: LoadOptions;
  logLevel?: LogLevel;
  /** freeDimensionOverrides: a size for each named (symbolic) input dim, fixed with the load option inputShapes. */
  dimensionSizes?: Record<string, number>;
}

/** Maps one option's value into the settings, or throws because it cannot. */
type Mapping = (value: unknown, settings: SessionSettings, key: string) => void;

function refusal(key: string, why: string): NotImplementedError {
  return new NotImplementedError(`onnxruntime option '${key}' cannot be honoured: ${why}`);
}

/** An option Tessera has no counterpart for: refused whatever its value. */
function refused(why: string): Mapping {
  return (_value, _settings, key) => {
    throw refusal(key, why);
  };
}

/** Accepted at the value that asks for what Tessera does anyway (onnxruntime's default); refused otherwise. */
function onlyAt(accepted: unknown, why: string): Mapping {
  return (value, _settings, key) => {
    if (value !== accepted) throw refusal(key, `${why} (only ${describe(accepted)} is accepted)`);
  };
}

/** onnxruntime's severities, most verbose first, as Tessera's levels. Tessera writes nothing above "error", so "fatal" silences it. */
const severities: readonly LogLevel[] = ["trace", "info", "warn", "error", "off"];
const severityNames = ["verbose", "info", "warning", "error", "fatal"];

/** Tessera's log level for onnxruntime's severity, as a number (logSeverityLevel) or a name (env.logLevel). */
export function logLevelFor(severity: unknown): LogLevel {
  const index = typeof severity === "string" ? severityNames.indexOf(severity) : severity;
  const level = typeof index === "number" ? severities[index] : undefined;
  if (level === undefined) {
    throw new InvalidArgumentError(`onnxruntime log severity must be 0..4 or one of ${severityNames.join(", ")}, not ${describe(severity)}`);
  }
  return level;
}

const logSeverity: Mapping = (value, settings) => {
  settings.logLevel = logLevelFor(value);
};

/**
 * Levels that allow no more than Tessera does. Its load folds constants and removes dead nodes
 * (onnxruntime's basic level) and fuses Conv chains (extended); it never changes layouts. A level
 * is a ceiling, so "extended" and above are honoured; "basic" and "disabled" forbid what it does.
 */
const optimizationLevels = new Set(["extended", "layout", "all"]);

const graphOptimization: Mapping = (value, _settings, key) => {
  if (typeof value === "string" && optimizationLevels.has(value)) return;
  if (value === "basic" || value === "disabled") {
    throw refusal(key, `Tessera always folds constants and fuses Conv chains, which '${value}' forbids; use 'extended' or 'all'`);
  }
  throw new InvalidArgumentError(`graphOptimizationLevel must be disabled, basic, extended, layout or all, not ${describe(value)}`);
};

/** The execution providers Tessera answers to: "tessera" leaves the device to Tessera, the others are its platforms. */
export const executionProviderNames: readonly string[] = ["tessera", ...platforms];

/** The devices Tessera tries, in order, for execution providers in order of preference. */
const executionProviders: Mapping = (value, settings, key) => {
  if (!Array.isArray(value)) throw new InvalidArgumentError(`executionProviders must be an array, not ${describe(value)}`);
  if (value.length === 0) return;
  settings.load.devices = value.map((provider: unknown) => {
    if (typeof provider !== "string" && (typeof provider !== "object" || provider === null)) {
      throw new InvalidArgumentError(`an execution provider is a name or { name, ... }, not ${describe(provider)}`);
    }
    const { name, ...rest } = typeof provider === "string" ? { name: provider } : provider as { name: string };
    if (!executionProviderNames.includes(name)) {
      throw refusal(key, `Tessera has no execution provider '${name}' (it has ${executionProviderNames.join(", ")})`);
    }
    const extra = Object.keys(rest)[0];
    if (extra !== undefined) throw refusal(key, `'${name}' takes no provider options in Tessera, so not '${extra}'`);
    return name === "tessera" ? "auto" : name;
  });
};

/**
 * The options as the caller gave them. onnxruntime-common hands a backend a Proxy whose
 * executionProviders lacks the names that no backend registered, which it only warns of; the
 * Proxy's own property still holds the list as given, and Tessera refuses what it cannot honour.
 */
function asGiven(options: SessionOptions): SessionOptions {
  const given = Object.getOwnPropertyDescriptor(options, "executionProviders");
  return given && "value" in given ? { ...options, executionProviders: given.value } : options;
}

const sessionOptions: Record<keyof SessionOptions, Mapping> = {
  executionProviders,
  intraOpNumThreads: (value, settings) => {
    settings.load.threads = value as number; // the library checks it (0: one per core, as here)
  },
  graphOptimizationLevel: graphOptimization,
  logSeverityLevel: logSeverity,
  // onnxruntime's memory pattern is Tessera's memory plan: offsets planned per input shape.
  enableMemPattern: (value, settings) => {
    if (typeof value !== "boolean") throw new InvalidArgumentError(`enableMemPattern must be true or false, not ${describe(value)}`);
    settings.load.memoryOptimization = value;
  },
  executionMode: onlyAt("sequential", "Tessera runs a graph's nodes one after another, each on the intra-op threads"),
  interOpNumThreads: onlyAt(0, "Tessera has no inter-op threads: a graph's nodes run one after another (use intraOpNumThreads)"),
  preferredOutputLocation: onlyAt("cpu", "Tessera returns outputs in CPU memory"),
  enableCpuMemArena: refused("Tessera has no CPU arena to switch; its per-run memory plan is enableMemPattern"),
  freeDimensionOverrides: (value, settings, key) => {
    if (typeof value !== "object" || value === null || Array.isArray(value)) throw new InvalidArgumentError(`${key} must be an object of dim names and sizes, not ${describe(value)}`);
    for (const [name, size] of Object.entries(value)) {
      if (!Number.isSafeInteger(size) || (size as number) < 0) throw new InvalidArgumentError(`${key}: dim '${name}' must be a size (a whole number ≥ 0), not ${describe(size)}`);
    }
    settings.dimensionSizes = { ...value as Record<string, number> };
  },
  optimizedModelFilePath: refused("Tessera does not write the model it prepared"),
  enableProfiling: onlyAt(false, "profile through Tessera's own API (loadModel(path, { profiling: true }), rt.BasicProfiler)"),
  profileFilePrefix: refused("profile through Tessera's own API, whose writeChromeTrace() names its file"),
  logId: refused("Tessera's log lines do not name sessions"),
  logVerbosityLevel: onlyAt(0, "Tessera has no verbosity within its verbose level"),
  enableGraphCapture: onlyAt(false, "Tessera does not capture graphs"),
  extra: refused("Tessera has none of onnxruntime's configuration entries"),
  externalData: refused("Tessera reads external data from the files beside the model (load it by path, or from its folder)"),
};

const runOptions: Record<keyof RunOptions, Mapping> = {
  logSeverityLevel: logSeverity,
  logVerbosityLevel: sessionOptions.logVerbosityLevel,
  terminate: onlyAt(false, "a run that is to stop is cancelled through Tessera's own requests (request.cancel())"),
  tag: refused("Tessera's log lines do not name runs"),
  extra: sessionOptions.extra,
};

const sessionOptionNames = new Set(Object.keys(sessionOptions));
const runOptionNames = new Set(Object.keys(runOptions));

/** Applies each option that is set (undefined: unset, as onnxruntime reads it). */
function mapOptions(options: object, table: Record<string, Mapping>, names: ReadonlySet<string>, what: string): SessionSettings {
  checkOptionKeys(options, names, what);
  const settings: SessionSettings = { load: {} };
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined) table[key]!(value, settings, key);
  }
  return settings;
}

/** A session's options as Tessera's load options and log level. */
export function sessionSettings(options: SessionOptions): SessionSettings {
  return mapOptions(asGiven(options), sessionOptions, sessionOptionNames, "session option");
}

/**
 * Applies a run's options. Tessera's log level is one for the process, so a run's
 * logSeverityLevel sets it from this run on, as a session's does from its creation on.
 */
export function applyRunOptions(options: RunOptions): void {
  const { logLevel } = mapOptions(options, runOptions, runOptionNames, "run option");
  if (logLevel !== undefined) logging.setLevel(logLevel);
}
