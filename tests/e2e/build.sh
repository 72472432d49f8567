#!/usr/bin/env bash
# Build the e2e binaries from the Go module proxy with the machine's Go, cached outside the repo:
# (kubefwd versions the proxy refuses are built from a pinned upstream source tarball in ../shared/third_party
# when it is there, and skipped otherwise)
#   $KFD_E2E_CACHE/<component>-<version>/<binary>   (default cache: ~/.cache/kubefwd-daemon-e2e)
# A component is skipped when its cached binary already reports the expected version.
#
# usage: tests/e2e/build.sh [component...]
#   components: etcd kube-apiserver kubectl kwok kubefwd kubefwd-<version>   (default: all)
# env:   KFD_E2E_CACHE, KFD_E2E_GO (default /usr/local/go/bin/go), KFD_E2E_GO_P (parallel compiles, default 2),
#        E2E_ETCD_VERSION, E2E_K8S_VERSION, E2E_KWOK_VERSION, E2E_KUBEFWD_VERSIONS,
#        KFD_E2E_KUBEFWD_SRC (kubefwd 1.25.16 source tarball; default $REPO/../shared/third_party/kubefwd-1.25.16-src.tar.gz)
# Wall times of real builds are appended to $KFD_E2E_CACHE/build-times.log.
# Exit status: 0 when every requested component is present or skipped (kubefwd version neither served nor
# available as source), 1 otherwise (the summary says which failed or were skipped).
set -uo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

GO="$KFD_E2E_GO"
[ -x "$GO" ] || GO="$(command -v go || true)"
[ -n "$GO" ] || e2e_die "no Go toolchain (looked for $KFD_E2E_GO and go on PATH)"
export GOFLAGS="-buildvcs=false -p=${KFD_E2E_GO_P:-2}"
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
mkdir -p "$KFD_E2E_CACHE"
TIMES="$KFD_E2E_CACHE/build-times.log"
GOMODS="$KFD_E2E_DIR/gomod"

declare -a FAILED=() SUMMARY=()

# have_version BIN EXPECTED CMD...: true when BIN exists and `BIN CMD...` prints a line containing EXPECTED.
have_version() {
  local bin="$1" want="$2"; shift 2
  [ -x "$bin" ] || return 1
  local out; out="$("$bin" "$@" 2>&1 | head -5)" || true
  grep -qF -- "$want" <<<"$out"
}

# build_component NAME VERSION BIN WANT 'version args' BUILD_FUNC
build_component() {
  local name="$1" ver="$2" bin="$3" want="$4" vargs="$5" fn="$6"
  local dir; dir="$(dirname "$bin")"
  mkdir -p "$dir"
  # One builder per component at a time (other runs or engineers share the cache).
  exec {lockfd}>"$dir/.lock"
  flock "$lockfd"
  # shellcheck disable=SC2086
  if have_version "$bin" "$want" $vargs; then
    SUMMARY+=("$name $ver: cached ($bin)")
    exec {lockfd}>&-
    return 0
  fi
  e2e_log "building $name $ver -> $bin (log: $dir/build.log)"
  local t0 t1 rc
  t0=$(date +%s)
  ( "$fn" "$dir" "$ver" ) >"$dir/build.log" 2>&1
  rc=$?
  t1=$(date +%s)
  # shellcheck disable=SC2086
  if [ $rc -eq 0 ] && have_version "$bin" "$want" $vargs; then
    local from=""; [ -f "$dir/SOURCE" ] && from=" ($(cat "$dir/SOURCE"))"
    printf '%s %s %s %ss go=%s%s\n' "$(date -u +%FT%TZ)" "$name" "$ver" "$((t1 - t0))" "$("$GO" env GOVERSION)" "$from" >>"$TIMES"
    SUMMARY+=("$name $ver: built in $((t1 - t0))s$from")
  elif [ $rc -eq "${SKIP_RC:-3}" ]; then
    SUMMARY+=("$name $ver: SKIPPED, not available here: $(grep '^== ' "$dir/build.log" | tail -1 | cut -c4-)")
    e2e_log "$name $ver skipped: $(grep '^== ' "$dir/build.log" | tail -1 | cut -c4-)"
  else
    SUMMARY+=("$name $ver: FAILED after $((t1 - t0))s (rc=$rc, see $dir/build.log)")
    FAILED+=("$name-$ver")
    tail -5 "$dir/build.log" >&2
  fi
  exec {lockfd}>&-
}

