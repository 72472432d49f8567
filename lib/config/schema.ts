/**
 * The config file's schema as data: every key, its type, default and meaning.
 *
 * One table drives three things so they cannot drift apart: the validator (which keys exist, what
 * type each has, did-you-mean candidates), the starter config, and the test that keeps
 * docs/config-reference.md in sync. Semantic checks that need code (label selectors, globs, port
 * mappings) are named here by {@link ItemCheck} and implemented in validate.ts.
 */

/** Scalar and list types a key can have. `path` is a string that gets `~`-expanded and made absolute. */
export type FieldType =
  | "string"
  | "path"
  | "enum"
  | "duration"
  | "integer"
  | "number"
  | "boolean"
  | "string list";

/** Extra per-value checks, applied to a scalar or to each item of a list. */
export type ItemCheck =
  | "label_selector"
  | "glob"
  | "port_mapping"
  | "namespace"
  | "dns_subdomain"
  | "kubefwd_args"
  | "listen_address"
  | "forward_pattern";

/** One leaf key. */
export interface FieldSpec {
  /** Discriminant: a leaf key. */
  kind: "field";
  /** Value type the validator enforces. */
  type: FieldType;
  /** One or two sentences for the reference docs. */
  doc: string;
  /** How the default is shown in docs and the starter file; absent = no default (optional or required). */
  default?: string;
  /** A missing required key is an error rather than a default. */
  required?: boolean;
  /** Allowed values of an `enum`, or of each item of a `string list`. */
  values?: readonly string[];
  /** Inclusive bounds of `integer`/`number`. */
  min?: number;
  /** Inclusive upper bound of `integer`/`number`. */
  max?: number;
  /** Why `min` matters, appended to the "must be at least" message. */
  minReason?: string;
  /** Semantic check beyond the type, implemented in validate.ts. */
  check?: ItemCheck;
  /** A list that must not be empty, and why. */
  nonEmpty?: string;
}

/** A nested mapping with fixed keys. */
export interface SectionSpec {
  /** Discriminant: a nested mapping with fixed keys. */
  kind: "section";
  /** One or two sentences for the reference docs. */
  doc: string;
  /** The section's keys; anything else is an unknown-key error. */
  fields: Readonly<Record<string, Spec>>;
}

/** A mapping from user-chosen names to sections (the `profiles` map). */
export interface NamedMapSpec {
  /** Discriminant: a mapping from user-chosen names. */
  kind: "map";
  /** One or two sentences for the reference docs. */
  doc: string;
  /** Placeholder used for the name in key paths of the docs, e.g. `<name>`. */
  placeholder: string;
  /** The schema every named entry must follow. */
  value: SectionSpec;
}

/** Any node of the schema. */
export type Spec = FieldSpec | SectionSpec | NamedMapSpec;

/** Longest accepted duration. JS timers overflow at 2^31-1 ms (~24.8 days) and fire at once. */
export const MAX_DURATION_MS = 24 * 3_600_000;

/** Profile names: used in file names, log fields and CLI arguments, so kept to a shell-safe alphabet. */
export const PROFILE_NAME_PATTERN = /^[a-z0-9][a-z0-9-]*$/;

/** Longest profile name (a DNS label's limit; it ends up in state keys and log lines). */
export const MAX_PROFILE_NAME_LENGTH = 63;

const retry: SectionSpec = {
  kind: "section",
  doc:
    "Restart backoff after kubefwd exits: the delay starts at initial_delay and is multiplied after each failure.",
  fields: {
    initial_delay: { kind: "field", type: "duration", default: "1s", doc: "Delay before the first restart." },
    max_delay: {
      kind: "field",
      type: "duration",
      default: "60s",
      doc: "Upper bound of the delay; must be at least initial_delay.",
    },
    multiplier: {
      kind: "field",
      type: "number",
      default: "2.0",
      min: 1,
      minReason: "a multiplier below 1 would shrink the delay after each failure",
      doc: "Factor applied to the delay after each failed attempt (at least 1).",
    },
    max_attempts: {
      kind: "field",
      type: "integer",
      default: "0",
      min: 0,
      doc: "Give up (state `failed`) after this many consecutive failed attempts; 0 retries forever.",
    },
    jitter: {
      kind: "field",
      type: "number",
      default: "0.1",
      min: 0,
      max: 1,
      doc: "Random variation of each delay, as a fraction in [0, 1]: 0.1 means ±10%.",
    },
    reset_after: {
      kind: "field",
      type: "duration",
      default: "60s",
      doc:
        "After this long in `running`, the attempt counter and delay start over and a crash is restarted at once.",
    },
  },
};

