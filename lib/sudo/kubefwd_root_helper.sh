#!/bin/sh
# kubefwd-daemon root helper: the only program the sudoers rule of kubefwd-daemon allows. Installed root-owned by
# `kubefwd-daemon sudoers | sudo sh`; the values below were fixed at install time. It runs as root, so it trusts
# nothing of its caller: not the environment (sudo's env_reset, then a fixed one), not PATH, not the
# arguments (each checked against the one shape kubefwd-daemon produces). Verbs:
#   run svc ARGS...     exec the installed kubefwd with ARGS (flags allowlist, values checked, files the caller's)
#   check svc ARGS...   the same checks, then print "ok" instead of running anything
#   kill PID            SIGKILL a kubefwd that this helper started for the same caller (a stuck one)
#   hosts-remove IP...  remove the hosts lines of these addresses, each inside kubefwd-daemon's 127.N.x.x ranges
# Refusals print "Error: kubefwd-daemon root helper refused: ..." and exit 64.
set -u
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH
unset IFS CDPATH ENV BASH_ENV TMPDIR
umask 077

KFD_KUBEFWD=@KUBEFWD@
KFD_HOSTS=@HOSTS@
KFD_HOME=@HOME@

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
    matches '^[^[:cntrl:]]+$' "$2" || refuse "$1: not a context name" ;;
  -c | --kubeconfig)
    callers_file "$2" || refuse "$1: not an absolute path of a regular file owned by uid $uid and writable only by it" ;;
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
  kubeconfigs=0 fwdconfs=0 namespaces=0
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
    -c | --kubeconfig) kubeconfigs=$((kubeconfigs + 1)) ;;
    -z | --fwd-conf) fwdconfs=$((fwdconfs + 1)) ;;
    -n | --namespace) namespaces=$((namespaces + 1)) ;;
    esac
  done
  [ "$kubeconfigs" = 1 ] || refuse "exactly one -c (kubeconfig) is required"
  [ "$fwdconfs" = 1 ] || refuse "exactly one -z (the profile's address range) is required"
  [ "$namespaces" -gt 0 ] || refuse "at least one -n (namespace) is required"
}

kill_kubefwd() {
  [ $# = 1 ] || refuse "usage: kill PID"
  case $1 in '' | *[!0-9]* | 0*) refuse "not a pid: $(printf '%s' "$1" | tr -c '[:print:]' '?')" ;; esac
  if [ -d /proc/self ]; then
    exe=$(readlink "/proc/$1/exe" 2>/dev/null) || refuse "no process $1"
    [ "$exe" = "$KFD_KUBEFWD" ] || refuse "process $1 is not $KFD_KUBEFWD"
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
  # Lines whose first field is one of the addresses go; every other line stays as it was. Written in place
  # (truncate + write, as kubefwd does), so the file's owner, mode and any bind mount are kept.
  if awk -v list=" $* " 'index(list, " " $1 " ") == 0 || $1 == "" { print }' "$KFD_HOSTS" >"$tmp"; then
    cat "$tmp" >"$KFD_HOSTS"
    status=$?
  else
    status=1
  fi
  rm -f "$tmp"
  exit "$status"
}

verb=${1:-}
[ $# -gt 0 ] && shift
case $verb in
run)
  check_args "$@"
  mkdir -p "$KFD_HOME" && chmod 700 "$KFD_HOME" && cd "$KFD_HOME" || refuse "cannot use $KFD_HOME"
  # kubefwd copies the hosts file to $HOME/hosts.original as root: a root-owned directory, never the caller's.
  exec env -i HOME="$KFD_HOME" PATH="$PATH" KUBEFWD_DAEMON_UID="$uid" "$KFD_KUBEFWD" "$@" ;;
check)
  check_args "$@"
  echo ok ;;
kill) kill_kubefwd "$@" ;;
hosts-remove) hosts_remove "$@" ;;
*) refuse "usage: run|check svc ARGS... | kill PID | hosts-remove IP..." ;;
esac
