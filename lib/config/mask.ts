/**
 * Masking of kubeconfig paths for `config show`: output that users paste into issues and chats should
 * not reveal their directory layout (user names, client and project names often sit in those paths),
 * yet it must still tell "the default kubeconfig" from "some other file". Only the basename is kept.
 *
 * The file name itself is masked the way the daemon log masks it (lib/log/mask.ts): a generic name
 * (`config`, `kubeconfig`) stays, any other (`prod-eu-config`, which names a cluster) becomes `***`.
 */
import { maskFileName } from "../log/mask.ts";

/**
 * `~/…/config` for paths under `home`, `/…/***` elsewhere (a non-generic file name is masked); `~` itself
 * and the root stay as is. Idempotent, so masking an already masked path changes nothing.
 */
export function maskPath(path: string, home?: string): string {
  if (path === "" || path.includes("…")) return path;
  const base = maskFileName(path.replace(/\/+$/, "").split("/").pop() ?? "");
  if (home && (path === home || path === "~")) return "~";
  if (home && path.startsWith(home + "/") || path.startsWith("~/")) return `~/…/${base}`;
  if (!path.startsWith("/")) return `…/${base}`;
  return base === "" ? "/" : `/…/${base}`;
}
