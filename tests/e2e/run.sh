#!/usr/bin/env bash
# `deno task e2e`: builds what is missing (cached outside the repo), brings up a private cluster on its own
# ports and run dir, runs the daemon e2e tests inside a private mount namespace (isolate.sh: /etc/hosts is a
# temp file there), and always tears the cluster down. Extra args go to `deno test` (e.g. --filter).
# Env: KFD_E2E_KUBEFWD_VERSIONS (default: every kubefwd version build.sh managed to build).
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"

export KFD_E2E_CACHE
export KFD_E2E_RUN="${KFD_E2E_TEST_RUN:-/tmp/kfd-e2e-test}"
export KFD_E2E_ETCD_PORT="${KFD_E2E_TEST_ETCD_PORT:-33790}"
export KFD_E2E_APISERVER_PORT="${KFD_E2E_TEST_APISERVER_PORT:-36443}"
export KFD_E2E_KWOK_PORT="${KFD_E2E_TEST_KWOK_PORT:-30250}"

t0=$(date +%s)
bash "$here/build.sh" || e2e_log "some builds failed; testing what was built"
t1=$(date +%s)
versions=()
for v in ${KFD_E2E_KUBEFWD_VERSIONS:-$E2E_KUBEFWD_VERSIONS}; do
  if [ -x "$(kubefwd_bin "$v")" ]; then versions+=("$v"); else e2e_log "kubefwd $v not built: not tested"; fi
done
[ ${#versions[@]} -gt 0 ] || e2e_die "no kubefwd binary was built"
export KFD_E2E_KUBEFWD_VERSIONS="${versions[*]}"

rm -rf "$KFD_E2E_RUN"
cleanup() { bash "$here/cluster.sh" down >/dev/null 2>&1 || true; }
trap cleanup EXIT
bash "$here/cluster.sh" up || { e2e_log "cluster did not come up; logs in $KFD_E2E_RUN/logs"; exit 1; }
t2=$(date +%s)
eval "$(bash "$here/cluster.sh" env)"
e2e_log "build: $((t1 - t0)) s, cluster up: $((t2 - t1)) s"

# isolate.sh points HOME at a temp dir: keep Deno's module cache where it is.
export DENO_DIR="${DENO_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/deno}"
cp /etc/hosts "$KFD_E2E_RUN/hosts.isolated"
before=$(sha256sum /etc/hosts)
if [ "${1:-}" = "--bench" ]; then
  shift
  target=(deno run -A --no-prompt --no-config "$here/mttr_bench.ts" "$@")
else
  tests=("$here/kube_auth_e2e_test.ts" "$here/daemon_e2e_test.ts" "$here/zombie_e2e_test.ts")
  # The user path (README § Security): root creates an unprivileged user and installs the sudoers rule, the
  # daemon runs as that user through real sudo. Needs real root, sudo and setpriv.
  missing=""
  for tool in sudo visudo setpriv useradd; do command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"; done
  if [ "$(id -u)" != 0 ]; then
    e2e_log "user-path e2e NOT run: it needs root (it creates a user and installs a sudoers rule)"
  elif [ -n "$missing" ]; then
    e2e_log "user-path e2e NOT run: missing$missing (.ci/run installs sudo)"
  else
    tests+=("$here/user_path_e2e_test.ts")
  fi
  target=(deno test -A --no-prompt --no-config "${tests[@]}" "$@")
fi
bash "$here/isolate.sh" --hosts "$KFD_E2E_RUN/hosts.isolated" --home "$KFD_E2E_RUN/home" -- "${target[@]}"
rc=$?
if [ "$(sha256sum /etc/hosts)" != "$before" ]; then
  e2e_log "the machine's real /etc/hosts changed during the e2e run"
  rc=1
fi
exit "$rc"
