#!/usr/bin/env bash
# Record real kubefwd output against the e2e cluster (tests/e2e/cluster.sh up) as fixtures.
#
# usage: tests/e2e/capture_kubefwd.sh VERSION [SCENARIO...]
#   VERSION    a kubefwd version built by build.sh (e.g. 1.22.3)
#   SCENARIOS  startup-shutdown pod-replace pod-gone sigkill apiserver-outage bad-context cli (default: all)
# env: KFD_FIXTURES (default tests/fixtures/kubefwd_output), KUBEFWD_EXTRA_ARGS (default: "-a" for >= 1.24,
#      empty for 1.22.x, which has no -a), KFD_RECOVERY_TIMEOUT (seconds to wait for a forward to come back, 360)
#
# Per scenario it writes into $KFD_FIXTURES/<VERSION>/:
#   <scenario>.log, [<scenario>.stderr.log], <scenario>.timeline.jsonl  (see capture.ts)
#   <scenario>.actions.log      "<epoch ms> <what the driver did or saw>", same clock as the timeline
#   <scenario>.hosts-after.txt  the (temporary) hosts file after kubefwd exited
# kubefwd runs under isolate.sh with a fresh hosts file (fixed content, so fixtures do not depend on the machine)
# and a fresh HOME; the real /etc/hosts is checksummed before and after and must not change.
set -uo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

VER="${1:?usage: $0 VERSION [SCENARIO...]}"; shift
SCENARIOS=("$@")
[ ${#SCENARIOS[@]} -gt 0 ] || SCENARIOS=(startup-shutdown pod-replace pod-gone sigkill apiserver-outage bad-context cli)
KF="$(kubefwd_bin "$VER")"
[ -x "$KF" ] || e2e_die "no kubefwd $VER at $KF (tests/e2e/build.sh kubefwd-$VER)"
CLUSTER="$KFD_E2E_DIR/cluster.sh"
ISOLATE="$KFD_E2E_DIR/isolate.sh"
eval "$("$CLUSTER" env)" || e2e_die "cluster not up"
REPO="$(cd "$KFD_E2E_DIR/../.." && pwd)"
OUT="${KFD_FIXTURES:-$REPO/tests/fixtures/kubefwd_output}/$VER"
mkdir -p "$OUT"
WORK="$KFD_E2E_RUN/capture-$VER"
RECOVERY="${KFD_RECOVERY_TIMEOUT:-360}"
if [ -z "${KUBEFWD_EXTRA_ARGS+x}" ]; then
  case "$VER" in 1.22.*|1.23.*) KUBEFWD_EXTRA_ARGS="" ;; *) KUBEFWD_EXTRA_ARGS="-a" ;; esac
fi
NS="$KFD_E2E_NAMESPACE"
k() { "$KFD_E2E_KUBECTL" --kubeconfig "$KFD_E2E_KUBECONFIG" -n "$NS" "$@"; }

REAL_HOSTS_SUM="$(sha256sum /etc/hosts | cut -d' ' -f1)"
check_real_hosts() {
  [ "$(sha256sum /etc/hosts | cut -d' ' -f1)" = "$REAL_HOSTS_SUM" ] || e2e_die "the real /etc/hosts CHANGED ($1)"
}

# every forwarded name:port and the echo server that must answer it
TARGETS=(echo-a:8080=echo-a echo-b:8080=echo-b echo-b:9090=echo-b-alt echo-h:8080=echo-h
         echo-h-0.echo-h:8080=echo-h echo-h-1.echo-h:8080=echo-h echo-a.$NS.svc.cluster.local:8080=echo-a)

