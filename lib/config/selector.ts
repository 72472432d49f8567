/**
 * Kubernetes label-selector syntax check, following apimachinery's `labels.Parse` grammar, so that a
 * selector kubefwd would reject (and kubefwd then exits at start-up) is caught by `config validate`.
 *
 *   selector    := requirement ( "," requirement )*
 *   requirement := "!" key | key | key ("=" | "==" | "!=") value | key ("in" | "notin") "(" values ")"
 *                | key (">" | "<") integer
 *   key         := [ dns-subdomain "/" ] name          name: <= 63 chars, [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?
 *   value       := "" | <= 63 chars of the same alphabet as name
 *
 * Dependency-free: the daemon may import it.
 */

/** A syntax problem: the message and the 0-based character index where it was found. */
export interface SelectorError {
  /** What is wrong with the selector. */
  message: string;
  /** Where in the selector, so the diagnostic can point at the character. */
  index: number;
}

type TokKind = "ident" | "=" | "==" | "!=" | "!" | "(" | ")" | "," | "<" | ">" | "in" | "notin" | "end";
interface Token {
  kind: TokKind;
  text: string;
  index: number;
}

const SPECIAL = new Set(["=", "!", "(", ")", ",", "<", ">"]);
const WS = /\s/;

function tokenize(input: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i];
    if (WS.test(c)) {
      i++;
      continue;
    }
    if (c === "=" && input[i + 1] === "=") {
      out.push({ kind: "==", text: "==", index: i });
      i += 2;
    } else if (c === "!" && input[i + 1] === "=") {
      out.push({ kind: "!=", text: "!=", index: i });
      i += 2;
    } else if (SPECIAL.has(c)) {
      out.push({ kind: c as TokKind, text: c, index: i });
      i++;
    } else {
      const start = i;
      while (i < input.length && !SPECIAL.has(input[i]) && !WS.test(input[i])) i++;
      const text = input.slice(start, i);
      const kind: TokKind = text === "in" ? "in" : text === "notin" ? "notin" : "ident";
      out.push({ kind, text, index: start });
    }
  }
  out.push({ kind: "end", text: "", index: input.length });
  return out;
}

const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS_SUBDOMAIN = new RegExp(`^${DNS_LABEL}(\\.${DNS_LABEL})*$`);

/** Why `key` is not a valid label key, or undefined when it is. */
export function labelKeyProblem(key: string): string | undefined {
  const parts = key.split("/");
  if (parts.length > 2) return `label key "${key}" has more than one "/"`;
  const name = parts.length === 2 ? parts[1] : parts[0];
  if (parts.length === 2) {
    const prefix = parts[0];
    if (prefix === "") return `label key "${key}" has an empty prefix before "/"`;
    if (prefix.length > 253) return `label key prefix "${prefix}" is longer than 253 characters`;
    if (!DNS_SUBDOMAIN.test(prefix)) {
      return `label key prefix "${prefix}" must be a lowercase DNS subdomain (e.g. "app.kubernetes.io")`;
    }
  }
  if (name === "") return `label key "${key}" has an empty name`;
  if (name.length > 63) return `label key name "${name}" is longer than 63 characters`;
  if (!NAME.test(name)) {
    return `label key name "${name}" must consist of letters, digits, "-", "_" or "." and start and end with a letter or digit`;
  }
  return undefined;
}

/** Why `value` is not a valid label value, or undefined when it is (the empty value is valid). */
export function labelValueProblem(value: string): string | undefined {
  if (value === "") return undefined;
  if (value.length > 63) return `label value "${value}" is longer than 63 characters`;
  if (!NAME.test(value)) {
    return `label value "${value}" must consist of letters, digits, "-", "_" or "." and start and end with a letter or digit`;
  }
  return undefined;
}

/** Is `s` a lowercase RFC 1123 subdomain (used for `domain`)? Exported for the validator. */
export function isDnsSubdomain(s: string): boolean {
  return s.length <= 253 && DNS_SUBDOMAIN.test(s);
}

