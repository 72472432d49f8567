#!/usr/bin/env bash
# A local Kubernetes control plane for the e2e tests, on 127.0.0.1 only, no containers:
#   etcd + kube-apiserver (real, built by build.sh) + kwok as the only node, plus loopback HTTP echo servers
#   that kwok's per-pod PortForwards send the fake pods' ports to.
#
# usage: tests/e2e/cluster.sh up       start everything, create the test namespace, verify kubectl port-forward
#        tests/e2e/cluster.sh down     stop everything this run dir started (pid files), leave nothing running
#        tests/e2e/cluster.sh env      print `export ...` lines for an up cluster (eval "$(cluster.sh env)")
#        tests/e2e/cluster.sh status   show which processes are running
#        tests/e2e/cluster.sh stop|start apiserver|kwok|etcd   stop/start one component (fault injection)
#        tests/e2e/cluster.sh pod-create NAME APP    create a pod (and its kwok PortForward) for service APP, wait Ready
#        tests/e2e/cluster.sh pod-delete NAME        delete a pod and its PortForward (its streams then fail)
#
# env: KFD_E2E_RUN (run dir, default /tmp/kfd-e2e), KFD_E2E_CACHE (binaries), KFD_E2E_ETCD_PORT (23790),
#      KFD_E2E_APISERVER_PORT (26443), KFD_E2E_KWOK_PORT (20250), KFD_E2E_NAMESPACE (kfd-e2e)
#
# Authentication: the admin kubeconfig uses a client certificate (O=system:masters); pki/ also holds a
# reader client certificate and pki/tokens.csv (--token-auth-file) for the kubeconfig auth-kind tests.
# What `up` creates in namespace $KFD_E2E_NAMESPACE (pods are plain Pods on node kwok-node-0, no controller manager):
#   Service echo-a  ClusterIP  8080->8081                 Pod echo-a-0
#   Service echo-b  ClusterIP  8080->8082, 9090->8084     Pod echo-b-0
#   Service echo-h  headless   8080->8083                 Pods echo-h-0, echo-h-1
# and per pod a kwok PortForward of the same name: pod port 8081 -> echo server "echo-a", 8082 -> "echo-b",
# 8084 -> "echo-b-alt", 8083 -> "echo-h". Use pod-create/pod-delete to replace pods (they keep the two in step).
# Each echo server answers "echo name=<name> method=... path=... host=...".
set -Eeuo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RUN="$KFD_E2E_RUN"
NS="${KFD_E2E_NAMESPACE:-kfd-e2e}"
CTX="kfd-e2e"
ETCD_PORT="${KFD_E2E_ETCD_PORT:-23790}"
ETCD_PEER_PORT="$((ETCD_PORT + 1))"
API_PORT="${KFD_E2E_APISERVER_PORT:-26443}"
KWOK_PORT="${KFD_E2E_KWOK_PORT:-20250}"
PKI="$RUN/pki"; LOGS="$RUN/logs"; PIDS="$RUN/pids"
KCFG="$RUN/kubeconfig"
ECHO_NAMES=(echo-a echo-b echo-b-alt echo-h)

kubectl_bin() {
  if [ -x "$E2E_KUBECTL_BIN" ]; then echo "$E2E_KUBECTL_BIN"; else command -v kubectl; fi
}
KUBECTL="$(kubectl_bin || true)"
k() { "$KUBECTL" --kubeconfig "$KCFG" "$@"; }

# ---- process bookkeeping ---------------------------------------------------------------------------

# proc_start PID: the process start time (clock ticks since boot), to tell our process from a reused pid
proc_start() { sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f20; }

# start_proc NAME CMD...: start CMD in its own session (so it outlives this script), log to logs/NAME.log.
# The pid file holds "<pid> <start time>".
start_proc() {
  local name="$1"; shift
  setsid "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
  local pid=$!
  echo "$pid $(proc_start "$pid")" >"$PIDS/$name.pid"
}