SC=""; ACT=""; HOSTS=""; IHOME=""; PIDF=""; CAP_PID=""
now_ms() { date +%s%3N; }
act() { echo "$(now_ms) $*" >>"$ACT"; e2e_log "[$VER/$SC] $*"; }
in_ns() { "$ISOLATE" --hosts "$HOSTS" --home "$IHOME" -- "$@"; }
get() { in_ns curl -sS --max-time 3 "http://$1/" 2>&1; }
answers() { local body; body="$(get "$1")"; [[ "$body" == *"echo name=$2 "* ]]; }
all_answer() {
  local t
  for t in "${TARGETS[@]}"; do answers "${t%%=*}" "${t#*=}" || return 1; done
}

begin() {
  SC="$1"; shift
  mkdir -p "$WORK/$SC"
  ACT="$OUT/$SC.actions.log"; : >"$ACT"
  HOSTS="$WORK/$SC/hosts"; IHOME="$WORK/$SC/home"; PIDF="$WORK/$SC/kubefwd.pid"
  rm -rf "$IHOME"; mkdir -p "$IHOME"
  printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$HOSTS"
  rm -f "$PIDF" "$OUT/$SC".{log,stderr.log,timeline.jsonl,hosts-after.txt}
}

# start_kubefwd ARGS...: run kubefwd under capture.ts + isolate.sh in the background
start_kubefwd() {
  act "start: kubefwd $*"
  deno run -A --no-config "$KFD_E2E_DIR/capture.ts" --out "$OUT/$SC" --pidfile "$PIDF" -- \
    "$ISOLATE" --hosts "$HOSTS" --home "$IHOME" -- "$KF" "$@" >>"$WORK/$SC/capture.out" 2>&1 &
  CAP_PID=$!
  wait_until 10 "kubefwd pid" test -s "$PIDF" || e2e_die "kubefwd did not start"
}
start_svc() {
  # shellcheck disable=SC2086
  start_kubefwd svc -n "$NS" -c "$KFD_E2E_KUBECONFIG" -x "$KFD_E2E_CONTEXT" $KUBEFWD_EXTRA_ARGS
}
kf_pid() { cat "$PIDF"; }
wait_ready() {
  local t0; t0=$(now_ms)
  if wait_until 60 "all forwards answering" all_answer; then act "ready: all ${#TARGETS[@]} targets answer after $(( $(now_ms) - t0 )) ms"
  else act "NOT READY after 60 s"; fi
}
# wait_exit TIMEOUT: wait for the capture (and so kubefwd) to end
wait_exit() {
  local i
  for ((i = 0; i < $1 * 10; i++)); do kill -0 "$CAP_PID" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$CAP_PID" 2>/dev/null; then
    act "still running after $1 s: SIGKILL"
    kill -KILL "$(kf_pid)" 2>/dev/null
  fi
  wait "$CAP_PID"; local rc=$?
  act "exited: capture rc=$rc ($(tail -1 "$OUT/$SC.timeline.jsonl"))"
}
sigterm_and_wait() { act "send SIGTERM to kubefwd"; kill -TERM "$(kf_pid)"; wait_exit 30; }
finish() {
  cp "$HOSTS" "$OUT/$SC.hosts-after.txt"
  check_real_hosts "$SC"
  act "real /etc/hosts unchanged (sha256 $REAL_HOSTS_SUM)"
}
# poll_recovery NAME:PORT ECHO: curl every second until the echo server answers, log each failure once per kind
poll_recovery() {
  local target="$1" want="$2" t0 body last=""
  t0=$(now_ms)
  while (( $(now_ms) - t0 < RECOVERY * 1000 )); do
    body="$(get "$target")"
    if [[ "$body" == *"echo name=$want "* ]]; then
      act "recovered: $target answers after $(( $(now_ms) - t0 )) ms"
      return 0
    fi
    # log each kind of failure once (ignore the "after N ms" that curl adds)
    [ "${body//[0-9]/}" = "$last" ] || act "curl $target: ${body//$'\n'/ }"
    last="${body//[0-9]/}"
    sleep 1
  done
  act "NOT recovered: $target after ${RECOVERY} s"
  return 1
}
restore_pods() {
  local p
  for p in $(k get pods -o name); do
    case "$p" in pod/echo-a-0|pod/echo-b-0|pod/echo-h-0|pod/echo-h-1) ;; *) "$CLUSTER" pod-delete "${p#pod/}" ;; esac
  done
  for p in echo-a-0:echo-a echo-b-0:echo-b echo-h-0:echo-h echo-h-1:echo-h; do
    k get "pod/${p%%:*}" >/dev/null 2>&1 || "$CLUSTER" pod-create "${p%%:*}" "${p#*:}"
  done
}

