/**
 * YAML 1.2 (core schema) into the position-carrying tree of source.ts, positions from yaml's AST, with limits
 * on nesting and on alias expansion so a hostile document cannot exhaust the CLI.
 */
import { type Document, isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument } from "yaml";
import type { MapEntry, MapNode, ParsedSource, Pos, ScalarValue, SourceNode } from "./source.ts";
import type { Diagnostic } from "./types.ts";

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