# pid_alive NAME: true when the recorded process still runs and is the one we started (not a reused pid)
pid_alive() {
  local f="$PIDS/$1.pid" pid st
  [ -f "$f" ] || return 1
  read -r pid st <"$f"
  kill -0 "$pid" 2>/dev/null || return 1
  [ "$(proc_start "$pid")" = "$st" ]
}
pid_of() { cut -d' ' -f1 "$PIDS/$1.pid"; }

# wait_ready NAME TIMEOUT CHECK...: poll CHECK until it succeeds; fail at once if process NAME exits meanwhile
wait_ready() {
  local name="$1" timeout="$2"; shift 2
  local deadline=$(( $(date +%s%N) + timeout * 1000000000 ))
  until "$@" >/dev/null 2>&1; do
    if ! pid_alive "$name"; then e2e_log "$name exited during startup:"; tail -30 "$LOGS/$name.log" >&2; return 1; fi
    if (( $(date +%s%N) > deadline )); then
      e2e_log "$name not ready after ${timeout}s:"; tail -30 "$LOGS/$name.log" >&2; return 1
    fi
    sleep 0.2
  done
}

stop_proc() {
  local name="$1" f="$PIDS/$1.pid" pid
  [ -f "$f" ] || return 0
  pid="$(pid_of "$name")"
  if pid_alive "$name"; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    local i
    for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      e2e_log "$name (pid $pid) ignored SIGTERM for 10s, killing"
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
    [ -n "${QUIET_STOP:-}" ] || e2e_log "stopped $name (pid $pid)"
  fi
  rm -f "$f"
}

# ---- components --------------------------------------------------------------------------------------

