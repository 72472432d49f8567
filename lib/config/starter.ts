/**
 * The commented starter config written by `config init`. Policy defaults are generated from the schema
 * so the starter always shows the real defaults; a test checks that the starter validates cleanly.
 */
import { CONFIG_SCHEMA, type FieldSpec, type SectionSpec } from "./schema.ts";
import { isDnsLabel } from "./selector.ts";

/** What `config init` found in the user's kubeconfig. */
export interface StarterInput {
  /** Kubeconfig as it should appear in the file (e.g. `~/.kube/config`). */
  kubeconfig: string;
  /** Whether that kubeconfig could be read. */
  kubeconfigFound: boolean;
  /** Every context of that kubeconfig, with its namespace when it names one (offered as profiles). */
  contexts: { name: string; namespace?: string }[];
  /** The kubeconfig's current-context, used for the active example profile. */
  currentContext?: string;
}

/** YAML scalar for a string: bare when safe, else double-quoted (JSON strings are valid YAML). */
function yamlString(s: string): string {
  return /^[A-Za-z0-9_./~-]+$/.test(s) && !/^(true|false|null|yes|no|on|off|~)$/i.test(s) &&
      !/^[-.\d]/.test(s)
    ? s
    : JSON.stringify(s);
}

function flowDefaults(section: SectionSpec): string {
  const parts = Object.entries(section.fields)
    .filter((e): e is [string, FieldSpec] => e[1].kind === "field")
    .map(([k, f]) => `${k}: ${f.default}`);
  return `{ ${parts.join(", ")} }`;
}

/** Renders the starter file. The example profile is disabled so that writing it starts nothing. */
export function starterConfig(input: StarterInput): string {
  const defaults = CONFIG_SCHEMA.fields.defaults as SectionSpec;
  const lines: string[] = [
    "# kubefwd-daemon configuration, created by `kubefwd-daemon config init`.",
    "# Check it with `kubefwd-daemon config validate`; every key is described in docs/config-reference.md.",
    "# Durations: 500ms, 5s, 2m, 1h30m. Paths may start with ~.",
    "#",
  ];
  if (!input.kubeconfigFound) {
    lines.push(`# No kubeconfig could be read at ${input.kubeconfig}; set "kubeconfig" and "context" below.`);
  } else if (input.contexts.length === 0) {
    lines.push(`# ${input.kubeconfig} defines no contexts yet.`);
  } else {
    lines.push(`# Contexts found in ${input.kubeconfig}:`);
    for (const c of input.contexts) {
      const notes = [
        c.name === input.currentContext ? "current" : "",
        c.namespace ? `namespace ${c.namespace}` : "",
      ].filter(Boolean);
      lines.push(`#   - ${c.name}${notes.length ? ` (${notes.join(", ")})` : ""}`);
    }
  }
  const chosen = input.contexts.find((c) => c.name === input.currentContext) ?? input.contexts[0];
  const namespace = chosen?.namespace && isDnsLabel(chosen.namespace) ? chosen.namespace : "default";
  lines.push(
    "",
    "daemon:",
    "  log_level: info # debug | info | warn | error",
    "  # log_file: ~/.local/state/kubefwd-daemon/daemon.log",
    "  # socket_path: /run/user/<uid>/kubefwd-daemon/daemon.sock",
    "",
    "kubefwd:",
    "  path: kubefwd # a command on PATH, or a path to the binary",
    "  privilege: auto # kubefwd needs root: auto | sudo (sudo -n) | none",
    "  extra_args: []",
    "  # hosts_path: /etc/hosts",
    "  # stop_timeout: 10s",
    "",
    "# Policies every profile inherits; a profile can override single fields, e.g. retry: { max_delay: 30s }.",
    "defaults:",
  );
  for (const [name, spec] of Object.entries(defaults.fields)) {
    if (spec.kind === "section") lines.push(`  ${name}: ${flowDefaults(spec)}`);
  }
  lines.push(
    "",
    "# One kubefwd process per profile. Enable one with `enabled: true` or `kubefwd-daemon enable <name>`.",
    "profiles:",
    "  example:",
    "    enabled: false",
    `    kubeconfig: ${yamlString(input.kubeconfig)}`,
    chosen
      ? `    context: ${yamlString(chosen.name)}`
      : "    # context: my-cluster # default: the kubeconfig's current-context",
    `    namespaces: [${namespace}] # required: kubefwd forwards nothing without namespaces`,
    '    # labels: ["app.kubernetes.io/part-of=myapp"]',
    '    # exclude_services: ["legacy-*"]',
    '    # mapping: ["80:8080"]',
    "    # retry: { max_delay: 30s }",
    "",
  );
  return lines.join("\n");
}
