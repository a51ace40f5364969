/**
 * How a model is named in a repository: a name or version is one plain path component (no
 * separators, no leading dot, so no `..`), and a client's path to a model is `name`,
 * `name.onnx`, `name/<version>` or `name/<version>/model.onnx`. Checked before anything touches
 * the filesystem (the server) or goes into a URL (the client).
 */
import { InvalidArgumentError } from "../errors.ts";

export const safeComponent = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,254}$/;
export const numericVersion = /^[0-9]{1,9}$/;

/** A model path's name and version (absent: the latest); InvalidArgumentError for any other path. */
export function modelAtPath(path: string): { name: string; version?: string } {
  const parts = path.replace(/^\.\//, "").split("/");
  const [first, version, file] = parts;
  const fits = parts.length <= 3 && parts.every((part) => safeComponent.test(part)) &&
    (parts.length === 1 || numericVersion.test(version!)) && (file === undefined || file === "model.onnx");
  if (!fits) throw new InvalidArgumentError(`'${path}' is not a model path in the repository (name, name.onnx, name/<version> or name/<version>/model.onnx)`);
  const name = parts.length === 1 && first!.endsWith(".onnx") ? first!.slice(0, -".onnx".length) : first!;
  if (!safeComponent.test(name)) throw new InvalidArgumentError(`'${path}' is not a model path in the repository`);
  return version === undefined ? { name } : { name, version: String(Number(version)) };
}
