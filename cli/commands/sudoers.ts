/**
 * `sudoers`: prints the script that sets up least-privilege sudo for a daemon running as you (README
 * § Security): the root helper with the kubefwd and hosts file fixed into it, and the one sudoers rule that
 * allows only that helper. It prints and never installs: root runs it (`kubefwd-daemon sudoers | sudo sh`),
 * so nothing of this program runs as root. `--uninstall` prints the removal, `--print rule|helper` one part.
 */
import { type Command, Option } from "commander";
import type { CliContext } from "../context.ts";
import { locateDaemon } from "../connect.ts";
import { UserError } from "../../lib/errors.ts";
import { currentUserName, resolveExecutable } from "../../lib/supervisor/privilege.ts";
import { DEFAULT_HOSTS_PATH } from "../../lib/kubefwd/argv.ts";
import {
  installScript,
  renderRootHelper,
  ROOT_HELPER_HOME,
  ROOT_HELPER_TEMPLATE_URL,
  sudoersFile,
  SudoSetupError,
  uninstallScript,
} from "../../lib/sudo/root_helper.ts";

interface SudoersOptions {
  user?: string;
  kubefwd?: string;
  hostsPath?: string;
  uninstall?: boolean;
  kubeconfigAsIs?: boolean;
  print?: string;
}

/** The config's kubefwd path and hosts path, or the defaults when there is no usable config. */
async function configuredKubefwd(ctx: CliContext): Promise<{ kubefwd: string; hostsPath: string }> {
  try {
    const loc = await locateDaemon(ctx);
    const { loadConfigFile } = await import("../../lib/config/load.ts");
    const result = await loadConfigFile(loc.configPath, { checkEnvironment: false });
    if (result.config) {
      return { kubefwd: result.config.kubefwd.path, hostsPath: result.config.kubefwd.hostsPath };
    }
  } catch {
    // no config yet: the defaults
  }
  return { kubefwd: "kubefwd", hostsPath: DEFAULT_HOSTS_PATH };
}

/** The user the rule is for: `--user`, else whoever ran `sudo` (run as root), else the current user. */
function ruleUser(opts: SudoersOptions): string {
  if (opts.user) return opts.user;
  const env = Deno.env.toObject();
  if (Deno.uid() === 0) {
    const sudoUser = env.SUDO_USER;
    if (sudoUser && sudoUser !== "root") return sudoUser;
    throw new UserError("usage", "run this as the user the daemon runs as, or name that user with --user");
  }
  return currentUserName(env);
}

/** Registers `sudoers`. */
export function registerSudoersCommand(program: Command, ctx: CliContext): void {
  program.command("sudoers")
    .description("print the script that lets the daemon run kubefwd as root with least privilege (| sudo sh)")
    .option("--user <name>", "the user the daemon runs as (default: you)")
    .option("--kubefwd <path>", "the kubefwd to run as root (default: the config's kubefwd.path on PATH)")
    .option("--hosts-path <path>", "the hosts file (default: the config's kubefwd.hosts_path)")
    .option("--uninstall", "print the script that removes the rule and the helper instead")
    .option(
      "--kubeconfig-as-is",
      "no credential broker: root kubefwd reads your kubeconfig itself (its exec plugins run as root)",
    )
    .addOption(
      new Option(
        "--print <part>",
        "print only one part: rule (the sudoers file) or helper (the helper script)",
      )
        .choices(["rule", "helper"]),
    )
    .addHelpText(
      "after",
      "\nRead it, then: kubefwd-daemon sudoers | sudo sh\nWhat each privilege grants: README.md, section Security.",
    )
    .action(async (opts: SudoersOptions) => {
      if (opts.uninstall) {
        ctx.out(uninstallScript());
        return;
      }
      try {
        const user = ruleUser(opts);
        const sudoers = sudoersFile(user);
        if (opts.print === "rule") {
          ctx.out(sudoers);
          return;
        }
        const configured = await configuredKubefwd(ctx);
        const wanted = opts.kubefwd ?? configured.kubefwd;
        const found = resolveExecutable(wanted, Deno.env.get("PATH") ?? "");
        if (found === undefined) {
          throw new UserError("error", `kubefwd not found: ${wanted} (pass its path with --kubefwd)`);
        }
        // The helper compares /proc/PID/exe with it: symlinks resolved.
        const kubefwd = Deno.realPathSync(found);
        const helper = renderRootHelper(await Deno.readTextFile(ROOT_HELPER_TEMPLATE_URL), {
          kubefwd,
          hosts: opts.hostsPath ?? configured.hostsPath,
          home: ROOT_HELPER_HOME,
          broker: !opts.kubeconfigAsIs,
        });
        ctx.out(opts.print === "helper" ? helper : installScript({ helper, sudoers, kubefwd }));
      } catch (e) {
        if (e instanceof SudoSetupError) throw new UserError("usage", e.message);
        throw e;
      }
    });
}
