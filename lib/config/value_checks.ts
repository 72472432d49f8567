/**
 * The semantic checks of single config values that the schema names by `check` (label selectors, globs,
 * port mappings, namespaces, domains, kubefwd arguments, listen addresses): pure, one message per problem.
 */
import { forbiddenFlagMessage } from "../kubefwd/argv.ts";
import { checkGlob, impossibleServiceChars } from "./glob.ts";
import { parseListenAddress } from "./listen_address.ts";
import type { FieldSpec } from "./schema.ts";
import { checkLabelSelector, isDnsLabel, isDnsSubdomain } from "./selector.ts";

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

/**
 * Why `s` fails the semantic check its field declares (`spec.check`), or undefined when it passes. A value
 * that is usable but suspicious is not a problem: it goes to `warn`.
 */
export function valueProblem(
  s: string,
  spec: FieldSpec,
  warn: (message: string) => void,
): string | undefined {
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
        warn(
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
        warn(`${flag} is set by the daemon from "${owner}"; passing it again may conflict`);
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
