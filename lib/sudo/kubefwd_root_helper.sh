#!/bin/sh
# kubefwd-daemon root helper: the only program the sudoers rule of kubefwd-daemon allows. Installed root-owned by
# `kubefwd-daemon sudoers | sudo sh`; the values below were fixed at install time. It runs as root, so it trusts
# nothing of its caller: not the environment (sudo's env_reset, then a fixed one), not PATH, not the
# arguments (each checked against the one shape kubefwd-daemon produces). Verbs:
#   run [--user-command CMD] svc ARGS...
#                       exec the installed kubefwd with ARGS (flags allowlist, values checked, files the
#                       caller's). With the credential broker (KFD_BROKER=1), kubefwd never reads the caller's
#                       kubeconfig: CMD (kubefwd-daemon) run as the caller prints the cluster's server and CA, and
#                       kubefwd gets a root-owned kubeconfig of those checked values whose only credential is
#                       an exec plugin that is this helper's `credential` verb
#   check [--user-command CMD] svc ARGS...
#                       the same checks, then print "ok" instead of running anything
#   credential UID CMD KUBECONFIG [CONTEXT]
#                       (the exec plugin of that kubeconfig) run CMD as UID to print the context's credential:
#                       the caller's exec plugins, token files and keys are run and read as the caller
#   kill PID            SIGKILL a kubefwd that this helper started for the same caller (a stuck one)
#   hosts-remove IP...  remove the hosts lines of these addresses, each inside kubefwd-daemon's 127.N.x.x ranges
# Refusals print "Error: kubefwd-daemon root helper refused: ..." and exit 64.
set -u
unset IFS CDPATH ENV BASH_ENV TMPDIR
umask 077

KFD_KUBEFWD=@KUBEFWD@
KFD_HOSTS=@HOSTS@
KFD_HOME=@HOME@
KFD_SELF=@SELF@
KFD_BROKER=@BROKER@
KFD_PATH=@PATH@

PATH=$KFD_PATH
export PATH

refuse() {
  printf 'Error: kubefwd-daemon root helper refused: %s\n' "$*" >&2
  exit 64
}

# The user the rule was used by (sudo sets SUDO_UID); run directly, the caller itself.
uid=${SUDO_UID:-}
[ -n "$uid" ] || uid=$(id -u)
case $uid in '' | *[!0-9]*) refuse "SUDO_UID is not a number" ;; esac

# matches ERE VALUE: VALUE (one line, no control characters) matches the extended regular expression.
matches() {
  case $2 in *[[:cntrl:]]*) return 1 ;; esac
  printf '%s\n' "$2" | grep -Eq -- "$1"
}

# An address inside kubefwd-daemon's profile ranges: 127.N.x.y with N in 3..255, canonical decimal octets.
OCTET='(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])'
RANGE_IP="127\\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[3-9])\\.$OCTET\\.$OCTET"
in_range() { matches "^$RANGE_IP\$" "$1"; }

# Every IPv4 address written in $1 lies inside the ranges.
ips_in_range() {
  for found in $(printf '%s\n' "$1" | grep -Eo '[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+'); do
    in_range "$found" || return 1
  done
  return 0
}