const health: SectionSpec = {
  kind: "section",
  doc: "Active probes through the forwards: an HTTP request for HTTP services, a held TCP connection for " +
    "the others (docs/health-probes.md says what each proves and costs).",
  fields: {
    interval: { kind: "field", type: "duration", default: "5s", doc: "Time between two probes." },
    timeout: {
      kind: "field",
      type: "duration",
      default: "2s",
      doc:
        "How long one probe may wait for an answer; no answer in time proves nothing (the forward is `unverified`, never `down`); should not exceed interval.",
    },
    failure_threshold: {
      kind: "field",
      type: "integer",
      default: "2",
      min: 1,
      doc: "Consecutive failed probes before a forward counts as unhealthy.",
    },
    http: {
      kind: "field",
      type: "string list",
      default: "[]",
      check: "forward_pattern",
      doc: "Forwards probed with an HTTP request (any response counts as alive), as `SERVICE` or " +
        "`SERVICE:PORT` globs (`api`, `*:8080`, `web:http*`); beyond these, pod ports named `http…` and " +
        "common HTTP ports (80, 3000, 5000, 8000, 8008, 8080, 8081, 8088, 8888, 9090) get it by default.",
    },
    tcp: {
      kind: "field",
      type: "string list",
      default: "[]",
      check: "forward_pattern",
      doc: "Forwards probed with a quiet TCP connection instead (same patterns; `http` wins where both " +
        "match): for services on a common HTTP port that do not speak HTTP.",
    },
  },
};

const forwardFailures: SectionSpec = {
  kind: "section",
  doc: "When kubefwd keeps losing the forward of one service, restart the whole kubefwd process.",
  fields: {
    max_failures: {
      kind: "field",
      type: "integer",
      default: "5",
      min: 1,
      doc: "Restart after this many lost forwards of one service within window.",
    },
    window: { kind: "field", type: "duration", default: "60s", doc: "Sliding window for max_failures." },
    debounce: {
      kind: "field",
      type: "duration",
      default: "2s",
      doc: "Wait before restarting a kubefwd 1.22.x whose forward died (1.22.x never reconnects by itself).",
    },
  },
};

const metrics: SectionSpec = {
  kind: "section",
  doc: "The Prometheus endpoint (`GET /metrics`); off unless `listen` is set.",
  fields: {
    listen: {
      kind: "field",
      type: "string",
      check: "listen_address",
      doc:
        "Where the endpoint listens: `host:port` with an IP address (`[::1]:9469` for IPv6) or `localhost`, " +
        "e.g. `127.0.0.1:9469`; port 0 picks a free one (`kubefwd-daemon metrics` shows it). Absent: no " +
        "endpoint. `reload` applies a change.",
    },
    allow_non_loopback: {
      kind: "field",
      type: "boolean",
      default: "false",
      doc: "Allow a `listen` address that is not loopback (127.0.0.0/8, ::1). The endpoint has no " +
        "authentication: whoever reaches it reads profile, namespace and service names.",
    },
  },
};

const notifications: SectionSpec = {
  kind: "section",
  doc: "Desktop notifications on state changes (Linux: `notify-send`, macOS: `osascript`); off by default.",
  fields: {
    enabled: { kind: "field", type: "boolean", default: "false", doc: "Send desktop notifications." },
    on: {
      kind: "field",
      type: "string list",
      values: ["failed", "degraded", "recovered"],
      default: "[failed, degraded, recovered]",
      doc: "What to notify about: `failed` (kubefwd died or cannot start, or the profile gave up), " +
        "`degraded` (forwards down), `recovered` (running again after one of those).",
    },
    min_interval: {
      kind: "field",
      type: "duration",
      default: "60s",
      doc: "At most one notification per profile per interval; what came meanwhile is summarised in one.",
    },
  },
};

