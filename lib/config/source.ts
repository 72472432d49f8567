/**
 * Parses YAML or TOML into one position-carrying tree, so the validator can report `line:col` for every
 * problem without caring about the file format (CLI side only: it imports yaml and smol-toml).
 *
 * The tree is defined here; yaml_source.ts and toml_source.ts build it. YAML positions come from yaml's AST
 * (`range` + `LineCounter`). smol-toml has no AST, so for TOML the values come from smol-toml (the authority
 * on syntax) and the positions from a small tolerant scanner (`scanTomlPositions`) that runs only on text
 * smol-toml has accepted. Syntax errors of both formats carry their positions natively.
 */
import { parseTomlSource } from "./toml_source.ts";
import type { Diagnostic } from "./types.ts";
import { parseYamlSource } from "./yaml_source.ts";

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
