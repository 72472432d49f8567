# What the home-manager, NixOS and nix-darwin modules share: the `services.kubefwd-daemon` options, the
# generated config file, and the daemon's command line, PATH and restart policy (the same choices as
# `kubefwd-daemon service print`, see cli/service/units.ts). Needs only nixpkgs' lib and `pkgs` attributes
# that are plain values, so the modules evaluate offline with stub packages (tests/nix/).
{ lib, pkgs }:
let
  inherit (lib) mkOption mkEnableOption types literalExpression;

  # A JSON value (what the YAML config can hold), for the freeform parts of `settings` (RFC 42).
  jsonValue =
    let
      valueType = types.nullOr (
        types.oneOf [
          types.bool
          types.int
          types.float
          types.str
          types.path
          (types.attrsOf valueType)
          (types.listOf valueType)
        ]
      ) // { description = "JSON value"; };
    in
    valueType;

  nullOr = t: default: description: mkOption { type = types.nullOr t; inherit default description; };

  # One profile: the keys that matter typed, the policies (retry, health, forward_failures) freeform; the
  # daemon's validator checks every key and value again (`kubefwd-daemon config validate`).
  profileType = types.submodule {
    freeformType = types.attrsOf jsonValue;
    options = {
      enabled = nullOr types.bool null "Whether the daemon runs this profile (the daemon's default: true).";
      kubeconfig = nullOr types.str null "Kubeconfig for kubefwd's `-c` (default `~/.kube/config`).";
      context = nullOr types.str null "Context for `-x`; the kubeconfig's current-context when null.";
      namespaces = mkOption {
        type = types.nonEmptyListOf types.str;
        description = "Namespaces to forward (`-n`); required.";
        example = [ "development" ];
      };
      labels = nullOr (types.listOf types.str) null "Label selectors on services (`-l`, joined with commas).";
      exclude_services = nullOr (types.listOf types.str) null "Glob patterns of service names never forwarded.";
      domain = nullOr types.str null "Extra hostname suffix (`-d`).";
      mapping = nullOr (types.listOf types.str) null "Port remaps `svcPort:localPort` (`-m`).";
      extra_args = nullOr (types.listOf types.str) null "Arguments appended to this profile's kubefwd.";
    };
  };

  settingsType = types.submodule {
    freeformType = types.attrsOf jsonValue;
    options = {
      daemon.log_level = nullOr (types.enum [
        "debug"
        "info"
        "warn"
        "error"
      ]) null "Least severe level written to the log file (the daemon's default: info).";
      kubefwd = {
        path = mkOption {
          type = types.str;
          description = "The kubefwd executable (defaults to the `kubefwdPackage`'s, else `kubefwd` on PATH).";
        };
        privilege = nullOr (types.enum [
          "auto"
          "sudo"
          "none"
        ]) null "auto: sudo -n unless the daemon is root; sudo: always; none: never.";
        extra_args = nullOr (types.listOf types.str) null "Arguments appended to every kubefwd command line.";
      };
      profiles = mkOption {
        type = types.attrsOf profileType;
        default = { };
        description = "Profiles, as in the YAML file; `services.kubefwd-daemon.profiles` adds to them.";
      };
    };
  };

  # Drop nulls (unset options) and the groups left empty by them, so the file holds only what was set.
  clean =
    v:
    if builtins.isAttrs v then
      lib.filterAttrs (_: x: x != { }) (lib.mapAttrs (_: clean) (lib.filterAttrs (_: x: x != null) v))
    else if builtins.isList v then
      map clean v
    else
      v;
in
rec {
  inherit jsonValue profileType;

  # The options under `services.kubefwd-daemon` common to all three modules.
  options = {
    enable = mkEnableOption "kubefwd-daemon, which keeps kubefwd port-forwards alive (one kubefwd per profile)";
    package = lib.mkPackageOption pkgs "kubefwd-daemon" { };
    kubefwdPackage = lib.mkPackageOption pkgs "kubefwd" {
      nullable = true;
      extraDescription = "Set to null to use the `kubefwd` on the service's PATH.";
    };
    settings = mkOption {
      type = settingsType;
      default = { };
      description = ''
        The config file's contents (the YAML keys, see docs/config-reference.md): `daemon`, `kubefwd`,
        `defaults`, `profiles`. Freeform; the daemon validates every key.
      '';
      example = literalExpression ''{ kubefwd.privilege = "sudo"; defaults.retry.max_delay = "30s"; }'';
    };
    profiles = mkOption {
      type = types.attrsOf profileType;
      default = { };
      description = "Profiles (one kubefwd each), merged into `settings.profiles`.";
      example = literalExpression ''
        {
          dev-services = {
            namespaces = [ "development" "shared-services" ];
            context = "dev-cluster";
            labels = [ "app.kubernetes.io/part-of=myapp" ];
          };
        }
      '';
    };
  };

  # Defaults that follow from other options (set with mkDefault by each module).
  settingsDefaults = cfg: {
    kubefwd.path = lib.mkDefault (if cfg.kubefwdPackage != null then lib.getExe cfg.kubefwdPackage else "kubefwd");
  };

  # The config file's text: JSON, which YAML 1.2 reads as is (the daemon picks YAML for a non-.toml name).
  configText =
    cfg:
    builtins.toJSON (clean (cfg.settings // { profiles = cfg.settings.profiles // cfg.profiles; }));

  # The daemon's PATH: kubefwd, then the system's tools (and sudo) of the platform.
  servicePath =
    cfg: extra:
    lib.concatStringsSep ":" (
      lib.optional (cfg.kubefwdPackage != null) "${lib.getBin cfg.kubefwdPackage}/bin" ++ extra
    );

  argv = cfg: configPath: [
    (lib.getExe cfg.package)
    "daemon"
    "--config"
    configPath
  ];

  # The systemd [Service] section (home-manager spelling: attribute names are the unit's keys).
  systemdService = cfg: configPath: path: {
    Type = "exec";
    ExecStart = lib.escapeShellArgs (argv cfg configPath);
    ExecReload = "/bin/kill -HUP $MAINPID";
    Environment = [
      "PATH=${path}"
      "DENO_NO_UPDATE_CHECK=1"
    ];
    KillMode = "mixed";
    TimeoutStopSec = 60;
    Restart = "on-failure";
    RestartSec = 5;
    RestartPreventExitStatus = "2 4";
  };

  # The launchd agent's property list keys.
  launchdConfig = cfg: configPath: path: {
    ProgramArguments = argv cfg configPath;
    EnvironmentVariables = {
      PATH = path;
      DENO_NO_UPDATE_CHECK = "1";
    };
    RunAtLoad = true;
    KeepAlive = {
      SuccessfulExit = false;
    };
    ThrottleInterval = 5;
    ExitTimeOut = 60;
  };
}
