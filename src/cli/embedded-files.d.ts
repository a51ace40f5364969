/**
 * A file imported `with { type: "file" }` (Bun): its path, which inside a single-file
 * executable points into the embedded file system.
 */
declare module "*.so" {
  const path: string;
  export default path;
}