gen_pki() {
  mkdir -p "$PKI"
  (
    cd "$PKI"
    exec 2>>"$LOGS/openssl.log" >&2
    openssl genrsa -out sa.key 2048
    openssl rsa -in sa.key -pubout -out sa.pub
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj "/CN=kfd-e2e-ca"
    openssl req -newkey rsa:2048 -nodes -keyout apiserver.key -out apiserver.csr -subj "/CN=kube-apiserver"
    openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -out apiserver.crt \
      -extfile <(printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,IP:10.96.0.1,DNS:kubernetes,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n')
    openssl req -newkey rsa:2048 -nodes -keyout admin.key -out admin.csr -subj "/O=system:masters/CN=kfd-e2e-admin"
    openssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -out admin.crt \
      -extfile <(printf 'extendedKeyUsage=clientAuth\n')
    # A client certificate for a user that is only allowed to read services (not system:masters).
    openssl req -newkey rsa:2048 -nodes -keyout reader.key -out reader.csr -subj "/O=kfd-e2e-readers/CN=kfd-e2e-cert-reader"
    openssl x509 -req -in reader.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -out reader.crt \
      -extfile <(printf 'extendedKeyUsage=clientAuth\n')
    # Static bearer tokens (--token-auth-file): token,user,uid,"groups". kfd-e2e-readers may read services
    # (RBAC from apply_objects); kfd-e2e-nobody is authenticated but has no permissions.
    umask 077
    printf '%s,kfd-e2e-token,kfd-e2e-token,"kfd-e2e-readers"\n%s,kfd-e2e-exec,kfd-e2e-exec,"kfd-e2e-readers"\n%s,kfd-e2e-nobody,kfd-e2e-nobody\n' \
      "$(openssl rand -hex 20)" "$(openssl rand -hex 20)" "$(openssl rand -hex 20)" >tokens.csv
  )
}

write_kubeconfig() {
  local ca crt key
  ca="$(base64 -w0 <"$PKI/ca.crt")"; crt="$(base64 -w0 <"$PKI/admin.crt")"; key="$(base64 -w0 <"$PKI/admin.key")"
  umask 077
  cat >"$KCFG" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: $CTX
  cluster:
    server: https://127.0.0.1:$API_PORT
    certificate-authority-data: $ca
users:
- name: $CTX-admin
  user:
    client-certificate-data: $crt
    client-key-data: $key
contexts:
- name: $CTX
  context:
    cluster: $CTX
    user: $CTX-admin
    namespace: $NS
current-context: $CTX
EOF
  umask 022
}

etcd_ready() { curl -fsS --max-time 2 "http://127.0.0.1:$ETCD_PORT/readyz" >/dev/null; }
start_etcd() {
  mkdir -p "$RUN/etcd"
  start_proc etcd "$E2E_ETCD_BIN" --name kfd-e2e --data-dir "$RUN/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "kfd-e2e=http://127.0.0.1:$ETCD_PEER_PORT" \
    --unsafe-no-fsync --log-level warn
  wait_ready etcd 30 etcd_ready
}

apiserver_ready() {
  curl -fsS --max-time 2 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
    "https://127.0.0.1:$API_PORT/readyz" >/dev/null
}
start_apiserver() {
  mkdir -p "$RUN/apiserver-certs"
  start_proc kube-apiserver "$E2E_APISERVER_BIN" \
    --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
    --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$API_PORT" \
    --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
    --client-ca-file="$PKI/ca.crt" \
    --token-auth-file="$PKI/tokens.csv" \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
    --service-cluster-ip-range=10.96.0.0/16 \
    --authorization-mode=RBAC \
    --endpoint-reconciler-type=none \
    --kubelet-preferred-address-types=InternalIP,Hostname \
    --disable-admission-plugins=ServiceAccount \
    --enable-priority-and-fairness=false \
    --cert-dir="$RUN/apiserver-certs" --profiling=false --v=1
  wait_ready kube-apiserver 90 apiserver_ready
}

kwok_moddir() {
  local d
  d="$(GOFLAGS=-mod=mod "$KFD_E2E_GO" mod download -json "sigs.k8s.io/kwok@v$E2E_KWOK_VERSION" 2>/dev/null \
        | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')"
  [ -d "$d" ] || e2e_die "cannot locate sigs.k8s.io/kwok@v$E2E_KWOK_VERSION in the Go module cache"
  echo "$d"
}

write_kwok_config() {
  local src="$1" out="$RUN/kwok.yaml" f
  {
    # kwok v0.8.0 does not apply its documented defaults to a KwokConfiguration read from --config
    # ("node leases parallelism must be greater than 0"), so spell them out.
    cat <<'EOF'
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokConfiguration
options:
  cidr: 10.0.0.0/24
  enableDebuggingHandlers: true
  enableContentionProfiling: false
  enableProfilingHandler: false
  podPlayStageParallelism: 4
  nodePlayStageParallelism: 4
  nodeLeaseParallelism: 4
  podsOnNodeSyncParallelism: 1
  enablePodsOnNodeSyncListPager: true
  enablePodsOnNodeSyncStreamWatch: false
EOF
    for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
             pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
      printf -- '---\n'
      cat "$src/kustomize/stage/$f"
    done
  } >"$out"
}

kwok_ready() { curl -fsS --max-time 2 "http://127.0.0.1:$KWOK_PORT/healthz" >/dev/null; }
start_kwok() {
  start_proc kwok "$E2E_KWOK_BIN" --kubeconfig="$KCFG" --config="$RUN/kwok.yaml" \
    --manage-all-nodes=true --node-ip=127.0.0.1 --node-name=localhost \
    --node-port="$KWOK_PORT" --server-address="127.0.0.1:$KWOK_PORT" \
    --node-lease-duration-seconds=40 \
    --enable-crds=PortForward,ClusterPortForward
  wait_ready kwok 60 kwok_ready
}

echo_ready() { [ -s "$RUN/echo-ports.json" ]; }
start_echo() {
  rm -f "$RUN/echo-ports.json"
  start_proc echo deno run --no-config --no-lock --allow-net=127.0.0.1 --allow-read="$RUN" --allow-write="$RUN" \
    "$KFD_E2E_DIR/echo_server.ts" "$RUN/echo-ports.json" "${ECHO_NAMES[@]}"
  wait_ready echo 30 echo_ready
}
echo_port() { grep -o "\"$1\":[0-9]*" "$RUN/echo-ports.json" | cut -d: -f2; }

# app_ports APP: "<pod port>:<echo server name> ..." for the pods of service APP
app_ports() {
  case "$1" in
    echo-a) echo "8081:echo-a" ;;
    echo-b) echo "8082:echo-b 8084:echo-b-alt" ;;
    echo-h) echo "8083:echo-h" ;;
    *) e2e_die "unknown app $1 (echo-a, echo-b, echo-h)" ;;
  esac
}

