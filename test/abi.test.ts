/** The C contract: symbols.ts, tessera.h and the built library agree, and the ABI is checked at load. */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { ABI_VERSION, symbols } from "../bindings/symbols.ts";
import { LibraryLoadError, openLibrary } from "../bindings/index.ts";
import * as rt from "../src/index.ts";
import { abiVersion, constants, prototypes } from "./support/header.ts";
import { libraryPath, repo } from "./support/paths.ts";

const cTypeToNative: Record<string, string[]> = {
  int32_t: ["i32"],
  uint32_t: ["u32"],
  int64_t: ["i64"],
  uint64_t: ["u64"],
  float: ["f32"],
  double: ["f64"],
  void: ["void"],
  tsr_log_fn: ["function"],
  tsr_job_fn: ["function"],
  tsr_progress_fn: ["function"],
  tsr_node_fn: ["function"],
};

function allowed(cType: string): string[] {
  if (cType.endsWith("*")) return ["pointer", "buffer"];
  return cTypeToNative[cType] ?? [];
}

describe("symbol table", () => {
  const declared = prototypes();

  test("covers every prototype in tessera.h and nothing else", () => {
    expect(Object.keys(symbols).sort()).toEqual(declared.map((p) => p.name).sort());
  });

  test("uses types that match each C prototype", () => {
    for (const prototype of declared) {
      const entry = symbols[prototype.name as keyof typeof symbols];
      expect({ name: prototype.name, arity: entry.args.length as number }).toEqual({ name: prototype.name, arity: prototype.params.length });
      prototype.params.forEach((cType, i) => {
        expect({ name: prototype.name, param: i, ok: allowed(cType).includes(entry.args[i]!) })
          .toEqual({ name: prototype.name, param: i, ok: true });
      });
      const returns = prototype.returns.endsWith("*") ? ["pointer"] : allowed(prototype.returns);
      expect({ name: prototype.name, returns: returns.includes(entry.returns) }).toEqual({ name: prototype.name, returns: true });
    }
  });

  test("every symbol is exported by the library", () => {
    // dlopen itself fails on a missing symbol, so opening proves it; this names the symbol instead.
    const exported = new Set(
      Bun.spawnSync(["nm", "-D", "--defined-only", libraryPath]).stdout.toString()
        .split("\n").map((line) => line.split(" ").pop()),
    );
    for (const name of Object.keys(symbols)) expect({ name, exported: exported.has(name) }).toEqual({ name, exported: true });
  });

  test("status constants match the error classes", () => {
    const table = constants();
    const names: Record<string, string> = {
      TSR_INVALID_ARGUMENT: "InvalidArgumentError",
      TSR_INVALID_STATE: "InvalidStateError",
      TSR_INVALID_OPERATION: "InvalidOperationError",
      TSR_TYPE_ERROR: "TypeError",
      TSR_SHAPE_ERROR: "ShapeError",
      TSR_EXTENSION_ERROR: "ExtensionError",
      TSR_DEVICE_ERROR: "DeviceError",
      TSR_MODEL_ERROR: "ModelError",
      TSR_REQUEST_ERROR: "RequestError",
      TSR_INFER_ERROR: "InferError",
      TSR_OUT_OF_RESOURCE: "OutOfResourceError",
      TSR_CONTAINER_ERROR: "ContainerError",
      TSR_REMOTE_ERROR: "RemoteError",
      TSR_IO_ERROR: "IOError",
      TSR_NETWORK_ERROR: "NetworkError",
      TSR_OS_ERROR: "OSError",
      TSR_NOT_IMPLEMENTED: "NotImplementedError",
    };
    for (const [constant, className] of Object.entries(names)) {
      const cls = (rt as unknown as Record<string, { code: number }>)[className]!;
      expect({ constant, code: cls.code }).toEqual({ constant, code: table.get(constant)! });
    }
  });

  test("dtype codes and CPU feature bits match the header", () => {
    const table = constants();
    for (const [name, info] of Object.entries(rt.dtypes)) {
      expect({ name, code: info.code }).toEqual({ name, code: table.get(`TSR_DTYPE_${name.toUpperCase()}`)! });
    }
    for (const [name, bit] of Object.entries(rt.cpuFeatureBits)) {
      expect({ name, mask: 1 << bit }).toEqual({ name, mask: table.get(`TSR_CPU_${name.toUpperCase()}`)! });
    }
  });
});

describe("versions", () => {
  test("the bindings, the header and the library agree on the ABI version", () => {
    expect(ABI_VERSION).toBe(abiVersion());
    expect(rt.buildInfo().abiVersion).toBe(ABI_VERSION);
  });

  test("the library version is the package version", () => {
    const pkg = JSON.parse(readFileSync(`${repo}/package.json`, "utf8"));
    expect(rt.version).toBe(pkg.version);
    expect(rt.buildInfo().version).toBe(pkg.version);
    expect(rt.buildInfo().zigVersion).toMatch(/^\d+\.\d+\.\d+/);
  });

  test("an ABI mismatch is a clear error, not a crash", () => {
    expect(() => openLibrary(libraryPath, ABI_VERSION + 1)).toThrow(LibraryLoadError);
    expect(() => openLibrary(libraryPath, ABI_VERSION + 1)).toThrow(/ABI mismatch: .* has ABI version 1, these bindings \(tessera [0-9.]+\) need 2/);
  });

  test("a missing library is a clear error", () => {
    expect(() => openLibrary("/nonexistent/libtessera.so")).toThrow(/cannot load the Tessera library at \/nonexistent/);
  });
});
