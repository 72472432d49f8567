#!/usr/bin/env bash
# Run a command (kubefwd, the daemon, curl...) in a private mount namespace where /etc/hosts is a temp file and
# HOME is a temp dir, so the machine's real /etc/hosts and ~/hosts.original are never written.
# kubefwd always rewrites the default /etc/hosts on shutdown (even with --hosts-path), and writes it in place
# (os.WriteFile, no rename), so a file bind-mounted over /etc/hosts catches every write.
#
# usage: tests/e2e/isolate.sh [--hosts FILE] [--home DIR] [--] CMD [ARG...]
#   --hosts FILE  the file that stands in for /etc/hosts (default $KFD_E2E_HOSTS or $KFD_E2E_RUN/hosts);
#                 created as a copy of the real /etc/hosts if missing. Several isolate.sh processes given the
#                 same file see the same content (e.g. kubefwd in one, curl in another).
#   --home DIR    HOME inside (default $KFD_E2E_ISOLATE_HOME or $KFD_E2E_RUN/home); created if missing.
# The network namespace is NOT changed: the cluster and kubefwd's 127.x.x.x addresses stay on the host's loopback.
# As non-root it adds a user namespace (unshare --map-root-user), which kubefwd's `id -u` check accepts.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

HOSTS="${KFD_E2E_HOSTS:-$KFD_E2E_RUN/hosts}"
IHOME="${KFD_E2E_ISOLATE_HOME:-$KFD_E2E_RUN/home}"
while [ $# -gt 0 ]; do
  case "$1" in
    --hosts) HOSTS="$2"; shift 2 ;;
    --home) IHOME="$2"; shift 2 ;;
    --) shift; break ;;
    -*) e2e_die "unknown option $1" ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || e2e_die "usage: $0 [--hosts FILE] [--home DIR] [--] CMD [ARG...]"

mkdir -p "$(dirname "$HOSTS")" "$IHOME"
[ -f "$HOSTS" ] || cp /etc/hosts "$HOSTS"
HOSTS="$(realpath "$HOSTS")"; IHOME="$(realpath "$IHOME")"

userns=()
[ "$(id -u)" = 0 ] || userns=(--user --map-root-user)

# Inside: bind the temp file over /etc/hosts, then refuse to run unless /etc/hosts really is that file now.
# shellcheck disable=SC2016
exec unshare "${userns[@]}" --mount --propagation private -- bash -c '
  set -eu
  hosts="$1"; home="$2"; shift 2
  mount --bind "$hosts" /etc/hosts
  if [ "$(stat -L -c %d:%i /etc/hosts)" != "$(stat -L -c %d:%i "$hosts")" ]; then
    echo "isolate.sh: bind mount over /etc/hosts did not take effect; refusing to run" >&2
    exit 97
  fi
  export HOME="$home"
  exec "$@"
' isolate "$HOSTS" "$IHOME" "$@"
