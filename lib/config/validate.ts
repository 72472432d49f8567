/**
 * Schema walk and semantic checks over a parsed {@link SourceNode} tree, producing the resolved config
 * and every problem at once (each with a key path and a position).
 *
 * Hand-written rather than zod: the walker knows the node it is looking at, so every diagnostic points
 * at the exact key or value (including TOML, where zod issue paths would have to be mapped back), and
 * it keeps going after a problem so the user sees all of them in one run.
 *
 * Checks that need the outside world (kubeconfig contents, file modes) are separate functions that
 * load.ts calls; everything here is pure.
 */
import { forbiddenFlagMessage } from "../kubefwd/argv.ts";
import { didYouMean, suggest } from "./did_you_mean.ts";
import { keyPathText } from "./format.ts";
import { formatDuration, tryParseDuration } from "./duration.ts";
import { checkGlob, impossibleServiceChars } from "./glob.ts";
import { type EnvLike, MAX_SOCKET_PATH_BYTES, resolvePath } from "./paths.ts";
import { isLoopback, parseListenAddress } from "./listen_address.ts";
import { defaultDaemonSettings } from "./paths.ts";
import {
  CONFIG_SCHEMA,
  type FieldSpec,
  MAX_DURATION_MS,
  MAX_PROFILE_NAME_LENGTH,
  type NamedMapSpec,
  PROFILE_NAME_PATTERN,
  type SectionSpec,
  type Spec,
} from "./schema.ts";
import { checkLabelSelector, isDnsLabel, isDnsSubdomain } from "./selector.ts";
import type { MapNode, Pos, SourceNode } from "./source.ts";
import { dirname } from "../util/path.ts";
import {
  DEFAULT_FORWARD_FAILURES,
  DEFAULT_HEALTH,
  DEFAULT_RETRY,
  defaultKubefwdSettings,
  defaultNotifications,
} from "./defaults.ts";
import type {
  DaemonSettings,
  Diagnostic,
  ForwardFailurePolicy,
  HealthPolicy,
  KubefwdSettings,
  NotificationSettings,
  ProfileSpec,
  ResolvedConfig,
  RetryPolicy,
} from "./types.ts";

/** A key path as in {@link Diagnostic.path}. */
export type KeyPath = (string | number)[];

/** Inputs of {@link validateTree}. */
export interface ValidateOptions {
  /** Absolute path of the config file: relative paths inside it are resolved against its directory. */
  file: string;
  /** Environment for `~` and XDG defaults (tests pass a plain object). */
  env: EnvLike;
  /** The user's home directory, for `~` expansion. */
  home: string;
}

/** Outcome of the pure validation. `config` is complete even with errors (bad values fall back to defaults). */
export interface Validation {
  /** The tree that was validated, for callers that locate keys afterwards. */
  root: SourceNode;
  /** The resolved config; complete even with errors (bad values fall back to defaults). */
  config: ResolvedConfig;
  /** Every error found. */
  errors: Diagnostic[];
  /** Every warning found. */
  warnings: Diagnostic[];
  /** Profiles whose `kubeconfig` key is written in the file (otherwise the default applies). */
  explicitKubeconfig: Set<string>;
}

// ------------------------------------------------------------------------------------------ locating

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

// ------------------------------------------------------------------------------------------ helpers

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

/** Flags the daemon derives from profile keys; passing them again via extra_args fights the daemon. */
const MANAGED_FLAGS: Readonly<Record<string, string>> = {
  "-n": "namespaces",
  "--namespace": "namespaces",
  "-A": "namespaces",
  "--all-namespaces": "namespaces",
  "-x": "context",
  "--context": "context",
  "-c": "kubeconfig",
  "--kubeconfig": "kubeconfig",
  "-l": "labels",
  "--selector": "labels",
  "-d": "domain",
  "--domain": "domain",
  "-m": "mapping",
  "--mapping": "mapping",
  "--hosts-path": "kubefwd.hosts_path",
};