# pod_manifest NAME APP: a Pod on kwok-node-0 plus the kwok PortForward (same name) that sends its ports to the
# app's echo servers. kwok's port-forward does not check that the pod exists, so the PortForward is per pod and
# is deleted with it: a stream to a deleted pod then fails ("no forward found ..."), like a real kubelet's would.
pod_manifest() {
  local name="$1" app="$2" pp
  printf 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\n  namespace: %s\n  labels: {app: %s}\n' "$name" "$NS" "$app"
  printf 'spec:\n  nodeName: kwok-node-0\n  containers:\n  - name: app\n    image: kfd-e2e/fake:0\n    ports:\n'
  for pp in $(app_ports "$app"); do printf '    - containerPort: %s\n' "${pp%%:*}"; done
  printf -- '---\napiVersion: kwok.x-k8s.io/v1alpha1\nkind: PortForward\nmetadata:\n  name: %s\n  namespace: %s\n' "$name" "$NS"
  printf 'spec:\n  forwards:\n'
  for pp in $(app_ports "$app"); do
    printf '  - ports: [%s]\n    target: {address: 127.0.0.1, port: %s}\n' "${pp%%:*}" "$(echo_port "${pp#*:}")"
  done
}

# pod_create NAME APP [--no-wait]; pod_delete NAME: what tests use to replace pods
# Without --no-wait it also waits until a port-forward to the new pod really reaches its echo server: after an
# apiserver restart kwok can take 15-50 s to see new PortForward objects ("no forward found for port ..." while
# the pod is Ready), and tests must measure kubefwd's recovery, not kwok's.
pod_create() {
  pod_manifest "$1" "$2" | k apply -f - >/dev/null
  [ "${3:-}" = --no-wait ] && return 0
  k -n "$NS" wait --for=condition=Ready --timeout=30s "pod/$1" >/dev/null
  local first; first="$(app_ports "$2")"; first="${first%% *}"
  local deadline=$(( $(date +%s) + 120 ))
  until QUIET_VERIFY=1 verify_port_forward "pod/$1" "${first%%:*}" "echo name=${first#*:} " 2>/dev/null; do
    (( $(date +%s) < deadline )) || { e2e_log "pod $1: kwok does not forward its port ${first%%:*} after 120 s"; return 1; }
    sleep 0.5
  done
}
pod_delete() {
  k -n "$NS" delete --wait=false "portforward.kwok.x-k8s.io/$1" "pod/$1" >/dev/null
}

apply_objects() {
  k apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-0
  labels: {type: kwok, kubernetes.io/hostname: kwok-node-0}
---
apiVersion: v1
kind: Namespace
metadata: {name: $NS}
---
apiVersion: v1
kind: Service
metadata: {name: echo-a, namespace: $NS}
spec:
  selector: {app: echo-a}
  ports: [{name: http, port: 8080, targetPort: 8081}]
---
apiVersion: v1
kind: Service
metadata: {name: echo-b, namespace: $NS}
spec:
  selector: {app: echo-b}
  ports: [{name: http, port: 8080, targetPort: 8082}, {name: alt, port: 9090, targetPort: 8084}]
---
apiVersion: v1
kind: Service
metadata: {name: echo-h, namespace: $NS}
spec:
  clusterIP: None
  selector: {app: echo-h}
  ports: [{name: http, port: 8080, targetPort: 8083}]
---
# kubeconfig auth-kind tests (kube_auth_e2e_test.ts): group kfd-e2e-readers may only read services
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: kfd-e2e-service-reader}
rules: [{apiGroups: [""], resources: [services], verbs: [get, list, watch]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: kfd-e2e-service-reader}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: kfd-e2e-service-reader}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: Group, name: kfd-e2e-readers}]
EOF
  local p
  for p in echo-a-0:echo-a echo-b-0:echo-b echo-h-0:echo-h echo-h-1:echo-h; do
    pod_create "${p%%:*}" "${p#*:}" --no-wait
  done
}

