/**
 * Secret masking for everything the daemon logs or shows. Daemon logs end up in bug reports and shared
 * terminals, and kubefwd prints its API key, while kubeconfig paths and names leak cluster names
 * (`~/.kube/prod-eu-config`). Masking happens once, where lines enter the log, so neither the file, the
 * ring buffer nor `logs -f` can leak. Rules are regexes over one line of text: cheap enough for every line
 * of child output.
 */

/** What replaces a secret. */
export const MASK = "***";

/** File names that say nothing about a cluster; kept so `config show` and logs stay useful. */
const GENERIC_KUBECONFIG_NAMES = new Set(["config", "kubeconfig", MASK]);

/**
 * Shorten a path for display without revealing the file name: the home directory becomes `~`, the
 * directories stay (they hint where to look), the file name becomes `***` unless it is generic
 * (`config`, `kubeconfig`). Idempotent, so text can be masked twice.
 */
export function maskPath(path: string, home?: string): string {
  if (path === "") return path;
  let shown = path;
  if (home !== undefined && home.length > 1) {
    const base = home.endsWith("/") ? home.slice(0, -1) : home;
    if (shown === base) return "~";
    if (shown.startsWith(base + "/")) shown = "~" + shown.slice(base.length);
  }
  const slash = shown.lastIndexOf("/");
  return shown.slice(0, slash + 1) + maskFileName(shown.slice(slash + 1));
}

/** A kubeconfig file name as the log shows it: generic names (`config`, `kubeconfig`) stay, others are `***`. */
export function maskFileName(name: string): string {
  return name === "" || GENERIC_KUBECONFIG_NAMES.has(name) ? name : MASK;
}

/** Flags whose next argument is a secret (or a kubeconfig path) when not written as `--flag=value`. */
const SECRET_VALUE_FLAGS = new Set([
  "--token",
  "--password",
  "--api-key",
  "--apikey",
  "--client-secret",
  "--secret",
  "--kubeconfig",
  "-c",
]);

/**
 * An argument vector with secrets masked element by element, as {@link maskSecrets} masks a line: a value
 * given as the next element of `--token`, `--password`, `--kubeconfig`, `-c`… is masked too (a path keeps
 * its directories, like {@link maskPath}).
 */
export function maskArgs(args: readonly string[], options: MaskOptions = {}): string[] {
  return args.map((arg, i) => {
    const flag = i > 0 ? args[i - 1] : undefined;
    if (flag !== undefined && SECRET_VALUE_FLAGS.has(flag)) {
      return flag === "--kubeconfig" || flag === "-c" ? maskPath(arg, options.home) : MASK;
    }
    return maskSecrets(arg, options);
  });
}

/** Options of {@link maskSecrets}. */
export interface MaskOptions {
  /** The user's home directory, shown as `~` in masked paths. */
  home?: string;
  /** Known kubeconfig paths (from the config): masked wherever they appear, e.g. in kubefwd errors. */
  kubeconfigs?: readonly string[];
}

type Rule = [RegExp, (match: string, ...groups: string[]) => string];

/** A path-like token: starts with `/`, `~/`, `./` or `../`; stops at whitespace, quotes and separators. */
const PATH = String.raw`(?:~|\.{1,2})?\/[^\s"'\x60,;:()\[\]{}]*`;

const SECRET_RULES: Rule[] = [
  // PEM blocks (a whole block on one line, as in JSON-escaped or joined output).
  [
    /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g,
    (_m, kind) => `-----BEGIN ${kind}----- ${MASK} -----END ${kind}-----`,
  ],
  // URL credentials: scheme://user:password@host
  [/(?<![a-z0-9+.-])([a-z][a-z0-9+.-]{0,30}:\/\/[^\s:/@]+:)[^\s@/]+@/gi, (_m, head) => `${head}${MASK}@`],
  // HTTP authorization schemes.
  [/\b(Bearer|Basic)(\s+)[A-Za-z0-9\-._~+/]+=*/g, (_m, scheme, space) => `${scheme}${space}${MASK}`],
  // kubefwd's generated API key.
  [/(API key \(generated\):\s*)\S+/gi, (_m, head) => `${head}${MASK}`],
  // Environment-style assignments of secrets: KUBEFWD_API_KEY=…, AWS_SECRET_ACCESS_KEY=…, GITHUB_TOKEN=…
  [
    /\b([A-Za-z][A-Za-z0-9_]*(?:TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|ACCESS_KEY|PRIVATE_KEY|CREDENTIALS?)[A-Za-z0-9_]*)=("[^"]*"|'[^']*'|[^\s&]+)/gi,
    (_m, name) => `${name}=${MASK}`,
  ],
  // Command-line flags with a secret value: --token=x, --token x, --password x, --api-key x
  [
    /(--(?:token|password|api-key|apikey|client-secret|secret)(?:=|\s+))("[^"]*"|'[^']*'|\S+)/gi,
    (_m, flag) => `${flag}${MASK}`,
  ],
  // key: value / "key":"value" / key=value for kubeconfig credentials and generic token fields.
  [
    /\b((?:client-key-data|client-certificate-data|certificate-authority-data|id-token|refresh-token|access-token|access_token|refresh_token|id_token|token|password|secret|client-secret|client_secret)["']?\s*[:=]\s*)("[^"]*"|'[^']*'|[^\s"',}&]+)/gi,
    (_m, head, value) => {
      const quote = value.startsWith('"') || value.startsWith("'") ? value[0] : "";
      return `${head}${quote}${MASK}${quote}`;
    },
  ],
  // JWTs (service-account tokens, OIDC id tokens) wherever they appear.
  [/\beyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*/g, () => `eyJ${MASK}`],
  // Long base64 runs (PEM bodies, key data) that carry upper case, lower case and digits.
  [
    /(?<![A-Za-z0-9+/=])(?=[A-Za-z0-9+/]*[A-Z])(?=[A-Za-z0-9+/]*[a-z])(?=[A-Za-z0-9+/]*[0-9])[A-Za-z0-9+/]{60,}={0,2}(?![A-Za-z0-9+/=])/g,
    () => MASK,
  ],
];

