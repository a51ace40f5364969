/**
 * Backend extensions: shared libraries that add a device to Tessera through the C ABI of
 * tessera_backend.h (docs/extensions.md). Once loaded, the `devices` load option may name the
 * device ("myext:0"): each operation it supports runs there, and the CPU runs the rest.
 */
import { NativeHandle } from "./handle.ts";
import { cString, lib, outPointer, outString, type Pointer } from "./native.ts";
import { root } from "./runtime.ts";

const stringKeys = { name: 0, device: 1, path: 2, description: 3 } as const;

/** Extensions stay loaded until disposed (or rt.finalize()), never because their object was dropped. */
const loaded = new Set<Extension>();

export class Extension extends NativeHandle {
  /** The device kind the extension registered: "myext". */
  readonly name: string;
  /** Its device, as `devices` and `model.operations[i].device` name it: "myext:0". */
  readonly device: string;
  /** The library's absolute path. */
  readonly path: string;
  /** The extension's own description; may be "". */
  readonly description: string;

  /** @internal Use rt.loadExtension(). */
  constructor(pointer: Pointer) {
    super(pointer, (p) => lib.tsr_extension_destroy(p), root);
    const get = (key: number) => outString((slot) => lib.tsr_extension_get_string(pointer, key, slot));
    this.name = get(stringKeys.name);
    this.device = get(stringKeys.device);
    this.path = get(stringKeys.path);
    this.description = get(stringKeys.description);
    loaded.add(this);
  }

  protected get kind(): string {
    return "Extension";
  }

  /**
   * Models loaded from now on can no longer name its device. Models already loaded keep running
   * on it; the library is closed once they are disposed too.
   */
  override dispose(): void {
    loaded.delete(this);
    super.dispose();
  }
}

/**
 * Loads the backend extension at `path` and adds its device. A missing file, a library that is
 * no extension (no tessera_backend_register), one built for another backend ABI version, or a
 * name already loaded is an ExtensionError saying which.
 */
export function loadExtension(path: string): Extension {
  return new Extension(outPointer((slot) => lib.tsr_extension_load(cString(path), slot)));
}

/** The extensions loaded through this runtime and not yet disposed. */
export function loadedExtensions(): Extension[] {
  return [...loaded].filter((extension) => !extension.disposed);
}