# verify_port_forward TARGET REMOTE_PORT EXPECT: kubectl port-forward TARGET, GET / through it, expect body EXPECT
verify_port_forward() {
  local target="$1" rport="$2" expect="$3" log="$LOGS/verify-port-forward.log" pid lport body
  : >"$log"
  "$KUBECTL" --kubeconfig "$KCFG" -n "$NS" port-forward --address 127.0.0.1 "$target" ":$rport" >"$log" 2>&1 &
  pid=$!
  if ! wait_until 20 "kubectl port-forward $target" grep -q '^Forwarding from 127.0.0.1:' "$log"; then
    kill "$pid" 2>/dev/null; cat "$log" >&2; return 1
  fi
  lport="$(sed -n 's/^Forwarding from 127.0.0.1:\([0-9]*\) .*/\1/p' "$log" | head -1)"
  body="$(curl -fsS --max-time 10 "http://127.0.0.1:$lport/" 2>&1)" || true
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
  if [[ "$body" != *"$expect"* ]]; then
    e2e_log "port-forward $target: expected '$expect', got '$body'"; cat "$log" >&2; return 1
  fi
  [ -n "${QUIET_VERIFY:-}" ] || e2e_log "kubectl port-forward $target :$rport -> $body"
}

print_env() {
  cat <<EOF
export KFD_E2E_RUN='$RUN'
export KUBECONFIG='$KCFG'
export KFD_E2E_KUBECONFIG='$KCFG'
export KFD_E2E_CONTEXT='$CTX'
export KFD_E2E_NAMESPACE='$NS'
export KFD_E2E_KUBECTL='$KUBECTL'
export KFD_E2E_APISERVER_URL='https://127.0.0.1:$API_PORT'
export KFD_E2E_ECHO_PORTS_FILE='$RUN/echo-ports.json'
export KFD_E2E_PKI='$PKI'
EOF
  local v var
  for v in $E2E_KUBEFWD_VERSIONS; do
    var="KFD_E2E_KUBEFWD_${v//./_}"
    [ -x "$(kubefwd_bin "$v")" ] && echo "export $var='$(kubefwd_bin "$v")'"
  done
  return 0
}

all_names=(kwok kube-apiserver etcd echo)

