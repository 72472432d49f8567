# The root helper (lib/sudo/kubefwd_root_helper.sh) with its values fixed, rendered exactly as
# `kubefwd-daemon sudoers` renders it (lib/sudo/root_helper.ts, renderRootHelper): each `KFD_X=@X@` line
# becomes `KFD_X='value'`, single-quoted, because the daemon reads the values back in that form
# (parseInstalledHelper; nixpkgs' escapeShellArg leaves plain words unquoted). Plain string work at
# evaluation time, so the offline tests (tests/nix/) see the whole text.
{ lib, pkgs }:
let
  template = builtins.readFile ../lib/sudo/kubefwd_root_helper.sh;
  quote = s: "'${lib.replaceStrings [ "'" ] [ "'\\''" ] s}'";
  # The tools the helper runs (id, grep, sed, awk, find, mktemp, readlink, kill, env, setpriv, …): NixOS has
  # none in /usr/bin, so the helper's PATH is their store directories.
  path = lib.makeBinPath [
    pkgs.coreutils
    pkgs.findutils
    pkgs.gnugrep
    pkgs.gnused
    pkgs.gawk
    pkgs.util-linux
  ];
in
{
  # Where the daemon looks for a helper installed outside /usr/local/libexec (lib/sudo/root_helper.ts).
  env = "KUBEFWD_DAEMON_ROOT_HELPER";

  # kubefwd: the program it runs (the helper compares /proc/PID/exe with it after symlinks); hosts: the
  # hosts file; self: where the helper is installed (its generated kubeconfigs name it as their exec plugin);
  # broker: false is `sudoers --kubeconfig-as-is` (root kubefwd reads the user's kubeconfig itself). HOME is
  # the `sudoers` default.
  render =
    {
      kubefwd,
      hosts,
      self,
      broker ? true,
    }:
    let
      values = {
        KUBEFWD = kubefwd;
        HOSTS = hosts;
        HOME = "/var/lib/kubefwd-daemon";
        SELF = self;
        BROKER = if broker then "1" else "0";
        PATH = path;
      };
      placeholders = lib.mapAttrs' (name: value: {
        name = "KFD_${name}=@${name}@";
        value = "KFD_${name}=${quote value}";
      }) values;
      lines = lib.splitString "\n" template;
      missing = lib.filter (line: lib.count (l: l == line) lines != 1) (lib.attrNames placeholders);
    in
    assert lib.assertMsg (missing == [ ])
      "lib/sudo/kubefwd_root_helper.sh has not exactly one of these lines: ${lib.concatStringsSep ", " missing}";
    lib.concatStringsSep "\n" (map (line: placeholders.${line} or line) lines);
}
