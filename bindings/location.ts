/**
 * Where the native library is, and which platforms have one.
 *
 * In order: the library a compiled executable embeds (registered by `tessera/embedded/<platform>`
 * through useLibrary), $TESSERA_LIBRARY, the package's prebuilt library for this platform, and
 * last a checkout's own build output. The package and a checkout share one layout relative to
 * this file: `bindings/` sits at the root beside `prebuilds/` (package) or `libruntime/` (checkout).
 */
import packageJson from "../package.json" with { type: "json" };

/** The project's one version: package.json's, which the library's tsr_version also carries. */
export const version: string = packageJson.version;

/** What decides which library a process needs, in Node's names ("linux", "x64"). */
export interface Platform {
  os: string;
  arch: string;
  musl: boolean;
}

/** The platforms the package carries a library for, as `os-arch[-musl]`. */
export const supportedPlatforms = [
  "linux-x64",
  "linux-arm64",
  "linux-x64-musl",
  "linux-arm64-musl",
  "darwin-x64",
  "darwin-arm64",
  "win32-x64",
] as const;
export type PlatformKey = (typeof supportedPlatforms)[number];

export function platformKey(platform: Platform): string {
  return `${platform.os}-${platform.arch}${platform.musl ? "-musl" : ""}`;
}

/** The versioned file name of the shared library for an OS, as the package ships it. */
export function libraryFileName(os: string, libraryVersion = version): string {
  if (os === "darwin") return `libtessera.${libraryVersion}.dylib`;
  if (os === "win32") return `tessera-${libraryVersion}.dll`;
  return `libtessera.so.${libraryVersion}`;
}

/** Thrown when no library can be found for this process; the message says what to do. */
export class LibraryLoadError extends Error {
  override name = "LibraryLoadError";
}

let chosen: string | undefined;

/**
 * Makes `path` the library this process opens, ahead of $TESSERA_LIBRARY. Only effective before
 * the library is first opened (the first import of Tessera's API).
 */
export function useLibrary(path: string): void {
  chosen = path;
}

/** Whether a path lies in the file system a Bun single-file executable embeds. */
export function isEmbeddedPath(path: string): boolean {
  return path.startsWith("/$bunfs/") || /^[A-Z]:[\\/]~BUN[\\/]/.test(path);
}

export interface Environment {
  platform: Platform;
  /** An environment variable (undefined when unset). */
  env(name: string): string | undefined;
  exists(path: string): boolean;
}

const root = new URL("../", import.meta.url);

function pathOf(relative: string): string {
  const path = decodeURIComponent(new URL(relative, root).pathname);
  // file:///C:/x gives /C:/x on Windows.
  return /^\/[A-Za-z]:\//.test(path) ? path.slice(1) : path;
}

export function libraryPath(environment: Environment): string {
  if (chosen) return chosen;
  const explicit = environment.env("TESSERA_LIBRARY");
  if (explicit) return explicit;
  const key = platformKey(environment.platform);
  if (environment.exists(pathOf("prebuilds/"))) {
    const prebuilt = pathOf(`prebuilds/${key}/${libraryFileName(environment.platform.os)}`);
    if ((supportedPlatforms as readonly string[]).includes(key) && environment.exists(prebuilt)) return prebuilt;
    throw new LibraryLoadError(
      `Tessera has no library for this platform (${key}); it ships for ${supportedPlatforms.join(", ")}. ` +
        "Set TESSERA_LIBRARY to a library built for it.",
    );
  }
  if (isEmbeddedPath(pathOf("./"))) {
    throw new LibraryLoadError(
      `this executable embeds no Tessera library: add \`import "tessera/embedded/${key}";\` ` +
        "before the first import of tessera in the program that `bun build --compile` builds.",
    );
  }
  const file = environment.platform.os === "win32" ? "bin/tessera.dll" : environment.platform.os === "darwin" ? "lib/libtessera.dylib" : "lib/libtessera.so";
  return pathOf(`libruntime/zig-out/${file}`);
}
