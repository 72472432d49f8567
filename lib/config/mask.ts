/**
 * Masking of kubeconfig paths for `config show`: output that users paste into issues and chats should
 * not reveal their directory layout (user names, client and project names often sit in those paths),
 * yet it must still tell "the default kubeconfig" from "some other file". Only the basename is kept.
 *
 * Dependency-free. lib/log has no shared masking helper yet; if one appears, this can delegate to it.
 */

/**
 * `~/…/config` for paths under `home`, `/…/admin.conf` elsewhere; `~` itself and the root stay as is.
 * Idempotent, so masking an already masked path changes nothing.
 */
export function maskPath(path: string, home?: string): string {
  if (path === "" || path.includes("…")) return path;
  const base = path.replace(/\/+$/, "").split("/").pop() ?? "";
  if (home && (path === home || path === "~")) return "~";
  if (home && path.startsWith(home + "/") || path.startsWith("~/")) return `~/…/${base}`;
  if (!path.startsWith("/")) return `…/${base}`;
  return base === "" ? "/" : `/…/${base}`;
}
