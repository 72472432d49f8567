/**
 * The schema walk of config validation: checks a parsed {@link SourceNode} tree against CONFIG_SCHEMA key by
 * key and collects every problem with its key path and position, so the user sees all of them in one run.
 */
import { didYouMean, suggest } from "./did_you_mean.ts";
import { formatDuration, tryParseDuration } from "./duration.ts";
import { keyPathText } from "./format.ts";
import type { KeyPath } from "./locate.ts";
import {
  type FieldSpec,
  MAX_DURATION_MS,
  MAX_PROFILE_NAME_LENGTH,
  type NamedMapSpec,
  PROFILE_NAME_PATTERN,
  type SectionSpec,
  type Spec,
} from "./schema.ts";
import type { MapNode, Pos, SourceNode } from "./source.ts";
import type { Diagnostic } from "./types.ts";
import { valueProblem } from "./value_checks.ts";

/** Values of one section as the walk found them, keyed as in the file. */
export type Raw = Record<string, unknown>;

/** Prefix of top-level keys the validator ignores (documented in docs/config-reference.md). */
export const EXTENSION_PREFIX = "x-";

function describe(node: SourceNode): string {
  if (node.kind === "map") return "a mapping";
  if (node.kind === "seq") return "a list";
  const v = node.value;
  if (v === null) return "nothing (null)";
  if (v instanceof Date) return "a date";
  if (typeof v === "string") return `string ${JSON.stringify(v)}`;
  if (typeof v === "boolean") return `boolean ${v}`;
  return `number ${String(v)}`;
}

/**
 * Walks a source tree along the schema: reports unknown, missing and mistyped keys and bad values at their
 * position, keeps going after each, and returns the raw values that passed (resolution is validate.ts's job).
 */
export class Walker {
  readonly errors: Diagnostic[] = [];
  readonly warnings: Diagnostic[] = [];

  error(path: KeyPath, pos: Pos | undefined, message: string): void {
    this.errors.push({ path, ...pos, message });
  }

  warn(path: KeyPath, pos: Pos | undefined, message: string): void {
    this.warnings.push({ path, ...pos, message });
  }

  /** Treats an absent section or YAML `section:` (null) as empty; anything but a mapping is an error. */
  asMap(
    node: SourceNode | undefined,
    path: KeyPath,
    ownerPos: Pos | undefined,
    what: string,
  ): MapNode | undefined {
    if (node === undefined) return undefined;
    if (node.kind === "scalar" && node.value === null) return { kind: "map", pos: node.pos, entries: [] };
    if (node.kind !== "map") {
      this.error(path, node.pos ?? ownerPos, `${what} must be a mapping, got ${describe(node)}`);
      return undefined;
    }
    return node;
  }

  section(node: SourceNode | undefined, spec: SectionSpec, path: KeyPath, ownerPos: Pos | undefined): Raw {
    const out: Raw = {};
    const what = path.length === 0 ? "the top level" : `"${path[path.length - 1]}"`;
    const map = this.asMap(node, path, ownerPos, what);
    for (const entry of map?.entries ?? []) {
      const childPath = [...path, entry.key];
      const childSpec = spec.fields[entry.key];
      // Top-level `x-…` keys are free-form, as in docker compose: a home for YAML anchors to merge from.
      if (path.length === 0 && entry.key.startsWith(EXTENSION_PREFIX)) continue;
      if (childSpec === undefined) {
        this.error(childPath, entry.keyPos ?? map?.pos, this.unknownKeyMessage(entry.key, spec, path));
        continue;
      }
      const value = this.any(entry.value, childSpec, childPath, entry.keyPos);
      if (value !== undefined) out[entry.key] = value;
    }
    for (const [key, child] of Object.entries(spec.fields)) {
      if (child.kind === "field" && child.required && !(map?.entries ?? []).some((e) => e.key === key)) {
        this.error(
          [...path, key],
          ownerPos ?? map?.pos,
          `missing required key "${key}"${child.nonEmpty ? ` (${child.nonEmpty})` : ""}`,
        );
      }
    }
    return out;
  }

  unknownKeyMessage(key: string, spec: SectionSpec, path: KeyPath): string {
    const where = path.length === 0 ? "at the top level" : `in "${keyPathText(path)}"`;
    let hint = suggest(key, Object.keys(spec.fields));
    if (hint === undefined) {
      // A key that belongs one level down, e.g. `max_delay` written directly in a profile.
      for (const [name, child] of Object.entries(spec.fields)) {
        if (child.kind === "section" && key in child.fields) {
          hint = `${name}.${key}`;
          break;
        }
      }
    }
    return `unknown key "${key}" ${where}${didYouMean(hint)}`;
  }