const RETRY_KEYS: Record<keyof RetryPolicy, string> = {
  initialDelayMs: "initial_delay",
  maxDelayMs: "max_delay",
  multiplier: "multiplier",
  maxAttempts: "max_attempts",
  jitter: "jitter",
  resetAfterMs: "reset_after",
};
const NOTIFICATION_KEYS: Record<keyof NotificationSettings, string> = {
  enabled: "enabled",
  on: "on",
  minIntervalMs: "min_interval",
};
const HEALTH_KEYS: Record<keyof HealthPolicy, string> = {
  intervalMs: "interval",
  timeoutMs: "timeout",
  failureThreshold: "failure_threshold",
  http: "http",
  tcp: "tcp",
};
const FORWARD_FAILURE_KEYS: Record<keyof ForwardFailurePolicy, string> = {
  maxFailures: "max_failures",
  windowMs: "window",
  debounceMs: "debounce",
};

type Raw = Record<string, unknown>;

/** Prefix of top-level keys the validator ignores (documented in docs/config-reference.md). */
export const EXTENSION_PREFIX = "x-";

function merge<T extends object>(base: Readonly<T>, raw: Raw | undefined, keys: Record<keyof T, string>): T {
  const out = { ...base } as T;
  if (!raw) return out;
  for (const [camel, snake] of Object.entries(keys) as [keyof T, string][]) {
    if (raw[snake] !== undefined) out[camel] = raw[snake] as T[keyof T];
  }
  return out;
}

// ------------------------------------------------------------------------------------------ walker

class Walker {
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
    const problem = this.itemProblem(s, spec, path, pos);
    if (problem === undefined) return true;
    this.error(path, pos, problem);
    return false;
  }

  /** Why the value fails its semantic check, or undefined; warnings are reported here. */
  itemProblem(s: string, spec: FieldSpec, path: KeyPath, pos: Pos | undefined): string | undefined {
    const quoted = JSON.stringify(s);
    switch (spec.check) {
      case "label_selector": {
        const err = checkLabelSelector(s);
        if (!err) return undefined;
        return `invalid label selector ${quoted}: ${err.message} (at character ${err.index + 1})`;
      }
      case "forward_pattern": {
        const colon = s.lastIndexOf(":");
        for (const part of colon < 0 ? [s] : [s.slice(0, colon), s.slice(colon + 1)]) {
          const err = part === "" ? undefined : checkGlob(part);
          if (err) return `invalid pattern ${quoted}: ${err.message} in ${JSON.stringify(part)}`;
        }
        return s === ":" ? `invalid pattern ${quoted}: expected SERVICE, SERVICE:PORT or :PORT` : undefined;
      }
      case "glob": {
        const err = checkGlob(s);
        if (err) {
          return `invalid glob pattern ${quoted}: ${err.message} (at character ${err.index + 1})`;
        }
        const bad = impossibleServiceChars(s);
        if (bad.length > 0) {
          this.warn(
            path,
            pos,
            `pattern ${quoted} can never match: service names contain only lowercase letters, digits and "-" ` +
              `(found ${bad.map((c) => JSON.stringify(c)).join(", ")})`,
          );
        }
        return undefined;
      }
      case "port_mapping": {
        const m = /^(\d{1,5}):(\d{1,5})$/.exec(s.trim());
        if (!m) {
          return `invalid mapping ${quoted}: expected "svcPort:localPort" such as "80:8080"` +
            (s.includes(":") ? "" : ' (kubefwd silently ignores entries without ":")');
        }
        for (const port of [m[1], m[2]]) {
          const n = Number(port);
          if (n < 1 || n > 65535) return `invalid mapping ${quoted}: port ${port} is outside 1-65535`;
        }
        return undefined;
      }
      case "namespace":
        if (isDnsLabel(s)) return undefined;
        return `invalid namespace name ${quoted}: use at most 63 lowercase letters, digits and "-", ` +
          "starting and ending with a letter or digit";
      case "dns_subdomain":
        if (isDnsSubdomain(s)) return undefined;
        return `invalid domain ${quoted}: use lowercase DNS labels separated by dots, e.g. "local" or "dev.example"`;
      case "kubefwd_args": {
        // The same rule the launch applies: what the daemon would refuse at run time is an error now.
        const forbidden = forbiddenFlagMessage([s]);
        if (forbidden) return forbidden;
        const flag = s.split("=")[0];
        const owner = MANAGED_FLAGS[flag];
        if (owner) {
          this.warn(path, pos, `${flag} is set by the daemon from "${owner}"; passing it again may conflict`);
        }
        return undefined;
      }
      case "listen_address": {
        const parsed = parseListenAddress(s);
        return "error" in parsed ? `invalid listen address: ${parsed.error}` : undefined;
      }
      case undefined:
        return undefined;
    }
  }
}

