/**
 * Hidden `kube` verbs used by the daemon, not by people. `kube list-services` lists a namespace's service
 * names with a profile's kubeconfig and prints `{"services":[…]}`: the daemon runs it as a short-lived
 * subprocess so the yaml library never loads into the daemon (lib/kubefwd/exclude.ts).
 */
import type { Command } from "commander";
import type { CliContext } from "../context.ts";
import { UserError } from "../../lib/errors.ts";
import { KubeApiError, listServiceNames, resolveContextAuth } from "../../lib/kube/services.ts";
import { brokerCluster, brokerCredential } from "../../lib/sudo/credential_broker.ts";

/** Registers the hidden `kube` command group. */
export function registerKubeCommands(program: Command, ctx: CliContext): void {
  const kube = program.command("kube", { hidden: true }).description("internal Kubernetes helpers");
  // Prints secrets (client key, token) on stdout: for the daemon's pipe only, never for a terminal or a log.
  kube.command("auth")
    .description("print the resolved credentials of a context as JSON (for the daemon's API check)")
    .requiredOption("--kubeconfig <path>", "kubeconfig file")
    .option("--context <name>", "context (default: current-context)")
    .action(async (opts: { kubeconfig: string; context?: string }) => {
      try {
        ctx.out(JSON.stringify({ auth: await resolveContextAuth(opts.kubeconfig, opts.context) }));
      } catch (e) {
        if (e instanceof KubeApiError) throw new UserError("error", e.message, { cause: e });
        throw e;
      }
    });
  kube.command("list-services")
    .description("print the service names of a namespace as JSON")
    .requiredOption("--kubeconfig <path>", "kubeconfig file")
    .option("--context <name>", "context (default: current-context)")
    .requiredOption("--namespace <ns>", "namespace")
    .option("--selector <labels>", "label selector")
    .option("--timeout <ms>", "request timeout in milliseconds", "20000")
    .action(
      async (
        opts: { kubeconfig: string; context?: string; namespace: string; selector?: string; timeout: string },
      ) => {
        const timeoutMs = Number(opts.timeout);
        if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
          throw new UserError("usage", "--timeout must be a positive number");
        }
        try {
          const services = await listServiceNames({
            kubeconfig: opts.kubeconfig,
            namespace: opts.namespace,
            timeoutMs,
            ...(opts.context !== undefined ? { context: opts.context } : {}),
            ...(opts.selector !== undefined ? { labelSelector: opts.selector } : {}),
          });
          ctx.out(JSON.stringify({ services }));
        } catch (e) {
          if (e instanceof KubeApiError) throw new UserError("error", e.message, { cause: e });
          throw e;
        }
      },
    );
  // The root helper's credential broker runs these as the user (lib/sudo/credential_broker.ts).
  const broker = (name: string, description: string, run: (k: string, c?: string) => Promise<string>) =>
    kube.command(name)
      .description(description)
      .requiredOption("--kubeconfig <path>", "kubeconfig file")
      .option("--context <name>", "context (default: current-context)")
      .action(async (opts: { kubeconfig: string; context?: string }) => {
        try {
          ctx.out(await run(opts.kubeconfig, opts.context));
        } catch (e) {
          if (e instanceof KubeApiError) throw new UserError("error", e.message, { cause: e });
          throw e;
        }
      });
  broker("broker-cluster", "print the server, CA and proxy of a context as key=value lines", brokerCluster);
  broker(
    "broker-credential",
    "print the credential of a context as an ExecCredential (exec plugins run here, as you)",
    async (k, c) => JSON.stringify(await brokerCredential(k, c)),
  );
}
