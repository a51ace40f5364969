/**
 * The command line's own help: `--help` of every command checked against the option tables that
 * the parser reads (so an option without help, or help for an option the parser refuses, fails
 * here), `tessera help`, `--version`, and our one-line messages for a wrong command line.
 */
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import packageJson from "../package.json" with { type: "json" };
import { type CommandSpec, optionName, parseCommand } from "../src/cli/command.ts";
import { commands } from "../src/cli/main.ts";
import * as rt from "../src/index.ts";
import { addRelu } from "./support/models.ts";
import { tessera } from "./support/cli.ts";
import { scratchDir } from "./support/paths.ts";

const modelPath = join(scratchDir("tessera-cli-help-"), "add_relu.onnx");
writeFileSync(modelPath, addRelu());

const specs: CommandSpec[] = Object.values(commands).map((command) => command.spec);
/** Help text with its line wrapping undone, to find a sentence that may span lines. */
const flat = (text: string) => text.replace(/\s+/g, " ");

describe("tessera <command> --help", () => {
  test("every command has help, and it lists every option with its value, meaning and default", () => {
    expect(specs.map((spec) => spec.name).sort()).toEqual(["bench", "devices", "encrypt", "help", "info", "profile", "run", "serve", "version"]);
    for (const spec of specs) {
      const { code, out, err } = tessera(spec.name, "--help");
      expect({ command: spec.name, code, err }).toEqual({ command: spec.name, code: 0, err: "" });
      expect(out).toStartWith(`usage: tessera ${spec.name}${spec.operands ? ` ${spec.operands}` : ""} [options]\n\n`);
      expect(spec.description.length).toBeGreaterThan(40);
      expect(flat(out)).toContain(flat(spec.description));
      expect(out).toContain(`\n  -h, ${optionName(spec, "help")}  `);
      for (const [key, option] of Object.entries(spec.options)) {
        const where = `${spec.name} ${key}`;
        expect({ where, help: option.help.trim().length > 0 }).toEqual({ where, help: true });
        const value = option.type === "string" ? ` ${option.value}` : "";
        const spelling = `${option.short ? `-${option.short}` : optionName(spec, key)}${value}`;
        expect({ where, listed: out.includes(`\n  ${spelling}`) }).toEqual({ where, listed: true });
        expect({ where, meaning: flat(out).includes(option.help) }).toEqual({ where, meaning: true });
        if (option.default !== undefined) expect({ where, default: flat(out).includes(`default: ${option.default}`) }).toEqual({ where, default: true });
      }
    }
  }, 60_000);

  test("every spelling help shows is one the parser takes, with the option's value", () => {
    for (const spec of specs) {
      for (const [key, option] of Object.entries(spec.options)) {
        const spellings = [optionName(spec, key), ...(option.short ? [`-${option.short}`] : []), ...(option.aliases ?? []).map((a) => `-${a}`)];
        for (const spelling of spellings) {
          const args = option.type === "string" ? [spelling, "7"] : [spelling];
          const { values } = parseCommand(spec, args);
          const expected: unknown = option.type === "string" ? "7" : true;
          expect({ spelling, value: values[key] as unknown }).toEqual({ spelling, value: option.multiple ? [expected] : expected });
        }
      }
    }
  });

  test("-h, --help and help <command> print the same; help comes first, whatever else the line holds", () => {
    for (const name of ["run", "bench", "profile"]) {
      const help = tessera(name, "--help").out;
      expect(tessera(name, "-h").out).toBe(help);
      expect(tessera("help", name).out).toBe(help);
      expect(tessera(name, modelPath, "--bogus", "--help").out).toBe(help);
    }
    expect(tessera("bench", "-help").out).toBe(tessera("bench", "--help").out);
  });

  test("tessera help and --help list the commands; no command is a usage error", () => {
    const help = tessera("help");
    expect(help.code).toBe(0);
    expect(tessera("--help").out).toBe(help.out);
    for (const spec of specs) expect(help.out).toContain(`\n  ${spec.name}${spec.operands ? ` ${spec.operands}` : ""} [options]  `);
    const bare = tessera();
    expect({ code: bare.code, out: bare.out }).toEqual({ code: 2, out: help.out });
  });
});

describe("tessera --version", () => {
  test("the package's version and the library's build, in every spelling", () => {
    const { code, out } = tessera("--version");
    expect(code).toBe(0);
    const build = rt.buildInfo();
    expect(out.split("\n")[0]).toBe(`tessera ${packageJson.version}`);
    expect(out).toContain(`\nlibrary ${build.version} (ABI ${build.abiVersion}), Zig ${build.zigVersion} ${build.optimize}, ${build.target}\n`);
    expect(out).toContain(`\nloaded  ${build.library}\n`);
    expect(tessera("-V").out).toBe(out);
    expect(tessera("version").out).toBe(out);
    const json = JSON.parse(tessera("version", "--json").out);
    expect(json).toEqual({ package: packageJson.version, library: { ...build } });
  });
});

describe("a wrong command line", () => {
  test("an unknown option: one line of ours naming the command's help, status 2", () => {
    for (const [args, line] of [
      [["devices", "--bogus"], "tessera: unknown option '--bogus' (see tessera devices --help)"],
      [["info", modelPath, "--frobnicate=3"], "tessera: unknown option '--frobnicate' (see tessera info --help)"],
      [["run", modelPath, "-x"], "tessera: unknown option '-x' (see tessera run --help)"],
      [["bench", modelPath, "-nosuch", "3"], "tessera: unknown option '-nosuch' (see tessera bench --help)"],
      [["profile", modelPath, "--bogus"], "tessera: unknown option '--bogus' (see tessera profile --help)"],
      [["version", "--bogus"], "tessera: unknown option '--bogus' (see tessera version --help)"],
      [["devices", "extra"], "tessera: devices takes no arguments, not 'extra' (see tessera devices --help)"],
      [["run", modelPath, "--threads"], "tessera: --threads needs a value: --threads N"],
      [["bench", modelPath, "-niter"], "tessera: -niter needs a value: -niter N"],
      [["info", modelPath, "--json=yes"], "tessera: --json takes no value (see tessera info --help)"],
      [["help", "frobnicate"], "tessera: unknown command 'frobnicate'"],
      [["frobnicate", "--help"], "tessera: unknown command 'frobnicate'"],
    ] as const) {
      const { code, out, err } = tessera(...args);
      expect({ args, code, out, err }).toEqual({ args, code: 2, out: "", err: `${line}\n` });
    }
  });
});
