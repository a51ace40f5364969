/** A small reader of tessera.h, used to prove the TS tables agree with the C contract. */
import { readFileSync } from "node:fs";
import { headerPath } from "./paths.ts";

export interface CPrototype {
  name: string;
  returns: string;
  params: string[];
}

const header = readFileSync(headerPath, "utf8");

/** "const int64_t *shape" → "const int64_t*"; "void" stays "void". */
function typeOf(declaration: string, dropName: boolean): string {
  let text = declaration.trim().replace(/\s+/g, " ");
  if (dropName && text !== "void") text = text.replace(/[A-Za-z_][A-Za-z0-9_]*$/, "");
  return text.replace(/\s*\*\s*/g, "*").trim().replace("tsr_status", "int32_t");
}

export function prototypes(): CPrototype[] {
  const found: CPrototype[] = [];
  for (const match of header.matchAll(/^TSR_API ([^;]*);/gms)) {
    const text = match[1]!;
    const open = text.indexOf("(");
    const head = text.slice(0, open);
    const name = head.match(/([A-Za-z_][A-Za-z0-9_]*)\s*$/)![1]!;
    const params = text.slice(open + 1, text.lastIndexOf(")")).split(",").map((p) => typeOf(p, true));
    found.push({ name, returns: typeOf(head.slice(0, head.length - name.length), false), params: params[0] === "void" ? [] : params });
  }
  return found;
}

/** Every `TSR_NAME = value` constant, with `1 << n` evaluated. */
export function constants(): Map<string, number> {
  const map = new Map<string, number>();
  for (const match of header.matchAll(/\b(TSR_[A-Z0-9_]+) = (1 << \d+|-?\d+)/g)) {
    const text = match[2]!;
    map.set(match[1]!, text.startsWith("1 << ") ? 1 << Number(text.slice(5)) : Number(text));
  }
  return map;
}

export function abiVersion(): number {
  return Number(header.match(/#define TSR_ABI_VERSION (\d+)/)![1]);
}