# A regular file (symlinks followed) owned by the caller or root and writable by nobody else: a file another
# user planted, or one of root's, is never read by the root kubefwd.
callers_file() {
  case $1 in /*) ;; *) return 1 ;; esac
  [ -f "$1" ] || return 1
  [ -n "$(find -H "$1" -prune -type f \( -user "$uid" -o -user 0 \) ! -perm -020 ! -perm -002 -print 2>/dev/null)" ]
}

check_value() { # FLAG VALUE
  case $2 in -*) refuse "the value of $1 must not start with '-'" ;; esac
  case $1 in
  -n | --namespace)
    matches '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(,[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$' "$2" ||
      refuse "$1: not a namespace name" ;;
  -l | --selector | -f | --field-selector)
    matches '^[A-Za-z0-9._/=!,() -]+$' "$2" || refuse "$1: not a selector" ;;
  -x | --context)
    matches '^[^[:cntrl:]"\\]+$' "$2" || refuse "$1: not a context name" ;;
  -c | --kubeconfig)
    callers_file "$2" || refuse "$1: not an absolute path of a regular file owned by uid $uid and writable only by it"
    matches '^[^"\\]+$' "$2" || refuse "$1: a path with a quote or backslash" ;;
  -z | --fwd-conf)
    callers_file "$2" || refuse "$1: not an absolute path of a regular file owned by uid $uid and writable only by it"
    base=$(sed -n 's/^baseUnreservedIP:[[:space:]]*//p' "$2")
    in_range "$base" || refuse "$1: baseUnreservedIP must be inside 127.3.0.0-127.255.255.255"
    ips_in_range "$(cat "$2")" || refuse "$1: every address in it must be inside 127.3.0.0-127.255.255.255" ;;
  -d | --domain)
    matches '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$' "$2" || refuse "$1: not a domain name" ;;
  -m | --mapping)
    matches '^[0-9]{1,5}:[0-9]{1,5}(,[0-9]{1,5}:[0-9]{1,5})*$' "$2" || refuse "$1: not a port mapping" ;;
  -r | --reserve)
    matches '^[A-Za-z0-9._:,-]+$' "$2" && ips_in_range "$2" || refuse "$1: not a reservation inside 127.3.0.0-127.255.255.255" ;;
  -t | --timeout)
    matches '^[0-9]{1,9}$' "$2" || refuse "$1: not a number of seconds" ;;
  --resync-interval | --retry-interval)
    matches '^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$' "$2" || refuse "$1: not a duration" ;;
  --hosts-path)
    [ "$2" = "$KFD_HOSTS" ] || refuse "$1: only $KFD_HOSTS" ;;
  esac
}

# The argv shape of kubefwd-daemon: `svc`, then flags of the allowlist, each value checked.
check_args() {
  [ "${1:-}" = svc ] || refuse "the first argument must be svc"
  shift
  kubeconfigs=0 fwdconfs=0 namespaces=0 contexts=0 kubeconfig= context= fwdconf=
  while [ $# -gt 0 ]; do
    arg=$1
    shift
    case $arg in
    --*=*) flag=${arg%%=*} value=${arg#*=} inline=1 ;;
    *) flag=$arg value= inline=0 ;;
    esac
    case $flag in
    -a | --auto-reconnect | -v | --verbose | -A | --all-namespaces | -b | --refresh-backup)
      [ "$inline" = 0 ] || refuse "$flag takes no value"
      [ "$flag" = -A ] || [ "$flag" = --all-namespaces ] && namespaces=$((namespaces + 1))
      continue ;;
    -n | --namespace | -l | --selector | -c | --kubeconfig | -x | --context | -z | --fwd-conf | -f | \
      --field-selector | -d | --domain | -m | --mapping | -r | --reserve | -t | --timeout | \
      --resync-interval | --retry-interval | --hosts-path) ;;
    *) refuse "argument not allowed: $(printf '%s' "$flag" | tr -c '[:print:]' '?')" ;;
    esac
    if [ "$inline" = 0 ]; then
      [ $# -gt 0 ] || refuse "$flag needs a value"
      value=$1
      shift
    fi
    check_value "$flag" "$value"
    case $flag in
    -c | --kubeconfig) kubeconfigs=$((kubeconfigs + 1)) kubeconfig=$value ;;
    -x | --context) contexts=$((contexts + 1)) context=$value ;;
    -z | --fwd-conf) fwdconfs=$((fwdconfs + 1)) fwdconf=$value ;;
    -n | --namespace) namespaces=$((namespaces + 1)) ;;
    esac
  done
  [ "$kubeconfigs" = 1 ] || refuse "exactly one -c (kubeconfig) is required"
  [ "$fwdconfs" = 1 ] || refuse "exactly one -z (the profile's address range) is required"
  [ "$namespaces" -gt 0 ] || refuse "at least one -n (namespace) is required"
  [ "$contexts" -le 1 ] || refuse "at most one -x (context)"
}

