/**
 * Parses YAML or TOML into one position-carrying tree, so the validator can report `line:col` for every
 * problem without caring about the file format (CLI side only: it imports yaml and smol-toml).
 *
 * YAML positions come from yaml's AST (`range` + `LineCounter`). smol-toml has no AST, so for TOML the
 * values come from smol-toml (the authority on syntax) and the positions from {@link scanTomlPositions},
 * a small tolerant scanner that runs only on text smol-toml has accepted and records where each key path
 * and value begins. Syntax errors of both formats carry their positions natively.
 */
import { type Document, isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument } from "yaml";
import { parse as parseToml, TomlError } from "smol-toml";
import type { Diagnostic } from "./types.ts";

/** 1-based position. */
export interface Pos {
  /** 1-based line. */
  line: number;
  /** 1-based column. */
  column: number;
}

/** A scalar value as either parser delivers it. */
export type ScalarValue = string | number | boolean | null | bigint | Date;

/** A mapping; entries keep file order and duplicates are already removed (and reported). */
export interface MapNode {
  /** Discriminant. */
  kind: "map";
  /** Where the mapping starts, when the parser knows it. */
  pos?: Pos;
  /** Keys in file order. */
  entries: MapEntry[];
}

/** One key of a mapping with the position of the key itself. */
export interface MapEntry {
  /** The key as written (after YAML/TOML unquoting). */
  key: string;
  /** Position of the key, for "unknown key" diagnostics. */
  keyPos?: Pos;
  /** The key's value. */
  value: SourceNode;
}

/** A sequence (YAML list, TOML array). */
export interface SeqNode {
  /** Discriminant. */
  kind: "seq";
  /** Where the sequence starts. */
  pos?: Pos;
  /** Items in file order. */
  items: SourceNode[];
}

/** A leaf. `pos` is absent for YAML's implicit null (`key:` with nothing after it). */
export interface ScalarNode {
  /** Discriminant. */
  kind: "scalar";
  /** Where the value starts; absent for YAML's implicit null. */
  pos?: Pos;
  /** The value as the parser typed it (TOML dates and big integers included). */
  value: ScalarValue;
}

/** Any node of the tree. */
export type SourceNode = MapNode | SeqNode | ScalarNode;

/** Parser outcome. `root` is absent when syntax errors make the tree meaningless, or the file is empty. */
export interface ParsedSource {
  /** The document tree. */
  root?: SourceNode;
  /** True when the document holds no content at all (only whitespace/comments). */
  empty: boolean;
  /** Syntax errors; the file cannot be used when there are any. */
  errors: Diagnostic[];
  /** The YAML parser's warnings; they do not prevent use. */
  warnings: Diagnostic[];
}

/** Supported file formats. */
export type ConfigFormat = "yaml" | "toml";

/** TOML when the file name ends in `.toml`, YAML otherwise (`.yaml`, `.yml`, anything else). */
export function formatOf(file: string): ConfigFormat {
  return file.toLowerCase().endsWith(".toml") ? "toml" : "yaml";
}

/** Parses text in the given format. */
export function parseSource(text: string, format: ConfigFormat): ParsedSource {
  return format === "toml" ? parseTomlSource(text) : parseYamlSource(text);
}

// ---------------------------------------------------------------------------------------------- YAML

/** Deepest nesting accepted; real configs need 5. Protects the recursive walkers. */
const MAX_DEPTH = 64;
/** Node budget including alias expansion, against "billion laughs" documents. */
const MAX_NODES = 100_000;

function yamlMessage(message: string): string {
  return message.replace(/ at line \d+, column \d+:[\s\S]*$/, "").trim();
}

/** Parses YAML 1.2 (core schema) into a {@link SourceNode} tree. */
export function parseYamlSource(text: string): ParsedSource {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: false, prettyErrors: false, merge: true });
  const at = (offset: number): Pos => {
    const p = lineCounter.linePos(offset);
    return { line: p.line, column: p.col };
  };
  const errors: Diagnostic[] = [];
  const warnings: Diagnostic[] = [];
  // Errors found at end of input ("never closed") point just past the last real character, not at the
  // blank line after it, so the code frame shows the line that needs the fix.
  const contentEnd = text.trimEnd().length;
  for (const e of doc.errors) {
    const offset = e.pos[0] >= contentEnd && contentEnd > 0 ? contentEnd : e.pos[0];
    errors.push({ path: [], ...at(offset), message: `YAML syntax error: ${yamlMessage(e.message)}` });
  }
  for (const w of doc.warnings) {
    warnings.push({ path: [], ...at(w.pos[0]), message: `YAML: ${yamlMessage(w.message)}` });
  }
  if (errors.length > 0) return { empty: false, errors, warnings };
  if (doc.contents === null) return { empty: true, errors, warnings };
  const converter = new YamlConverter(doc, at, errors);
  const root = converter.convert(doc.contents, [], 0);
  return { root, empty: false, errors, warnings };
}