k8s_ldflags() {
  local v="$1" minor="${1#*.}"; minor="${minor%%.*}"
  printf '%s' "-s -w -X k8s.io/component-base/version.gitVersion=v$v -X k8s.io/component-base/version.gitMajor=1 \
-X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean \
-X k8s.io/component-base/version.buildDate=1970-01-01T00:00:00Z"
}

# --- build functions: $1 = output dir, $2 = version ------------------------------------------------

b_etcd() {
  # go install is refused (etcd's server/go.mod has replace directives): build through the wrapper module.
  cd "$GOMODS/etcd" || return 1
  grep -q "go.etcd.io/etcd/server/v3 v$2" go.mod || { echo "gomod/etcd pins another etcd than v$2"; return 1; }
  CGO_ENABLED=0 "$GO" build -trimpath -ldflags "-s -w" -o "$1/etcd.tmp" go.etcd.io/etcd/server/v3 && mv "$1/etcd.tmp" "$1/etcd"
}

b_k8s() { # $3 = cmd name
  cd "$GOMODS/k8s" || return 1
  grep -q "k8s.io/kubernetes v$2" go.mod || { echo "gomod/k8s pins another k8s.io/kubernetes than v$2"; return 1; }
  CGO_ENABLED=0 "$GO" build -trimpath -ldflags "$(k8s_ldflags "$2")" -o "$1/$3.tmp" "k8s.io/kubernetes/cmd/$3" \
    && mv "$1/$3.tmp" "$1/$3"
}
b_apiserver() { b_k8s "$1" "$2" kube-apiserver; }
b_kubectl() { b_k8s "$1" "$2" kubectl; }

b_kwok() {
  # No replace directives in kwok's go.mod, so plain go install works. Version is a constant in pkg/consts.
  cd "$1" && CGO_ENABLED=0 GOBIN="$1" "$GO" install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@v$2"
}

# Upstream source tarballs to fall back on when the Go module proxy refuses a kubefwd version (it refuses
# everything but v1.22.3 here). Only versions with a pinned sha256 are built from a tarball; see
# ../shared/third_party/README.md. The tarball is read where it is, never copied into the repo.
declare -A KUBEFWD_SRC_SHA256=(
  [1.25.16]=7a79f4d70108b178ce9dc4b43cb56584d4ccb5641fdcaa65ed3fc202f83c47b7
)
REPO="$(cd "$KFD_E2E_DIR/../.." && pwd)"
# kubefwd_src VERSION: the tarball path (KFD_E2E_KUBEFWD_SRC overrides it for 1.25.16)
kubefwd_src() {
  if [ "$1" = 1.25.16 ] && [ -n "${KFD_E2E_KUBEFWD_SRC:-}" ]; then echo "$KFD_E2E_KUBEFWD_SRC"
  else realpath -m "$REPO/../shared/third_party/kubefwd-$1-src.tar.gz"; fi
}
# exit status of a build function meaning "not buildable here, nothing to fall back on": skipped, not failed
SKIP_RC=3