/** Is `s` a lowercase RFC 1123 label (namespace names)? */
export function isDnsLabel(s: string): boolean {
  return s.length <= 63 && new RegExp(`^${DNS_LABEL}$`).test(s);
}

class Parser {
  #pos = 0;
  constructor(private readonly tokens: Token[]) {}

  peek(): Token {
    return this.tokens[this.#pos];
  }
  next(): Token {
    return this.tokens[this.#pos++];
  }
}

function fail(message: string, index: number): never {
  throw { message, index } satisfies SelectorError;
}

function describe(t: Token): string {
  return t.kind === "end" ? "end of selector" : `"${t.text}"`;
}

function parseKey(p: Parser): void {
  const t = p.next();
  if (t.kind !== "ident") {
    fail(`expected a label key, found ${describe(t)}`, t.index);
  }
  const problem = labelKeyProblem(t.text);
  if (problem) fail(problem, t.index);
}

function parseRequirement(p: Parser): void {
  if (p.peek().kind === "!") {
    p.next();
    parseKey(p);
    return;
  }
  parseKey(p);
  const op = p.peek();
  switch (op.kind) {
    case "end":
    case ",":
      return; // existence test
    case "=":
    case "==":
    case "!=": {
      p.next();
      const v = p.peek();
      if (v.kind === "end" || v.kind === ",") return; // empty value is legal
      if (v.kind !== "ident" && v.kind !== "in" && v.kind !== "notin") {
        fail(`expected a label value after "${op.text}", found ${describe(v)}`, v.index);
      }
      p.next();
      const problem = labelValueProblem(v.text);
      if (problem) fail(problem, v.index);
      return;
    }
    case "<":
    case ">": {
      p.next();
      const v = p.next();
      if (v.kind !== "ident" || !/^-?\d+$/.test(v.text)) {
        fail(`"${op.text}" needs an integer value, found ${describe(v)}`, v.index);
      }
      return;
    }
    case "in":
    case "notin": {
      p.next();
      const open = p.next();
      if (open.kind !== "(") fail(`expected "(" after "${op.text}", found ${describe(open)}`, open.index);
      for (;;) {
        const v = p.peek();
        if (v.kind === ")") {
          p.next();
          return;
        }
        if (v.kind === ",") {
          p.next(); // empty member, as apimachinery allows
          continue;
        }
        if (v.kind !== "ident" && v.kind !== "in" && v.kind !== "notin") {
          fail(`expected a value or ")" in "${op.text} (…)", found ${describe(v)}`, v.index);
        }
        p.next();
        const problem = labelValueProblem(v.text);
        if (problem) fail(problem, v.index);
        const after = p.peek();
        if (after.kind === ",") p.next();
        else if (after.kind !== ")") {
          fail(`expected "," or ")" in "${op.text} (…)", found ${describe(after)}`, after.index);
        }
      }
    }
    default:
      fail(
        `expected an operator (=, ==, !=, in, notin, <, >) or "," after the key, found ${describe(op)}`,
        op.index,
      );
  }
}

/**
 * Checks one selector string (which may hold several comma-separated requirements). Returns the first
 * problem, or undefined when kubefwd/the API server would accept it. An empty selector is refused: in
 * a config list it can only be a mistake.
 */
export function checkLabelSelector(selector: string): SelectorError | undefined {
  const tokens = tokenize(selector);
  if (tokens.length === 1) return { message: "empty label selector", index: 0 };
  const p = new Parser(tokens);
  try {
    for (;;) {
      parseRequirement(p);
      const t = p.next();
      if (t.kind === "end") return undefined;
      if (t.kind !== ",") fail(`expected "," between requirements, found ${describe(t)}`, t.index);
      if (p.peek().kind === "end") fail(`expected a requirement after ","`, p.peek().index);
    }
  } catch (e) {
    if (e && typeof e === "object" && "message" in e && "index" in e) return e as SelectorError;
    throw e;
  }
}