/** The whole schema; the root is a section whose keys are the file's top-level keys. */
export const CONFIG_SCHEMA: SectionSpec = {
  kind: "section",
  doc: "The kubefwd-daemon config file.",
  fields: {
    daemon: {
      kind: "section",
      doc: "The daemon process itself. Every key is optional; defaults follow the XDG base directories.",
      fields: {
        log_level: {
          kind: "field",
          type: "enum",
          values: ["debug", "info", "warn", "error"],
          default: "info",
          doc: "Least severe level written to the log file.",
        },
        log_file: {
          kind: "field",
          type: "path",
          default: "$XDG_STATE_HOME/kubefwd-daemon/daemon.log",
          doc: "Daemon log file. `$XDG_STATE_HOME` defaults to `~/.local/state`.",
        },
        pid_file: {
          kind: "field",
          type: "path",
          default: "$XDG_RUNTIME_DIR/kubefwd-daemon/daemon.pid",
          doc: "Pid file of the running daemon. Without `$XDG_RUNTIME_DIR`, it lives in the state dir.",
        },
        socket_path: {
          kind: "field",
          type: "path",
          default: "$XDG_RUNTIME_DIR/kubefwd-daemon/daemon.sock",
          doc:
            "Unix socket the CLI talks to (at most 103 bytes long). Without `$XDG_RUNTIME_DIR`, it lives in the state dir.",
        },
        state_dir: {
          kind: "field",
          type: "path",
          default: "$XDG_STATE_HOME/kubefwd-daemon",
          doc:
            "Directory of the daemon's persisted state (e.g. which profiles were enabled or disabled at run time).",
        },
        metrics,
        notifications,
      },
    },
    kubefwd: {
      kind: "section",
      doc: "How kubefwd is run.",
      fields: {
        path: {
          kind: "field",
          type: "string",
          default: "kubefwd",
          doc: "Executable: a command name looked up on PATH, or a path (`~` and relative paths allowed).",
        },
        privilege: {
          kind: "field",
          type: "enum",
          values: ["auto", "sudo", "none"],
          default: "auto",
          doc: "kubefwd needs root. `auto`: run directly when the daemon is root, else through `sudo -n`; " +
            "`sudo`: always through `sudo -n`; `none`: never use sudo.",
        },
        extra_args: {
          kind: "field",
          type: "string list",
          default: "[]",
          check: "kubefwd_args",
          doc: "Arguments appended to every kubefwd command line, before the profile's own extra_args.",
        },
        hosts_path: {
          kind: "field",
          type: "path",
          default: "/etc/hosts",
          doc: "Hosts file kubefwd edits; the daemon cleans stale entries from it after unclean exits.",
        },
        stop_timeout: {
          kind: "field",
          type: "duration",
          default: "10s",
          doc: "How long kubefwd may take to exit after SIGTERM before it is killed.",
        },
      },
    },
    defaults: {
      kind: "section",
      doc: "Policies every profile inherits; a profile overrides them field by field.",
      fields: { retry, health, forward_failures: forwardFailures },
    },
    profiles: {
      kind: "map",
      placeholder: "<name>",
      doc: "One entry per kubefwd process. Names match `[a-z0-9][a-z0-9-]*` (at most 63 characters).",
      value: {
        kind: "section",
        doc: "One profile.",
        fields: {
          enabled: {
            kind: "field",
            type: "boolean",
            default: "true",
            doc:
              "Whether the daemon runs this profile. `kubefwd-daemon enable/disable` overrides it at run time.",
          },
          allow_empty: {
            kind: "field",
            type: "boolean",
            default: "false",
            doc:
              "A profile that forwards no service is healthy anyway; without it, such a profile is `degraded` and `status --wait-healthy` fails.",
          },
          kubeconfig: {
            kind: "field",
            type: "path",
            default: "~/.kube/config",
            doc: "Kubeconfig passed to kubefwd with `-c` (`~` and relative paths allowed).",
          },
          context: {
            kind: "field",
            type: "string",
            doc: "Context passed with `-x`; when absent, the kubeconfig's current-context at start time.",
          },
          namespaces: {
            kind: "field",
            type: "string list",
            required: true,
            check: "namespace",
            nonEmpty: "kubefwd 1.25 without -n silently forwards nothing",
            doc: "Namespaces to forward (`-n`); required and non-empty.",
          },
          labels: {
            kind: "field",
            type: "string list",
            default: "[]",
            check: "label_selector",
            doc: "Kubernetes label selectors on services (`-l`); the entries are joined with commas (AND).",
          },
          exclude_services: {
            kind: "field",
            type: "string list",
            default: "[]",
            check: "glob",
            doc: "Glob patterns (`*`, `?`, `[abc]`, `[a-z]`, `[!x]`) of service names never to forward.",
          },
          domain: {
            kind: "field",
            type: "string",
            check: "dns_subdomain",
            doc: "Extra hostname suffix (`-d`), e.g. `svc.<domain>`.",
          },
          mapping: {
            kind: "field",
            type: "string list",
            default: "[]",
            check: "port_mapping",
            doc: "Local port remaps `svcPort:localPort` (`-m`), e.g. `80:8080`.",
          },
          extra_args: {
            kind: "field",
            type: "string list",
            default: "[]",
            check: "kubefwd_args",
            doc: "Arguments appended to this profile's kubefwd command line.",
          },
          retry,
          health,
          forward_failures: forwardFailures,
        },
      },
    },
  },
};

/** One documented key: its dotted path (profile names as the placeholder) and its spec. */
export interface SchemaKey {
  /** Dotted key path as the reference docs write it, e.g. `profiles.<name>.retry.max_delay`. */
  path: string;
  /** The key's spec (type, default, doc). */
  spec: FieldSpec;
}

/**
 * Every leaf key of the schema as a dotted path, e.g. `profiles.<name>.retry.max_delay`. Sections that
 * appear both under `defaults` and inside profiles are listed under both, because the docs list both.
 */
export function schemaKeys(section: SectionSpec = CONFIG_SCHEMA, prefix = ""): SchemaKey[] {
  const out: SchemaKey[] = [];
  for (const [name, spec] of Object.entries(section.fields)) {
    const path = prefix + name;
    if (spec.kind === "field") out.push({ path, spec });
    else if (spec.kind === "section") out.push(...schemaKeys(spec, path + "."));
    else out.push(...schemaKeys(spec.value, `${path}.${spec.placeholder}.`));
  }
  return out;
}