function quoted(value: string): [string, string, string] {
  const q = value[0];
  if ((q === '"' || q === "'") && value.length >= 2 && value.endsWith(q)) return [q, value.slice(1, -1), q];
  return ["", value, ""];
}

function pathRules(home: string | undefined): Rule[] {
  const mp = (p: string) => maskPath(p, home);
  return [
    // kubefwd / kubectl flags: --kubeconfig PATH, --kubeconfig=PATH, and -c PATH (`-c` only with a path:
    // it means other things elsewhere, as in `sh -c`).
    [
      new RegExp(String.raw`(^|\s)(-c|--kubeconfig)(=|\s+)("[^"]*\/[^"]*"|'[^']*\/[^']*'|\S*\/\S*)`, "g"),
      (_m, lead, flag, sep, value) => {
        const [open, inner, close] = quoted(value);
        return `${lead}${flag}${sep}${open}${mp(inner)}${close}`;
      },
    ],
    [
      new RegExp(String.raw`(^|\s)(--kubeconfig)(=|\s+)("[^"]*"|'[^']*'|[^\s/]+)(?=\s|$)`, "g"),
      (_m, lead, flag, sep, value) => {
        const [open, inner, close] = quoted(value);
        return `${lead}${flag}${sep}${open}${mp(inner)}${close}`;
      },
    ],
    // KUBECONFIG=a:b
    [
      /\b(KUBECONFIG=)("[^"]*"|'[^']*'|\S+)/g,
      (_m, head, value) => {
        const [open, inner, close] = quoted(value);
        return `${head}${open}${inner.split(":").map(mp).join(":")}${close}`;
      },
    ],
    // kubeconfig: PATH / "kubeconfig":"PATH"
    [
      /\b(kubeconfig["']?\s*[:=]\s*)("[^"]*"|'[^']*'|[^\s,}]+)/gi,
      (_m, head, value) => {
        const [open, inner, close] = quoted(value);
        return `${head}${open}${mp(inner)}${close}`;
      },
    ],
    // Any path inside a .kube directory or with "kubeconfig" in its file name.
    [
      new RegExp(String.raw`(?<![\w~.\/-])${PATH}`, "g"),
      (m) => /\/\.kube\/|kubeconfig[^/]*$/i.test(m) ? mp(m) : m,
    ],
  ];
}

const pathRuleCache = new Map<string, Rule[]>();

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Mask secrets and kubeconfig locations in one line (or a few) of log text: bearer/basic credentials,
 * `token:`/`--token=`/`*_TOKEN=` values, `KUBEFWD_API_KEY=…`, kubefwd's `API key (generated): <hex>`,
 * JWTs, PEM blocks and long base64 key data, URL passwords, and kubeconfig paths (`-c`, `--kubeconfig`,
 * `KUBECONFIG=`, anything under `.kube/`, and the `kubeconfigs` given).
 */
export function maskSecrets(text: string, options: MaskOptions = {}): string {
  let out = text;
  for (const [pattern, replace] of SECRET_RULES) out = out.replace(pattern, replace);
  for (const path of options.kubeconfigs ?? []) {
    if (path.length > 1 && out.includes(path)) {
      out = out.replace(new RegExp(`${escapeRegExp(path)}(?![\\w.-])`, "g"), maskPath(path, options.home));
    }
  }
  const key = options.home ?? "";
  let rules = pathRuleCache.get(key);
  if (rules === undefined) {
    if (pathRuleCache.size > 8) pathRuleCache.clear();
    rules = pathRules(options.home);
    pathRuleCache.set(key, rules);
  }
  for (const [pattern, replace] of rules) out = out.replace(pattern, replace);
  return out;
}
