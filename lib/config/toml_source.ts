/**
 * TOML 1.0 into the position-carrying tree of source.ts. smol-toml has no AST, so the values come from
 * smol-toml (the authority on syntax) and the positions from {@link scanTomlPositions}, a small tolerant
 * scanner that runs only on text smol-toml has accepted and records where each key path and value begins.
 */
import { parse as parseToml, TomlError } from "smol-toml";
import type { ParsedSource, Pos, ScalarValue, SourceNode } from "./source.ts";

/** Where a TOML key path was first written and where its value starts. */
export interface TomlPositions {
  /** Where the key path is first written. */
  keyPos?: Pos;
  /** Where its value starts. */
  valuePos?: Pos;
}

function pathKey(path: readonly (string | number)[]): string {
  return JSON.stringify(path);
}

/** Parses TOML 1.0 into a {@link SourceNode} tree, positions taken from {@link scanTomlPositions}. */
export function parseTomlSource(text: string): ParsedSource {
  let value: Record<string, unknown>;
  try {
    value = parseToml(text) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof TomlError) {
      let message = e.message.split("\n")[0].replace(/^Invalid TOML document: /, "");
      // smol-toml reports an unclosed one-line string as a control character (the newline) in it.
      const lineText = text.split("\n")[e.line - 1] ?? "";
      if (/control characters/.test(message) && e.column > lineText.replace(/\r$/, "").length) {
        message = "string is not closed before the end of the line";
      }
      return {
        empty: false,
        errors: [{ path: [], line: e.line, column: e.column, message: `TOML syntax error: ${message}` }],
        warnings: [],
      };
    }
    throw e;
  }
  if (Object.keys(value).length === 0) return { empty: true, errors: [], warnings: [] };
  const positions = scanTomlPositions(text);
  const convert = (v: unknown, path: (string | number)[]): SourceNode => {
    const here = positions.get(pathKey(path));
    const pos = here?.valuePos ?? here?.keyPos;
    if (Array.isArray(v)) return { kind: "seq", pos, items: v.map((item, i) => convert(item, [...path, i])) };
    if (v !== null && typeof v === "object" && !(v instanceof Date)) {
      return {
        kind: "map",
        pos,
        entries: Object.entries(v as Record<string, unknown>).map(([key, child]) => ({
          key,
          keyPos: positions.get(pathKey([...path, key]))?.keyPos,
          value: convert(child, [...path, key]),
        })),
      };
    }
    return { kind: "scalar", pos, value: v as ScalarValue };
  };
  return { root: convert(value, []), empty: false, errors: [], warnings: [] };
}

/**
 * Best-effort map from key path (JSON of the path array) to positions in TOML text. It understands
 * comments, all four string forms, bare/quoted/dotted keys, `[table]` and `[[array]]` headers, inline
 * tables and (nested) arrays, which is all the structure that decides where a key lives. It assumes the
 * text already parsed; on anything unexpected it skips a character rather than failing, so the worst
 * outcome is a missing position (the validator then falls back to the nearest known ancestor).
 */