b_kubefwd() {
  # Same ldflags as upstream goreleaser, so `kubefwd version quiet` prints the version.
  # `go install github.com/txn2/kubefwd/cmd/kubefwd@vX` fails here even for a served version: go install looks up
  # the module's deprecation through @v/list, which the proxy refuses (403). A wrapper module (gomod/kubefwd-<v>,
  # requiring exactly that version, so the same dependency set as upstream's go.mod) avoids the lookup.
  local ld="-s -w -X main.Version=$2"
  rm -f "$1/SOURCE"
  if [ -f "$GOMODS/kubefwd-$2/go.mod" ]; then
    cd "$GOMODS/kubefwd-$2" || return 1
    grep -q "github.com/txn2/kubefwd v$2" go.mod || { echo "gomod/kubefwd-$2 pins another kubefwd"; return 1; }
    CGO_ENABLED=0 "$GO" build -trimpath -ldflags "$ld" -o "$1/kubefwd.tmp" github.com/txn2/kubefwd/cmd/kubefwd \
      && mv "$1/kubefwd.tmp" "$1/kubefwd" && echo "source: Go module proxy (gomod/kubefwd-$2)" >"$1/SOURCE"
    return
  fi
  # The normal upstream channel first.
  echo "== go install github.com/txn2/kubefwd/cmd/kubefwd@v$2 (Go module proxy)"
  if (cd "$1" && CGO_ENABLED=0 GOBIN="$1" "$GO" install -trimpath -ldflags "$ld" "github.com/txn2/kubefwd/cmd/kubefwd@v$2"); then
    echo "source: Go module proxy" >"$1/SOURCE"
    return 0
  fi
  # Fallback: the pinned upstream source tarball (its dependencies come from the proxy, which serves them).
  local src want got work
  src="$(kubefwd_src "$2")"; want="${KUBEFWD_SRC_SHA256[$2]:-}"
  if [ -z "$want" ]; then echo "== the proxy refused kubefwd v$2 and no source tarball is pinned for it"; return $SKIP_RC; fi
  if [ ! -f "$src" ]; then echo "== the proxy refused kubefwd v$2 and $src is absent"; return $SKIP_RC; fi
  got="$(sha256sum "$src" | cut -d' ' -f1)"
  [ "$got" = "$want" ] || { echo "== $src: sha256 $got, expected $want: not building from it"; return 1; }
  echo "== the proxy refused kubefwd v$2: building from $src (sha256 ok)"
  work="$(mktemp -d "${TMPDIR:-/tmp}/kfd-kubefwd-src.XXXXXX")" || return 1
  tar -xzf "$src" -C "$work" || { rm -rf "$work"; return 1; }
  ( cd "$work/kubefwd-$2" && CGO_ENABLED=0 "$GO" build -trimpath -ldflags "$ld" -o "$1/kubefwd.tmp" ./cmd/kubefwd ) \
    && mv "$1/kubefwd.tmp" "$1/kubefwd" && echo "source: $src (sha256 $got)" >"$1/SOURCE"
  local rc=$?
  rm -rf "$work"
  return $rc
}

# --- main ------------------------------------------------------------------------------------------

want=("$@")
[ ${#want[@]} -gt 0 ] || want=(kube-apiserver etcd kwok kubectl kubefwd)
e2e_log "Go: $("$GO" version); cache: $KFD_E2E_CACHE; GOFLAGS=$GOFLAGS"
for c in "${want[@]}"; do
  case "$c" in
    etcd) build_component etcd "$E2E_ETCD_VERSION" "$E2E_ETCD_BIN" "etcd Version: $E2E_ETCD_VERSION" "--version" b_etcd ;;
    kube-apiserver) build_component kube-apiserver "$E2E_K8S_VERSION" "$E2E_APISERVER_BIN" "Kubernetes v$E2E_K8S_VERSION" "--version" b_apiserver ;;
    kubectl) build_component kubectl "$E2E_K8S_VERSION" "$E2E_KUBECTL_BIN" "Client Version: v$E2E_K8S_VERSION" "version --client" b_kubectl ;;
    kwok) build_component kwok "$E2E_KWOK_VERSION" "$E2E_KWOK_BIN" "$E2E_KWOK_VERSION" "--version" b_kwok ;;
    kubefwd) for v in $E2E_KUBEFWD_VERSIONS; do
               build_component kubefwd "$v" "$(kubefwd_bin "$v")" "$v" "version quiet" b_kubefwd
             done ;;
    kubefwd-*) v="${c#kubefwd-}"; build_component kubefwd "$v" "$(kubefwd_bin "$v")" "$v" "version quiet" b_kubefwd ;;
    *) e2e_die "unknown component: $c" ;;
  esac
done

printf '%s\n' "${SUMMARY[@]}" >&2
if [ ${#FAILED[@]} -gt 0 ]; then
  e2e_log "failed: ${FAILED[*]}"
  exit 1
fi