cmd_up() {
  local t0 t1 name
  t0=$(date +%s%N)
  for b in "$E2E_ETCD_BIN" "$E2E_APISERVER_BIN" "$E2E_KWOK_BIN"; do
    [ -x "$b" ] || e2e_die "missing $b: run tests/e2e/build.sh first"
  done
  [ -n "$KUBECTL" ] || e2e_die "no kubectl (build.sh kubectl, or install one)"
  for name in "${all_names[@]}"; do
    pid_alive "$name" && e2e_die "$name already running from $RUN (run: $0 down)"
  done
  rm -rf "$RUN"
  mkdir -p "$LOGS" "$PIDS"
  local kwok_src; kwok_src="$(kwok_moddir)"
  trap 'e2e_log "up failed; stopping what was started"; cmd_down' ERR
  gen_pki
  write_kubeconfig
  write_kwok_config "$kwok_src"
  start_echo
  start_etcd;      e2e_log "etcd ready ($(( ($(date +%s%N) - t0) / 1000000 )) ms)"
  start_apiserver; e2e_log "kube-apiserver ready ($(( ($(date +%s%N) - t0) / 1000000 )) ms)"
  k apply -f "$kwok_src/kustomize/crd/bases/kwok.x-k8s.io_portforwards.yaml" \
          -f "$kwok_src/kustomize/crd/bases/kwok.x-k8s.io_clusterportforwards.yaml" >/dev/null
  k wait --for condition=established --timeout=60s \
    crd/portforwards.kwok.x-k8s.io crd/clusterportforwards.kwok.x-k8s.io >/dev/null
  start_kwok;      e2e_log "kwok ready ($(( ($(date +%s%N) - t0) / 1000000 )) ms)"
  apply_objects
  k wait --for=condition=Ready --timeout=60s node/kwok-node-0 >/dev/null
  k -n "$NS" wait --for=condition=Ready --timeout=60s pod --all >/dev/null
  e2e_log "node and pods ready ($(( ($(date +%s%N) - t0) / 1000000 )) ms)"
  # The whole chain apiserver -> kwok (kubelet API) -> echo server must work before anything else runs.
  verify_port_forward pod/echo-a-0 8081 "echo name=echo-a"
  verify_port_forward svc/echo-b 9090 "echo name=echo-b-alt"
  verify_port_forward pod/echo-h-1 8083 "echo name=echo-h"
  trap - ERR
  t1=$(date +%s%N)
  echo "$(( (t1 - t0) / 1000000 ))" >"$RUN/up-ms"
  print_env >"$RUN/env"
  e2e_log "cluster up in $(( (t1 - t0) / 1000000 )) ms (run dir $RUN; eval \"\$($0 env)\")"
}

cmd_down() {
  trap - ERR
  local name f
  [ -d "$PIDS" ] || { e2e_log "nothing to stop in $RUN"; return 0; }
  # SIGTERM everything first (kwok and the apiserver first), then wait for each; stop_proc escalates to SIGKILL.
  local running=()
  for name in "${all_names[@]}"; do
    if pid_alive "$name"; then running+=("$name"); kill -TERM -- "-$(pid_of "$name")" 2>/dev/null || true; fi
  done
  for f in "$PIDS"/*.pid; do [ -e "$f" ] && QUIET_STOP=1 stop_proc "$(basename "$f" .pid)"; done
  e2e_log "stopped: ${running[*]:-nothing was running}"
  return 0
}

cmd_status() {
  local name rc=0
  for name in "${all_names[@]}"; do
    if pid_alive "$name"; then echo "$name: running (pid $(pid_of "$name"))"; else echo "$name: stopped"; rc=1; fi
  done
  return $rc
}

cmd_component() {
  local action="$1" comp="$2"
  case "$comp" in
    apiserver|kube-apiserver) comp=kube-apiserver ;;
    etcd|kwok|echo) ;;
    *) e2e_die "unknown component $comp" ;;
  esac
  if [ "$action" = stop ]; then stop_proc "$comp"; return; fi
  pid_alive "$comp" && { e2e_log "$comp already running"; return 0; }
  case "$comp" in
    kube-apiserver) start_apiserver ;;
    etcd) start_etcd ;;
    kwok) start_kwok ;;
    echo) e2e_die "restarting the echo servers would change their ports; use down/up" ;;
  esac
  e2e_log "started $comp"
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  env) [ -f "$RUN/env" ] || e2e_die "no cluster in $RUN (run: $0 up)"; cat "$RUN/env" ;;
  status) cmd_status ;;
  stop|start) [ $# -ge 2 ] || e2e_die "usage: $0 $1 apiserver|kwok|etcd"; cmd_component "$1" "$2" ;;
  pod-create) [ $# -ge 3 ] || e2e_die "usage: $0 pod-create NAME APP"; pod_create "$2" "$3" ;;
  pod-delete) [ $# -ge 2 ] || e2e_die "usage: $0 pod-delete NAME"; pod_delete "$2" ;;
  *) sed -n '2,25p' "$0" >&2; exit 2 ;;
esac