// ------------------------------------------------------------------------------------------ resolve

/**
 * Validates the tree against the schema and resolves it: defaults merged field by field, durations
 * in ms, paths absolute. Reports every problem found; never throws on bad input.
 */
export function validateTree(root: SourceNode, opts: ValidateOptions): Validation {
  const w = new Walker();
  const raw = w.section(root, CONFIG_SCHEMA, [], root.pos);
  const baseDir = dirname(opts.file);
  const abs = (p: string) => resolvePath(p, baseDir, opts.home);

  const rawDaemon = (raw.daemon ?? {}) as Raw;
  const daemonDefaults = defaultDaemonSettings(opts.env, opts.home);
  const daemon: DaemonSettings = {
    logLevel: (rawDaemon.log_level as DaemonSettings["logLevel"]) ?? daemonDefaults.logLevel,
    logFile: rawDaemon.log_file ? abs(rawDaemon.log_file as string) : daemonDefaults.logFile,
    pidFile: rawDaemon.pid_file ? abs(rawDaemon.pid_file as string) : daemonDefaults.pidFile,
    socketPath: rawDaemon.socket_path ? abs(rawDaemon.socket_path as string) : daemonDefaults.socketPath,
    stateDir: rawDaemon.state_dir ? abs(rawDaemon.state_dir as string) : daemonDefaults.stateDir,
    notifications: merge(defaultNotifications(), rawDaemon.notifications as Raw, NOTIFICATION_KEYS),
  };
  const rawMetrics = (rawDaemon.metrics ?? {}) as Raw;
  if (typeof rawMetrics.listen === "string") {
    const listen = parseListenAddress(rawMetrics.listen);
    if (!("error" in listen)) {
      daemon.metrics = listen;
      if (!isLoopback(listen.hostname) && rawMetrics.allow_non_loopback !== true) {
        w.error(
          ["daemon", "metrics", "listen"],
          valuePosition(root, ["daemon", "metrics", "listen"]),
          `${listen.hostname} is not a loopback address, and the endpoint has no authentication: whoever reaches ` +
            "it reads profile, namespace and service names; to allow that, set daemon.metrics.allow_non_loopback: true",
        );
      }
    }
  }
  const socketBytes = new TextEncoder().encode(daemon.socketPath).length;
  if (socketBytes > MAX_SOCKET_PATH_BYTES) {
    const message =
      `socket path ${daemon.socketPath} is ${socketBytes} bytes long; Unix sockets allow at most ` +
      `${MAX_SOCKET_PATH_BYTES}`;
    if (rawDaemon.socket_path) {
      w.error(["daemon", "socket_path"], valuePosition(root, ["daemon", "socket_path"]), message);
    } else {w.warn(
        ["daemon", "socket_path"],
        undefined,
        `${message} (set daemon.socket_path to a shorter path)`,
      );}
  }

  const rawKubefwd = (raw.kubefwd ?? {}) as Raw;
  const kfDefaults = defaultKubefwdSettings();
  const kfPath = rawKubefwd.path as string | undefined;
  const kubefwd: KubefwdSettings = {
    path: kfPath === undefined
      ? kfDefaults.path
      : kfPath.includes("/") || kfPath.startsWith("~")
      ? abs(kfPath)
      : kfPath,
    privilege: (rawKubefwd.privilege as KubefwdSettings["privilege"]) ?? kfDefaults.privilege,
    extraArgs: (rawKubefwd.extra_args as string[]) ?? kfDefaults.extraArgs,
    hostsPath: rawKubefwd.hosts_path ? abs(rawKubefwd.hosts_path as string) : kfDefaults.hostsPath,
    stopTimeoutMs: (rawKubefwd.stop_timeout as number) ?? kfDefaults.stopTimeoutMs,
  };

  const rawDefaults = (raw.defaults ?? {}) as Raw;
  const baseRetry = merge(DEFAULT_RETRY, rawDefaults.retry as Raw, RETRY_KEYS);
  const baseHealth = merge(DEFAULT_HEALTH, rawDefaults.health as Raw, HEALTH_KEYS);
  const baseForward = merge(
    DEFAULT_FORWARD_FAILURES,
    rawDefaults.forward_failures as Raw,
    FORWARD_FAILURE_KEYS,
  );
  checkPolicies(w, root, ["defaults"], rawDefaults, baseRetry, baseHealth, () => "is the built-in default");

  const explicitKubeconfig = new Set<string>();
  const profiles: ProfileSpec[] = [];
  const rawProfiles = (raw.profiles ?? []) as [string, Raw][];
  for (const [name, p] of rawProfiles) {
    if (p.kubeconfig !== undefined) explicitKubeconfig.add(name);
    const retry = merge(baseRetry, p.retry as Raw, RETRY_KEYS);
    const health = merge(baseHealth, p.health as Raw, HEALTH_KEYS);
    const inherited = (key: string) =>
      ((rawDefaults.retry ?? {}) as Raw)[key] !== undefined
        ? "comes from defaults.retry"
        : "is the built-in default";
    checkPolicies(w, root, ["profiles", name], p, retry, health, inherited);
    profiles.push({
      name,
      enabled: (p.enabled as boolean) ?? true,
      kubeconfig: abs((p.kubeconfig as string) ?? "~/.kube/config"),
      ...(p.context !== undefined ? { context: p.context as string } : {}),
      allowEmpty: (p.allow_empty as boolean) ?? false,
      namespaces: (p.namespaces as string[]) ?? [],
      labels: (p.labels as string[]) ?? [],
      excludeServices: (p.exclude_services as string[]) ?? [],
      ...(p.domain !== undefined ? { domain: p.domain as string } : {}),
      mappings: (p.mapping as string[]) ?? [],
      extraArgs: (p.extra_args as string[]) ?? [],
      retry,
      health,
      forwardFailures: merge(baseForward, p.forward_failures as Raw, FORWARD_FAILURE_KEYS),
    });
  }
  if (rawProfiles.length === 0 && w.errors.length === 0) {
    w.warn(
      ["profiles"],
      keyPosition(root, ["profiles"]),
      "no profiles defined; the daemon will have nothing to run",
    );
  }

  const config: ResolvedConfig = { path: opts.file, daemon, kubefwd, profiles };
  return { root, config, errors: w.errors, warnings: w.warnings, explicitKubeconfig };
}

