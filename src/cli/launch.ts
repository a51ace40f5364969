/**
 * Starts the tessera command. main.ts is imported here, dynamically, because importing it opens
 * the native library: a library that is missing or of another ABI then gives one line and exit
 * status 1, like every other failure, instead of a stack trace from the module loader.
 */
export async function launch(argv: string[]): Promise<number> {
  let main: (argv: string[]) => Promise<number>;
  try {
    ({ main } = await import("./main.ts"));
  } catch (error) {
    console.error(`tessera: ${String((error as Error)?.message ?? error).split("\n")[0]}`);
    return 1;
  }
  return await main(argv);
}