class YamlConverter {
  #nodes = 0;
  #budgetReported = false;

  constructor(
    private readonly doc: Document,
    private readonly at: (offset: number) => Pos,
    private readonly errors: Diagnostic[],
  ) {}

  #pos(node: unknown): Pos | undefined {
    const range = (node as { range?: [number, number, number] } | null)?.range;
    if (!range || range[0] === range[1]) return undefined;
    return this.at(range[0]);
  }

  convert(
    node: unknown,
    path: (string | number)[],
    depth: number,
    aliasSeen = new Set<unknown>(),
  ): SourceNode {
    const pos = this.#pos(node);
    if (++this.#nodes > MAX_NODES || depth > MAX_DEPTH) {
      if (!this.#budgetReported) {
        this.#budgetReported = true;
        this.errors.push({
          path,
          ...pos,
          message: depth > MAX_DEPTH
            ? `nesting deeper than ${MAX_DEPTH} levels`
            : `document expands to more than ${MAX_NODES} nodes (alias expansion?)`,
        });
      }
      return { kind: "scalar", pos, value: null };
    }
    if (isAlias(node)) {
      const target = node.resolve(this.doc);
      if (target === undefined || aliasSeen.has(target)) {
        this.errors.push({
          path,
          ...pos,
          message: `alias *${node.source} cannot be resolved (undefined or recursive)`,
        });
        return { kind: "scalar", pos, value: null };
      }
      const inner = this.convert(target, path, depth + 1, new Set([...aliasSeen, target]));
      // Report problems at the alias's use site: that is where this value enters the config.
      return { ...inner, pos: pos ?? inner.pos };
    }
    if (isMap(node)) return this.#convertMap(node.items, pos, path, depth, aliasSeen);
    if (isSeq(node)) {
      return {
        kind: "seq",
        pos,
        items: node.items.map((item, i) => this.convert(item, [...path, i], depth + 1, aliasSeen)),
      };
    }
    if (isScalar(node)) return { kind: "scalar", pos, value: node.value as ScalarValue };
    return { kind: "scalar", pos, value: null };
  }

  #convertMap(
    items: unknown[],
    pos: Pos | undefined,
    path: (string | number)[],
    depth: number,
    aliasSeen: Set<unknown>,
  ): MapNode {
    const entries: MapEntry[] = [];
    const seen = new Map<string, Pos | undefined>();
    const merged: MapEntry[] = [];
    for (const pair of items) {
      if (!isPair(pair)) continue;
      const keyNode = pair.key;
      const keyPos = this.#pos(keyNode);
      // With `merge: true`, yaml marks a real merge key (unquoted <<) with a symbol value.
      if (isScalar(keyNode) && typeof keyNode.value === "symbol") {
        merged.push(...this.#mergeSources(pair.value, path, depth, aliasSeen));
        continue;
      }
      let key: string;
      if (isScalar(keyNode) && keyNode.value !== null && typeof keyNode.value !== "object") {
        key = String(keyNode.value);
      } else if (isAlias(keyNode) || isMap(keyNode) || isSeq(keyNode)) {
        this.errors.push({
          path,
          ...(keyPos ?? pos),
          message: "keys must be plain strings, not lists or mappings",
        });
        continue;
      } else {
        this.errors.push({ path, ...(keyPos ?? pos), message: "empty key" });
        continue;
      }
      if (seen.has(key)) {
        const first = seen.get(key);
        this.errors.push({
          path: [...path, key],
          ...keyPos,
          message: `duplicate key "${key}"${first ? ` (first defined at line ${first.line})` : ""}`,
        });
        continue;
      }
      seen.set(key, keyPos);
      const value = this.convert(pair.value, [...path, key], depth + 1, aliasSeen);
      entries.push({ key, keyPos, value });
    }
    // YAML merge keys (`<<: *base`): explicit keys win, and earlier merge sources win over later ones.
    for (const entry of merged) {
      if (seen.has(entry.key)) continue;
      seen.set(entry.key, entry.keyPos);
      entries.push(entry);
    }
    return { kind: "map", pos, entries };
  }

  #mergeSources(
    value: unknown,
    path: (string | number)[],
    depth: number,
    aliasSeen: Set<unknown>,
  ): MapEntry[] {
    const sources = isSeq(value) ? value.items : [value];
    const out: MapEntry[] = [];
    for (const source of sources) {
      const node = this.convert(source, path, depth + 1, aliasSeen);
      if (node.kind !== "map") {
        this.errors.push({
          path: [...path, "<<"],
          ...node.pos,
          message: "merge key << needs a mapping or an alias to one",
        });
        continue;
      }
      out.push(...node.entries);
    }
    return out;
  }
}

// ---------------------------------------------------------------------------------------------- TOML

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