/**
 * Cross-field checks of merged policies at one level (`defaults` or a profile). A profile is checked
 * only when it sets one of the fields itself; otherwise the `defaults` check already covers it, and
 * repeating it per profile would bury the one real mistake under copies.
 */
function checkPolicies(
  w: Walker,
  root: SourceNode,
  owner: KeyPath,
  raw: Raw,
  retry: RetryPolicy,
  health: HealthPolicy,
  inherited: (key: string) => string,
): void {
  const rawRetry = (raw.retry ?? {}) as Raw;
  if (
    (rawRetry.initial_delay !== undefined || rawRetry.max_delay !== undefined) &&
    retry.initialDelayMs > retry.maxDelayMs
  ) {
    const key = rawRetry.initial_delay !== undefined ? "initial_delay" : "max_delay";
    const note = rawRetry.initial_delay === undefined
      ? ` (initial_delay ${inherited("initial_delay")})`
      : rawRetry.max_delay === undefined
      ? ` (max_delay ${inherited("max_delay")})`
      : "";
    const path = [...owner, "retry", key];
    w.error(
      path,
      valuePosition(root, path),
      `initial_delay (${formatDuration(retry.initialDelayMs)}) is greater than max_delay ` +
        `(${formatDuration(retry.maxDelayMs)})${note}`,
    );
  }
  const rawHealth = (raw.health ?? {}) as Raw;
  if (
    (rawHealth.timeout !== undefined || rawHealth.interval !== undefined) &&
    health.timeoutMs > health.intervalMs
  ) {
    const key = rawHealth.timeout !== undefined ? "timeout" : "interval";
    const path = [...owner, "health", key];
    w.warn(
      path,
      valuePosition(root, path),
      `probe timeout (${formatDuration(health.timeoutMs)}) is longer than the interval ` +
        `(${formatDuration(health.intervalMs)}); probes will overlap`,
    );
  }
}