export function scanTomlPositions(text: string): Map<string, TomlPositions> {
  const lineStarts = [0];
  for (let k = 0; k < text.length; k++) if (text[k] === "\n") lineStarts.push(k + 1);
  const posAt = (offset: number): Pos => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - lineStarts[lo] + 1 };
  };
  const out = new Map<string, TomlPositions>();
  const record = (path: (string | number)[], field: keyof TomlPositions, offset: number) => {
    const k = pathKey(path);
    const entry = out.get(k) ?? {};
    if (entry[field] === undefined) entry[field] = posAt(offset);
    out.set(k, entry);
  };
  const arrayIndex = new Map<string, number>();
  let i = 0;

  const skipSpaces = () => {
    while (i < text.length && (text[i] === " " || text[i] === "\t")) i++;
  };
  const skipBlank = () => {
    for (;;) {
      skipSpaces();
      if (text[i] === "#") { while (i < text.length && text[i] !== "\n") i++; }
      else if (text[i] === "\n" || text[i] === "\r") i++;
      else return;
    }
  };
  const skipString = () => {
    const q = text[i];
    const triple = text.startsWith(q.repeat(3), i);
    i += triple ? 3 : 1;
    while (i < text.length) {
      if (q === '"' && text[i] === "\\") {
        i += 2;
        continue;
      }
      if (triple ? text.startsWith(q.repeat(3), i) : text[i] === q) {
        i += triple ? 3 : 1;
        // A closing """ may be followed by up to two more quotes that belong to the content.
        while (triple && text[i] === q) i++;
        return;
      }
      if (!triple && text[i] === "\n") return;
      i++;
    }
  };
  const readKeyPart = (): { key: string; offset: number } | undefined => {
    skipSpaces();
    const start = i;
    const c = text[i];
    if (c === '"' || c === "'") {
      skipString();
      const raw = text.slice(start, i);
      if (c === "'") return { key: raw.slice(1, -1), offset: start };
      try {
        return { key: JSON.parse(raw) as string, offset: start };
      } catch {
        return { key: raw.slice(1, -1), offset: start };
      }
    }
    while (i < text.length && /[A-Za-z0-9_-]/.test(text[i])) i++;
    return i > start ? { key: text.slice(start, i), offset: start } : undefined;
  };
  const readKeyPath = (): { key: string; offset: number }[] => {
    const parts: { key: string; offset: number }[] = [];
    for (;;) {
      const part = readKeyPart();
      if (!part) break;
      parts.push(part);
      skipSpaces();
      if (text[i] !== ".") break;
      i++;
    }
    return parts;
  };

  /**
   * The items of an inline table or array, `i` on its opening bracket: `readItem` for each, commas
   * skipped, up to the `close` bracket or the end of the text. An item that reads nothing is stepped over.
   */
  const readItems = (close: "}" | "]", readItem: () => void): void => {
    i++;
    for (;;) {
      skipBlank();
      if (i >= text.length) return;
      if (text[i] === close) {
        i++;
        return;
      }
      if (text[i] === ",") {
        i++;
        continue;
      }
      const before = i;
      readItem();
      if (i === before) i++;
    }
  };

  const parseValue = (path: (string | number)[]): void => {
    skipSpaces();
    record(path, "valuePos", i);
    const c = text[i];
    if (c === '"' || c === "'") return skipString();
    if (c === "{") return readItems("}", () => keyValue(path));
    if (c === "[") {
      let index = 0;
      return readItems("]", () => parseValue([...path, index++]));
    }
    while (i < text.length && !",]}\n\r#".includes(text[i])) i++;
  };

  const keyValue = (base: (string | number)[]): void => {
    const parts = readKeyPath();
    if (parts.length === 0) return;
    const path = [...base];
    for (const part of parts) {
      path.push(part.key);
      record(path, "keyPos", part.offset);
    }
    skipSpaces();
    if (text[i] !== "=") return;
    i++;
    parseValue(path);
  };

  let current: (string | number)[] = [];
  while (i < text.length) {
    skipBlank();
    if (i >= text.length) break;
    if (text[i] === "[") {
      const headerStart = i;
      const isArray = text[i + 1] === "[";
      i += isArray ? 2 : 1;
      const parts = readKeyPath();
      skipSpaces();
      while (text[i] === "]") i++;
      const path: (string | number)[] = [];
      parts.forEach((part, n) => {
        path.push(part.key);
        record(path, "keyPos", part.offset);
        const k = pathKey(path);
        const last = n === parts.length - 1;
        if (isArray && last) {
          const next = (arrayIndex.get(k) ?? -1) + 1;
          arrayIndex.set(k, next);
          path.push(next);
          record(path, "keyPos", headerStart);
          record(path, "valuePos", headerStart);
        } else if (arrayIndex.has(k)) {
          path.push(arrayIndex.get(k)!);
        }
      });
      if (!isArray) record(path, "valuePos", headerStart);
      current = path;
      continue;
    }
    const before = i;
    keyValue(current);
    if (i === before) i++;
  }
  return out;
}
