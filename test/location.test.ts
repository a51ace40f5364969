/** Which library a process opens (bindings/location.ts), for every platform, without opening it. */
import { describe, expect, test } from "bun:test";
import { type Environment, libraryFileName, libraryPath, LibraryLoadError, platformKey, supportedPlatforms, version } from "../bindings/location.ts";
import { repo } from "./support/paths.ts";

function environment(os: string, arch: string, options: { musl?: boolean; env?: Record<string, string>; files?: string[] } = {}): Environment {
  const files = new Set(options.files ?? []);
  return {
    platform: { os, arch, musl: options.musl ?? false },
    env: (name) => options.env?.[name],
    exists: (path) => files.has(path),
  };
}

const packageRoot = repo; // bindings/ sits at the root of a checkout and of the package alike
const prebuilt = (key: string, os: string) => `${packageRoot}prebuilds/${key}/${libraryFileName(os)}`;

describe("library names", () => {
  test("carry the version, in each OS's convention", () => {
    expect(libraryFileName("linux")).toBe(`libtessera.so.${version}`);
    expect(libraryFileName("darwin")).toBe(`libtessera.${version}.dylib`);
    expect(libraryFileName("win32")).toBe(`tessera-${version}.dll`);
  });

  test("platform keys use Node's names, with -musl for musl", () => {
    expect(platformKey({ os: "linux", arch: "x64", musl: false })).toBe("linux-x64");
    expect(platformKey({ os: "linux", arch: "arm64", musl: true })).toBe("linux-arm64-musl");
    expect(supportedPlatforms).toContain("win32-x64");
  });
});

describe("in a package (prebuilds/ beside bindings/)", () => {
  test("each supported platform gets its own prebuilt library", () => {
    for (const key of supportedPlatforms) {
      const [os, arch] = key.split("-") as [string, string];
      const musl = key.endsWith("-musl");
      const files = [`${packageRoot}prebuilds/`, prebuilt(key, os)];
      expect(libraryPath(environment(os, arch, { musl, files }))).toBe(prebuilt(key, os));
    }
  });

  test("an unsupported platform is one line naming it and the supported list", () => {
    const files = [`${packageRoot}prebuilds/`];
    const attempt = () => libraryPath(environment("freebsd", "x64", { files }));
    expect(attempt).toThrow(LibraryLoadError);
    expect(attempt).toThrow(`Tessera has no library for this platform (freebsd-x64); it ships for ${supportedPlatforms.join(", ")}.`);
    // linux-riscv64, and musl on a platform that has only glibc in the package
    expect(() => libraryPath(environment("linux", "riscv64", { files }))).toThrow("(linux-riscv64)");
    expect(() => libraryPath(environment("linux", "x64", { musl: true, files }))).toThrow("(linux-x64-musl)");
  });

  test("TESSERA_LIBRARY wins over the prebuilt library", () => {
    const files = [`${packageRoot}prebuilds/`, prebuilt("linux-x64", "linux")];
    expect(libraryPath(environment("linux", "x64", { files, env: { TESSERA_LIBRARY: "/opt/lib.so" } }))).toBe("/opt/lib.so");
  });
});

describe("in a checkout (no prebuilds/)", () => {
  test("the build output, for each OS", () => {
    expect(libraryPath(environment("linux", "x64"))).toBe(`${packageRoot}libruntime/zig-out/lib/libtessera.so`);
    expect(libraryPath(environment("darwin", "arm64"))).toBe(`${packageRoot}libruntime/zig-out/lib/libtessera.dylib`);
    expect(libraryPath(environment("win32", "x64"))).toBe(`${packageRoot}libruntime/zig-out/bin/tessera.dll`);
  });
});

describe("useLibrary", () => {
  test("an embedded library wins over TESSERA_LIBRARY and the prebuilt one", async () => {
    // A fresh instance of the module (the query makes it another module), so that the choice made
    // here stays out of this process's own bindings.
    const fresh = await import(`../bindings/location.ts?fresh=${Date.now()}`);
    fresh.useLibrary("/cache/tessera/abc/libtessera.so.0.1.0");
    expect(fresh.libraryPath(environment("linux", "x64", { env: { TESSERA_LIBRARY: "/opt/lib.so" } }))).toBe("/cache/tessera/abc/libtessera.so.0.1.0");
  });
});