# The user command (kubefwd-daemon) the credential broker runs as the caller.
check_user_command() {
  [ "$KFD_BROKER" = 1 ] || return 0
  [ -n "$user_command" ] || refuse "--user-command is required: the credential broker runs kubefwd-daemon as uid $uid"
  case $user_command in /*) ;; *) refuse "--user-command must be an absolute path" ;; esac
  matches '^[^"\\]+$' "$user_command" || refuse "--user-command: a path with a quote or backslash"
}

# as_user UID CMD ARGS...: CMD as that user (its groups, a login-like environment), from /.
as_user() {
  target=$1
  shift
  command -v setpriv >/dev/null 2>&1 ||
    refuse "the credential broker needs setpriv (util-linux); reinstall with kubefwd-daemon sudoers --kubeconfig-as-is"
  group=$(id -g "$target" 2>/dev/null) || refuse "no user with uid $target"
  (cd / && exec setpriv --reuid "$target" --regid "$group" --init-groups --reset-env -- "$@")
}

# The root-owned kubeconfig root kubefwd reads instead of the caller's: the server, CA and proxy the user
# command printed (each checked), and an exec plugin that is this helper's `credential` verb.
broker_kubeconfig() {
  dir=$KFD_HOME/kubeconfigs
  mkdir -p "$dir" && chmod 700 "$dir" || refuse "cannot use $dir"
  err=$(mktemp "$dir/.err.XXXXXX") || refuse "mktemp failed"
  if [ -n "$context" ]; then
    info=$(as_user "$uid" "$user_command" kube broker-cluster --kubeconfig "$kubeconfig" --context "$context" 2>"$err")
  else
    info=$(as_user "$uid" "$user_command" kube broker-cluster --kubeconfig "$kubeconfig" 2>"$err")
  fi
  status=$?
  why=$(tail -n 1 "$err" | tr -c '[:print:]' ' ')
  rm -f "$err"
  [ "$status" = 0 ] || refuse "the credential broker could not read the cluster (as uid $uid): $why"
  server= ca= proxy=
  while IFS= read -r line; do
    case $line in
    server=*) server=${line#*=} ;;
    certificate-authority-data=*) ca=${line#*=} ;;
    proxy-url=*) proxy=${line#*=} ;;
    '') ;;
    *) refuse "the credential broker printed an unexpected line" ;;
    esac
  done <<EOF_INFO
$info
EOF_INFO
  HOSTPORT='([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?'
  matches "^https://$HOSTPORT(/[A-Za-z0-9._~/-]*)?\$" "$server" || refuse "the cluster's server is not an https URL"
  [ -z "$ca" ] || matches '^[A-Za-z0-9+/]+={0,2}$' "$ca" || refuse "the cluster's CA is not base64"
  [ -z "$proxy" ] || matches "^(https?|socks5)://$HOSTPORT/?\$" "$proxy" || refuse "the cluster's proxy-url is not a plain URL"
  name=$(printf '%s' "$(basename "$fwdconf" .fwdconf.yml)" | tr -c 'A-Za-z0-9._-' '_')
  generated=$dir/$uid-$name.kubeconfig
  {
    printf 'apiVersion: v1\nkind: Config\nclusters:\n- name: kubefwd-daemon\n  cluster:\n    server: "%s"\n' "$server"
    [ -z "$ca" ] || printf '    certificate-authority-data: "%s"\n' "$ca"
    [ -z "$proxy" ] || printf '    proxy-url: "%s"\n' "$proxy"
    printf 'users:\n- name: kubefwd-daemon\n  user:\n    exec:\n'
    printf '      apiVersion: client.authentication.k8s.io/v1\n      interactiveMode: Never\n'
    printf '      command: "%s"\n' "$KFD_SELF"
    printf '      args: ["credential", "%s", "%s", "%s", "%s"]\n' "$uid" "$user_command" "$kubeconfig" "$context"
    printf 'contexts:\n- name: kubefwd-daemon\n  context:\n    cluster: kubefwd-daemon\n    user: kubefwd-daemon\n'
    printf 'current-context: kubefwd-daemon\n'
  } >"$generated" || refuse "cannot write $generated"
}

credential() {
  [ $# -ge 3 ] && [ $# -le 4 ] || refuse "usage: credential UID COMMAND KUBECONFIG [CONTEXT]"
  case $1 in '' | *[!0-9]*) refuse "not a uid" ;; esac
  # Through sudo a caller may only ask for its own credential (it could run the command itself anyway).
  [ -z "${SUDO_UID:-}" ] || [ "$SUDO_UID" = "$1" ] || refuse "uid $1 is not the caller's"
  if [ -n "${4:-}" ]; then
    as_user "$1" "$2" kube broker-credential --kubeconfig "$3" --context "$4"
  else
    as_user "$1" "$2" kube broker-credential --kubeconfig "$3"
  fi
  exit $?
}

kill_kubefwd() {
  [ $# = 1 ] || refuse "usage: kill PID"
  case $1 in '' | *[!0-9]* | 0*) refuse "not a pid: $(printf '%s' "$1" | tr -c '[:print:]' '?')" ;; esac
  if [ -d /proc/self ]; then
    exe=$(readlink "/proc/$1/exe" 2>/dev/null) || refuse "no process $1"
    # /proc/PID/exe names the file after symlinks (a Nix store's bin/kubefwd may be one).
    real=$(readlink -f "$KFD_KUBEFWD" 2>/dev/null) || real=$KFD_KUBEFWD
    [ "$exe" = "$real" ] || refuse "process $1 is not $KFD_KUBEFWD"
    tr '\0' '\n' <"/proc/$1/environ" | grep -qx "KUBEFWD_DAEMON_UID=$uid" ||
      refuse "process $1 was not started by this helper for uid $uid"
  else
    [ "$(ps -p "$1" -o comm= 2>/dev/null)" = "$KFD_KUBEFWD" ] || refuse "process $1 is not $KFD_KUBEFWD"
  fi
  exec kill -KILL "$1"
}

hosts_remove() {
  [ $# -gt 0 ] || refuse "usage: hosts-remove IP..."
  for ip in "$@"; do
    in_range "$ip" || refuse "address outside kubefwd-daemon's ranges: $(printf '%s' "$ip" | tr -c '[:print:]' '?')"
  done
  tmp=$(mktemp /tmp/kubefwd-daemon-hosts.XXXXXX) || refuse "mktemp failed"
  # Lines whose first field is one of the addresses go; every other line stays as it was. Written in place,
  # so the file's owner, mode and any bind mount are kept, and never shorter than the new content: the new
  # lines padded to the old length with a comment line, then cut to their own length (a helper killed in
  # between leaves a harmless comment, never an empty hosts file).
  if awk -v list=" $* " 'index(list, " " $1 " ") == 0 || $1 == "" { print }' "$KFD_HOSTS" >"$tmp"; then
    size=$(wc -c <"$tmp" | tr -d ' ')
    pad=$(($(wc -c <"$KFD_HOSTS" | tr -d ' ') - size))
    if [ "$pad" -ge 2 ]; then
      printf '#%*s\n' "$((pad - 2))" '' >>"$tmp"
    elif [ "$pad" -eq 1 ]; then
      printf '#' >>"$tmp"
    fi
    dd if="$tmp" of="$KFD_HOSTS" conv=notrunc 2>/dev/null && dd if=/dev/null of="$KFD_HOSTS" bs=1 seek="$size" 2>/dev/null
    status=$?
  else
    status=1
  fi
  rm -f "$tmp"
  exit "$status"
}

verb=${1:-}
[ $# -gt 0 ] && shift
user_command=
if [ "$verb" = run ] || [ "$verb" = check ]; then
  if [ "${1:-}" = --user-command ]; then
    [ $# -ge 2 ] || refuse "--user-command needs a value"
    user_command=$2
    shift 2
  fi
fi
case $verb in
run)
  check_args "$@"
  check_user_command
  mkdir -p "$KFD_HOME" && chmod 700 "$KFD_HOME" && cd "$KFD_HOME" || refuse "cannot use $KFD_HOME"
  if [ "$KFD_BROKER" = 1 ]; then
    broker_kubeconfig
    # kubefwd's arguments with -c the generated kubeconfig and no -x (it has one context).
    n=$#
    while [ "$n" -gt 0 ]; do
      arg=$1
      shift
      n=$((n - 1))
      case $arg in
      -c | --kubeconfig) shift; n=$((n - 1)); set -- "$@" -c "$generated" ;;
      --kubeconfig=*) set -- "$@" -c "$generated" ;;
      -x | --context) shift; n=$((n - 1)) ;;
      --context=*) ;;
      *) set -- "$@" "$arg" ;;
      esac
    done
  fi
  # kubefwd copies the hosts file to $HOME/hosts.original as root: a root-owned directory, never the caller's.
  exec env -i HOME="$KFD_HOME" PATH="$PATH" KUBEFWD_DAEMON_UID="$uid" "$KFD_KUBEFWD" "$@" ;;
check)
  check_args "$@"
  check_user_command
  echo ok ;;
credential) credential "$@" ;;
kill) kill_kubefwd "$@" ;;
hosts-remove) hosts_remove "$@" ;;
*) refuse "usage: run|check [--user-command CMD] svc ARGS... | credential UID CMD KUBECONFIG [CONTEXT] | kill PID | hosts-remove IP..." ;;
esac
