/**
 * Finds where a key path of the config stands in the parsed source, so every diagnostic (from the schema
 * walk, the semantic checks or the checks against the outside world) points at the key or value it is about.
 */
import type { Pos, SourceNode } from "./source.ts";

/** A key path as in `Diagnostic.path` (types.ts). */
export type KeyPath = (string | number)[];

/** Where a key path is in the source: the key, the value, and whether the whole path exists. */
export interface Location {
  /** Position of the deepest key of the path that exists. */
  keyPos?: Pos;
  /** Position of that key's value. */
  valuePos?: Pos;
  /** True when the whole path exists, false when only a prefix was found. */
  exact: boolean;
  /** The node at the deepest part of the path that exists. */
  node?: SourceNode;
}

/** Walks `path` down the tree as far as it exists. */
export function locate(root: SourceNode, path: KeyPath): Location {
  let node: SourceNode = root;
  let keyPos: Pos | undefined;
  let valuePos: Pos | undefined = root.pos;
  for (const seg of path) {
    let next: SourceNode | undefined;
    if (node.kind === "map" && typeof seg === "string") {
      const entry = node.entries.find((e) => e.key === seg);
      if (entry) {
        next = entry.value;
        keyPos = entry.keyPos ?? keyPos;
      }
    } else if (node.kind === "seq" && typeof seg === "number") {
      next = node.items[seg];
    }
    if (next === undefined) return { keyPos, valuePos, exact: false, node };
    node = next;
    valuePos = next.pos ?? keyPos;
  }
  return { keyPos, valuePos, exact: true, node };
}

/** Position for a problem with the value at `path` (falls back to the key, then the nearest ancestor). */
export function valuePosition(root: SourceNode, path: KeyPath): Pos | undefined {
  const loc = locate(root, path);
  return loc.exact ? loc.valuePos ?? loc.keyPos : loc.keyPos ?? loc.valuePos;
}

/** Position of the key at `path` (for unknown/duplicate/missing keys), else the nearest ancestor. */
export function keyPosition(root: SourceNode, path: KeyPath): Pos | undefined {
  const loc = locate(root, path);
  return loc.keyPos ?? loc.valuePos;
}