  any(node: SourceNode, spec: Spec, path: KeyPath, keyPos: Pos | undefined): unknown {
    if (spec.kind === "section") return this.section(node, spec, path, keyPos);
    if (spec.kind === "map") return this.namedMap(node, spec, path, keyPos);
    return this.field(node, spec, path, keyPos);
  }

  namedMap(node: SourceNode, spec: NamedMapSpec, path: KeyPath, keyPos: Pos | undefined): [string, Raw][] {
    const map = this.asMap(node, path, keyPos, `"${keyPathText(path)}"`);
    const out: [string, Raw][] = [];
    for (const entry of map?.entries ?? []) {
      const name = entry.key;
      const childPath = [...path, name];
      if (!PROFILE_NAME_PATTERN.test(name)) {
        const lower = name.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+/, "");
        this.error(
          childPath,
          entry.keyPos,
          `invalid profile name "${name}": use lowercase letters, digits and "-", starting with a letter or digit` +
            (lower && PROFILE_NAME_PATTERN.test(lower) ? ` (e.g. "${lower}")` : ""),
        );
      } else if (name.length > MAX_PROFILE_NAME_LENGTH) {
        this.error(
          childPath,
          entry.keyPos,
          `profile name is longer than ${MAX_PROFILE_NAME_LENGTH} characters`,
        );
      }
      out.push([name, this.section(entry.value, spec.value, childPath, entry.keyPos)]);
    }
    return out;
  }

  field(node: SourceNode, spec: FieldSpec, path: KeyPath, keyPos: Pos | undefined): unknown {
    const pos = node.pos ?? keyPos;
    if (spec.type === "string list") return this.list(node, spec, path, keyPos);
    if (node.kind === "scalar" && node.value === null) {
      this.error(
        path,
        pos,
        spec.default !== undefined
          ? `has no value; give one or remove the key to use the default (${spec.default})`
          : "has no value; give one or remove the key",
      );
      return undefined;
    }
    const v = node.kind === "scalar" ? node.value : undefined;
    switch (spec.type) {
      case "string":
      case "path": {
        if (typeof v !== "string") {
          const quote = typeof v === "number" || typeof v === "boolean" ? ` (quote it: "${String(v)}")` : "";
          this.error(path, pos, `expected a string, got ${describe(node)}${quote}`);
          return undefined;
        }
        if (v.trim() === "") {
          this.error(path, pos, "must not be empty");
          return undefined;
        }
        if (spec.check && !this.itemCheck(v, spec, path, pos)) return undefined;
        return v;
      }
      case "enum": {
        const values = spec.values ?? [];
        if (typeof v !== "string" || !values.includes(v)) {
          const got = typeof v === "string" ? JSON.stringify(v) : describe(node);
          const hint = typeof v === "string" ? suggest(v, values) : undefined;
          this.error(path, pos, `must be one of ${values.join(", ")}; got ${got}${didYouMean(hint)}`);
          return undefined;
        }
        return v;
      }
      case "duration": {
        if (typeof v !== "string") {
          const example = typeof v === "number" ? ` (write "${v}s" or "${v}ms")` : "";
          this.error(
            path,
            pos,
            `expected a duration such as "5s", "500ms" or "1h30m", got ${describe(node)}${example}`,
          );
          return undefined;
        }
        const parsed = tryParseDuration(v);
        if (!parsed.ok) {
          this.error(path, pos, parsed.error);
          return undefined;
        }
        if (parsed.ms <= 0) {
          this.error(path, pos, `must be greater than zero, got "${v}"`);
          return undefined;
        }
        if (parsed.ms > MAX_DURATION_MS) {
          this.error(path, pos, `must be at most ${formatDuration(MAX_DURATION_MS)}, got "${v}"`);
          return undefined;
        }
        return parsed.ms;
      }
      case "integer":
      case "number": {
        const isInt = spec.type === "integer";
        if (typeof v !== "number" || !Number.isFinite(v) || (isInt && !Number.isInteger(v))) {
          this.error(path, pos, `expected ${isInt ? "an integer" : "a number"}, got ${describe(node)}`);
          return undefined;
        }
        if (spec.min !== undefined && spec.max !== undefined && (v < spec.min || v > spec.max)) {
          this.error(path, pos, `must be between ${spec.min} and ${spec.max}, got ${v}`);
          return undefined;
        }
        if (spec.min !== undefined && v < spec.min) {
          this.error(
            path,
            pos,
            `must be at least ${spec.min}, got ${v}${spec.minReason ? ` (${spec.minReason})` : ""}`,
          );
          return undefined;
        }
        if (spec.max !== undefined && v > spec.max) {
          this.error(path, pos, `must be at most ${spec.max}, got ${v}`);
          return undefined;
        }
        return v;
      }
      case "boolean": {
        if (typeof v !== "boolean") {
          this.error(path, pos, `expected true or false, got ${describe(node)}`);
          return undefined;
        }
        return v;
      }
    }
  }

  list(node: SourceNode, spec: FieldSpec, path: KeyPath, keyPos: Pos | undefined): string[] | undefined {
    const pos = node.pos ?? keyPos;
    let items: SourceNode[];
    if (node.kind === "scalar" && node.value === null) items = [];
    else if (node.kind === "seq") items = node.items;
    else {
      const example = node.kind === "scalar" && typeof node.value === "string"
        ? ` (write [${node.value}])`
        : "";
      this.error(path, pos, `expected a list of strings, got ${describe(node)}${example}`);
      return undefined;
    }
    if (items.length === 0 && spec.nonEmpty) {
      this.error(path, pos, `must not be empty (${spec.nonEmpty})`);
      return undefined;
    }
    const out: string[] = [];
    const seen = new Map<string, number>();
    items.forEach((item, i) => {
      const itemPath = [...path, i];
      const itemPos = item.pos ?? pos;
      if (item.kind !== "scalar" || typeof item.value !== "string") {
        const v = item.kind === "scalar" ? item.value : undefined;
        const quote = typeof v === "number" || typeof v === "boolean" ? ` (quote it: "${String(v)}")` : "";
        this.error(itemPath, itemPos, `expected a string, got ${describe(item)}${quote}`);
        return;
      }
      const s = item.value;
      if (s === "" && spec.check !== "label_selector" && spec.check !== "glob") {
        this.error(itemPath, itemPos, "must not be empty");
        return;
      }
      if (spec.values && !spec.values.includes(s)) {
        const hint = didYouMean(suggest(s, spec.values));
        this.error(
          itemPath,
          itemPos,
          `must be one of ${spec.values.join(", ")}; got ${JSON.stringify(s)}${hint}`,
        );
        return;
      }
      if (spec.values && seen.has(s)) {
        this.error(itemPath, itemPos, `"${s}" is listed twice (also item ${seen.get(s)})`);
        return;
      }
      if (spec.check && !this.itemCheck(s, spec, itemPath, itemPos)) {
        return;
      }
      if (spec.check === "namespace" && seen.has(s)) {
        this.error(itemPath, itemPos, `namespace "${s}" is listed twice (also item ${seen.get(s)})`);
        return;
      }
      seen.set(s, i);
      out.push(s);
    });
    if (spec.check === "port_mapping") this.mappingConflicts(items, out, path);
    // With bad items the config is rejected anyway; the good ones still feed cross-profile checks
    // (duplicate context/namespace pairs), so the user sees those problems in the same run.
    return out;
  }

  mappingConflicts(items: SourceNode[], values: string[], path: KeyPath): void {
    if (values.length !== items.length) return; // item errors already reported
    const bySvc = new Map<string, number>();
    const byLocal = new Map<string, number>();
    values.forEach((m, i) => {
      const [svc, local] = m.split(":");
      if (bySvc.has(svc)) {
        this.error(
          [...path, i],
          items[i].pos,
          `service port ${svc} is already mapped by item ${bySvc.get(svc)}`,
        );
      } else if (byLocal.has(local)) {
        this.error(
          [...path, i],
          items[i].pos,
          `local port ${local} is already used by item ${byLocal.get(local)}`,
        );
      }
      bySvc.set(svc, i);
      byLocal.set(local, i);
    });
  }

  /** Returns false (after reporting) when the value fails its semantic check; warnings do not fail. */
  itemCheck(s: string, spec: FieldSpec, path: KeyPath, pos: Pos | undefined): boolean {
    const problem = valueProblem(s, spec, (message) => this.warn(path, pos, message));
    if (problem === undefined) return true;
    this.error(path, pos, problem);
    return false;
  }
}
