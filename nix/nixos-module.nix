# NixOS module: `services.kubefwd-daemon`. The config goes to /etc/kubefwd-daemon/config.yaml (and
# KUBEFWD_DAEMON_CONFIG points every shell's CLI at it); the daemon runs as a systemd *user* service in the
# sessions of `users` (default: everyone's; it runs kubefwd through `sudo -n`), and `sudoRule` allows those
# users exactly what it runs as root.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  cfg = config.services.kubefwd-daemon;
  common = import ./common.nix { inherit lib pkgs; };
  inherit (lib) mkOption types;
  configPath = "/etc/kubefwd-daemon/config.yaml";
  # coreutils first: the sudo rule names its kill and tee, and NixOS's sudo finds commands on this PATH.
  path = common.servicePath cfg [
    "${pkgs.coreutils}/bin"
    "/run/wrappers/bin"
    "/run/current-system/sw/bin"
  ];
in
{
  options.services.kubefwd-daemon = common.options // {
    users = mkOption {
      type = types.listOf types.str;
      default = [ ];
      example = [ "alice" ];
      description = ''
        Users whose session runs the daemon (a systemd user service, started at their login); empty: every
        user's session.'';
    };
    sudoRule = lib.mkEnableOption ''
      a sudo rule letting `users` run, as root and without a password, exactly what the daemon runs as root:
      kubefwd, `kill` (a kubefwd that ignores SIGTERM) and `tee /etc/hosts` (lines a crashed kubefwd left)'';
    writableHostsFile = lib.mkEnableOption ''
      a real /etc/hosts file instead of NixOS's read-only link into the store (kubefwd edits it); sets
      `environment.etc.hosts.mode = "0644"` (not verified on a NixOS machine)'';
  };

  config = lib.mkIf cfg.enable {
    assertions = [
      {
        assertion = cfg.sudoRule -> cfg.users != [ ];
        message = "services.kubefwd-daemon.sudoRule needs services.kubefwd-daemon.users (the rule names them)";
      }
      {
        assertion = cfg.sudoRule -> cfg.kubefwdPackage != null;
        message = "services.kubefwd-daemon.sudoRule needs services.kubefwd-daemon.kubefwdPackage (the rule names its path)";
      }
    ];
    services.kubefwd-daemon.settings = common.settingsDefaults cfg;
    environment.systemPackages = [ cfg.package ];
    environment.etc = {
      "kubefwd-daemon/config.yaml".text = common.configText cfg;
    }
    // lib.optionalAttrs cfg.writableHostsFile { hosts.mode = "0644"; };
    environment.sessionVariables.KUBEFWD_DAEMON_CONFIG = configPath;

    systemd.user.services.kubefwd-daemon = {
      description = "kubefwd-daemon: keeps kubefwd port-forwards alive";
      wantedBy = [ "default.target" ];
      restartTriggers = [ config.environment.etc."kubefwd-daemon/config.yaml".text ];
      # Only for the chosen users ("|": any one of them), else for everyone.
      unitConfig = lib.mkIf (cfg.users != [ ]) { ConditionUser = map (u: "|${u}") cfg.users; };
      serviceConfig = common.systemdService cfg configPath path;
    };

    security.sudo.extraRules = lib.mkIf cfg.sudoRule [
      {
        inherit (cfg) users;
        runAs = "root";
        commands =
          map
            (command: {
              inherit command;
              options = [ "NOPASSWD" ];
            })
            [
              (lib.getExe cfg.kubefwdPackage)
              "${pkgs.coreutils}/bin/kill"
              "${pkgs.coreutils}/bin/tee /etc/hosts"
            ];
      }
    ];
  };
}
