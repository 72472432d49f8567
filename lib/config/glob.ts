/**
 * Glob patterns for `exclude_services`: `*`, `?`, `[abc]`, `[a-z]`, `[!x]` (also `[^x]`); every other
 * character, backslash included, is literal (service names are DNS labels: nothing needs escaping).
 * Validation and matching live together so that what validates is exactly what matches; on every
 * pattern this validator accepts, lib/kubefwd/exclude.ts's matcher agrees too. Dependency-free.
 */

/** A syntax problem with its 0-based character index. */
export interface GlobError {
  /** What is wrong with the pattern. */
  message: string;
  /** Where in the pattern, so the diagnostic can point at the character. */
  index: number;
}

type Part =
  | { kind: "literal"; char: string; index: number }
  | { kind: "any" }
  | { kind: "one" }
  | { kind: "class"; negated: boolean; items: (string | [string, string])[] };

function parse(pattern: string): { parts: Part[] } | { error: GlobError } {
  if (pattern === "") return { error: { message: "empty pattern", index: 0 } };
  const parts: Part[] = [];
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i];
    if (c === "*") {
      parts.push({ kind: "any" });
      i++;
    } else if (c === "?") {
      parts.push({ kind: "one" });
      i++;
    } else if (c === "[") {
      const open = i;
      i++;
      let negated = false;
      if (pattern[i] === "!" || pattern[i] === "^") {
        negated = true;
        i++;
      }
      const items: (string | [string, string])[] = [];
      let closed = false;
      while (i < pattern.length) {
        const ch = pattern[i];
        if (ch === "]") {
          closed = true;
          i++;
          break;
        }
        if (pattern[i + 1] === "-" && i + 2 < pattern.length && pattern[i + 2] !== "]") {
          const hi = pattern[i + 2];
          if (hi < ch) {
            return { error: { message: `reversed range "${ch}-${hi}" in character class`, index: i } };
          }
          items.push([ch, hi]);
          i += 3;
        } else {
          items.push(ch);
          i++;
        }
      }
      if (!closed) {
        return {
          error: { message: 'unterminated "[" (character class never closed with "]")', index: open },
        };
      }
      if (items.length === 0) return { error: { message: 'empty character class "[]"', index: open } };
      parts.push({ kind: "class", negated, items });
    } else {
      parts.push({ kind: "literal", char: c, index: i });
      i++;
    }
  }
  return { parts };
}

/** The first syntax problem of `pattern`, or undefined when it is a valid glob. */
export function checkGlob(pattern: string): GlobError | undefined {
  const r = parse(pattern);
  return "error" in r ? r.error : undefined;
}

const SERVICE_NAME_CHAR = /[a-z0-9-]/;

/**
 * Literal characters that can never occur in a Kubernetes service name (a lowercase DNS label), so a
 * pattern containing them can never match: worth a warning, since the exclusion then silently fails.
 */
export function impossibleServiceChars(pattern: string): string[] {
  const r = parse(pattern);
  if ("error" in r) return [];
  const bad = new Set<string>();
  for (const p of r.parts) if (p.kind === "literal" && !SERVICE_NAME_CHAR.test(p.char)) bad.add(p.char);
  return [...bad];
}

function escapeRe(ch: string): string {
  return ch.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&");
}

/** Compiles a valid glob to an anchored RegExp. Throws on syntax errors (validate first). */
export function globToRegExp(pattern: string): RegExp {
  const r = parse(pattern);
  if ("error" in r) throw new Error(`invalid glob "${pattern}": ${r.error.message}`);
  let src = "^";
  for (const p of r.parts) {
    if (p.kind === "literal") src += escapeRe(p.char);
    else if (p.kind === "any") src += ".*";
    else if (p.kind === "one") src += ".";
    else {
      const body = p.items.map((it) =>
        typeof it === "string" ? escapeRe(it) : `${escapeRe(it[0])}-${escapeRe(it[1])}`
      )
        .join("");
      src += `[${p.negated ? "^" : ""}${body}]`;
    }
  }
  return new RegExp(src + "$", "s");
}

/** True when `name` matches `pattern` (the whole name, not a substring). */
export function globMatch(pattern: string, name: string): boolean {
  return globToRegExp(pattern).test(name);
}
