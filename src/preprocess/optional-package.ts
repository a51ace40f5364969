/**
 * The preprocessing entries lean on packages Tessera does not depend on (optional peer
 * dependencies): they are imported on first use, so `import "tessera"` never needs them and a
 * project that lacks one learns which, and how to add it, from a typed error.
 */
import { ExtensionError } from "../errors.ts";

const loaded = new Map<string, Promise<unknown>>();

/**
 * The package's module, imported once. `load` is the import expression itself (written by each
 * caller with a literal specifier) so that bundlers and `bun build --compile` can see it.
 */
export function optionalPackage<T>(name: string, range: string, entry: string, load: () => Promise<T>): Promise<T> {
  let module = loaded.get(name) as Promise<T> | undefined;
  if (module === undefined) {
    module = load().catch((cause: unknown) => {
      loaded.delete(name);
      throw new ExtensionError(
        `${entry} needs the package ${name} (${range}), which could not be imported: ` +
          `add it to your project (bun add ${name} or npm install ${name})`,
        { cause },
      );
    });
    loaded.set(name, module);
  }
  return module;
}
