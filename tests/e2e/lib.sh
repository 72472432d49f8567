# shellcheck shell=bash
# Shared settings for the real-cluster e2e harness (sourced by build.sh, cluster.sh, isolate.sh).
# Everything here is overridable from the environment.

KFD_E2E_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
KFD_E2E_CACHE="${KFD_E2E_CACHE:-$HOME/.cache/kubefwd-daemon-e2e}"
KFD_E2E_RUN="${KFD_E2E_RUN:-/tmp/kfd-e2e}"
KFD_E2E_GO="${KFD_E2E_GO:-/usr/local/go/bin/go}"
[ -x "$KFD_E2E_GO" ] || KFD_E2E_GO="$(command -v go || echo "$KFD_E2E_GO")"

# Pinned versions (see tests/e2e/README.md for why these).
E2E_ETCD_VERSION="${E2E_ETCD_VERSION:-3.6.16}"
E2E_K8S_VERSION="${E2E_K8S_VERSION:-1.36.3}"
E2E_KWOK_VERSION="${E2E_KWOK_VERSION:-0.8.0}"
# kubefwd versions to build. v1.25.16 is refused by the Go module proxy reachable here (403); build.sh then
# builds it from the pinned source tarball in ../shared/third_party (skipped when that is absent); see README.
E2E_KUBEFWD_VERSIONS="${E2E_KUBEFWD_VERSIONS:-1.22.3 1.25.16}"

E2E_ETCD_BIN="$KFD_E2E_CACHE/etcd-v$E2E_ETCD_VERSION/etcd"
E2E_APISERVER_BIN="$KFD_E2E_CACHE/kube-apiserver-v$E2E_K8S_VERSION/kube-apiserver"
E2E_KUBECTL_BIN="$KFD_E2E_CACHE/kubectl-v$E2E_K8S_VERSION/kubectl"
E2E_KWOK_BIN="$KFD_E2E_CACHE/kwok-v$E2E_KWOK_VERSION/kwok"

# kubefwd_bin VERSION -> path of the cached kubefwd binary for that version
kubefwd_bin() { printf '%s/kubefwd-%s/kubefwd\n' "$KFD_E2E_CACHE" "$1"; }

e2e_log() { printf '[e2e %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
e2e_die() { e2e_log "ERROR: $*"; exit 1; }

# wait_until TIMEOUT_S DESCRIPTION CMD... : poll CMD every 0.25 s until it succeeds or the timeout passes.
wait_until() {
  local timeout="$1" what="$2"; shift 2
  local deadline=$(( $(date +%s%N) + timeout * 1000000000 ))
  while ! "$@" >/dev/null 2>&1; do
    if (( $(date +%s%N) > deadline )); then
      e2e_log "timed out after ${timeout}s waiting for: $what"
      return 1
    fi
    sleep 0.25
  done
}