sc_startup_shutdown() {
  begin startup-shutdown
  start_svc; wait_ready
  sigterm_and_wait; finish
}

# rolling-update style: the replacement is Ready before the old pod goes
sc_pod_replace() {
  begin pod-replace
  start_svc; wait_ready
  act "create pod echo-a-1"; "$CLUSTER" pod-create echo-a-1 echo-a
  act "delete pod echo-a-0 (and its kwok PortForward)"; "$CLUSTER" pod-delete echo-a-0
  poll_recovery echo-a:8080 echo-a
  sleep 2
  sigterm_and_wait; finish
  restore_pods
}

# the pod goes away and its replacement arrives 15 s later
sc_pod_gone() {
  begin pod-gone
  start_svc; wait_ready
  act "delete pod echo-b-0 (and its kwok PortForward)"; "$CLUSTER" pod-delete echo-b-0
  local i; for ((i = 0; i < 15; i++)); do
    [ $i -eq 0 ] || [ $i -eq 5 ] || [ $i -eq 10 ] && act "curl echo-b:8080: $(get echo-b:8080 | tr '\n' ' ')"
    sleep 1
  done
  act "create pod echo-b-1"; "$CLUSTER" pod-create echo-b-1 echo-b
  poll_recovery echo-b:8080 echo-b && poll_recovery echo-b:9090 echo-b-alt
  sleep 2
  sigterm_and_wait; finish
  restore_pods
}

sc_sigkill() {
  begin sigkill
  start_svc; wait_ready
  act "send SIGKILL to kubefwd"; kill -KILL "$(kf_pid)"
  wait_exit 10; finish
}

sc_apiserver_outage() {
  begin apiserver-outage
  start_svc; wait_ready
  act "stop kube-apiserver"; "$CLUSTER" stop apiserver >/dev/null 2>&1
  act "curl echo-a:8080 during outage: $(get echo-a:8080 | tr '\n' ' ')"
  sleep 20
  act "start kube-apiserver"; "$CLUSTER" start apiserver >/dev/null 2>&1; act "kube-apiserver ready"
  poll_recovery echo-a:8080 echo-a
  sleep 2
  sigterm_and_wait; finish
}

sc_bad_context() {
  begin bad-context
  start_kubefwd svc -n "$NS" -c "$KFD_E2E_KUBECONFIG" -x no-such-context
  wait_exit 60; finish
}

sc_cli() {
  local name args
  for name in version version-quiet help svc-help; do
    case "$name" in
      version) args=(version) ;; version-quiet) args=(version quiet) ;;
      help) args=(--help) ;; svc-help) args=(svc --help) ;;
    esac
    begin "cli-$name"
    start_kubefwd "${args[@]}"
    wait_exit 20; finish
  done
}

check_real_hosts "before"
for s in "${SCENARIOS[@]}"; do
  case "$s" in
    startup-shutdown) sc_startup_shutdown ;;
    pod-replace) sc_pod_replace ;;
    pod-gone) sc_pod_gone ;;
    sigkill) sc_sigkill ;;
    apiserver-outage) sc_apiserver_outage ;;
    bad-context) sc_bad_context ;;
    cli) sc_cli ;;
    *) e2e_die "unknown scenario $s" ;;
  esac
done
check_real_hosts "after all"
e2e_log "fixtures in $OUT"
