# NixOS module: `services.kubefwd-daemon`. The config goes to /etc/kubefwd-daemon/config.yaml (and
# KUBEFWD_DAEMON_CONFIG points every shell's CLI at it); the daemon runs as a systemd *user* service in the
# sessions of `users` (default: everyone's; it runs kubefwd through `sudo -n`), and `sudoRule` installs the
# root helper (lib/sudo/kubefwd_root_helper.sh, the same least privilege as `kubefwd-daemon sudoers`) and
# one sudo rule for it.
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
  # After kubefwd's directory: sudo (NixOS's setuid wrapper), then the system's tools.
  path = common.servicePath cfg [
    "/run/wrappers/bin"
    "/run/current-system/sw/bin"
  ];
  rootHelper = import ./root-helper.nix { inherit lib pkgs; };
  # Copied, not linked, into /etc: a root-owned file of its own, which the sudo rule and the daemon name.
  helperFile = "kubefwd-daemon/kubefwd-root";
  helperPath = "/etc/${helperFile}";
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
      the root helper (${helperPath}, as `kubefwd-daemon sudoers` installs it: it runs only
      `kubefwdPackage`'s kubefwd with the daemon's argument shape, credentials resolved as the user, kills only
      its own kubefwd, removes only hosts lines of the daemon's ranges) and a sudo rule letting `users` run it,
      and nothing else, as root without a password'';
    kubeconfigAsIs = lib.mkEnableOption ''
      the root helper without the credential broker, as `kubefwd-daemon sudoers --kubeconfig-as-is` installs
      it: root kubefwd reads the user's kubeconfig and runs its exec plugins and token commands as root, which
      gives `users` root through their kubeconfig. Only for kubeconfigs the broker refuses (README § Security)'';
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
        assertion = cfg.kubeconfigAsIs -> cfg.sudoRule;
        message = "services.kubefwd-daemon.kubeconfigAsIs changes the root helper, which only sudoRule installs";
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
    // lib.optionalAttrs cfg.writableHostsFile { hosts.mode = "0644"; }
    // lib.optionalAttrs cfg.sudoRule {
      ${helperFile} = {
        text = rootHelper.render {
          kubefwd = lib.getExe cfg.kubefwdPackage;
          hosts = "/etc/hosts";
          self = helperPath;
          broker = !cfg.kubeconfigAsIs;
        };
        mode = "0555";
      };
    };
    # The daemon finds the helper here (a daemon started from a shell too); it checks that it is root's alone.
    environment.sessionVariables = {
      KUBEFWD_DAEMON_CONFIG = configPath;
    }
    // lib.optionalAttrs cfg.sudoRule { ${rootHelper.env} = helperPath; };

    systemd.user.services.kubefwd-daemon = {
      description = "kubefwd-daemon: keeps kubefwd port-forwards alive";
      wantedBy = [ "default.target" ];
      restartTriggers = [ config.environment.etc."kubefwd-daemon/config.yaml".text ];
      # Only for the chosen users ("|": any one of them), else for everyone.
      unitConfig = lib.mkIf (cfg.users != [ ]) { ConditionUser = map (u: "|${u}") cfg.users; };
      serviceConfig =
        let
          service = common.systemdService cfg configPath path;
        in
        service
        // lib.optionalAttrs cfg.sudoRule {
          Environment = service.Environment ++ [ "${rootHelper.env}=${helperPath}" ];
        };
    };

    # What `kubefwd-daemon sudoers` writes (lib/sudo/root_helper.ts, sudoersFile): the helper alone, as
    # root, no password, sudo's environment reset for it whatever the machine's defaults say.
    security.sudo.extraRules = lib.mkIf cfg.sudoRule [
      {
        inherit (cfg) users;
        runAs = "root";
        commands = [
          {
            command = helperPath;
            options = [ "NOPASSWD" ];
          }
        ];
      }
    ];
    security.sudo.extraConfig = lib.mkIf cfg.sudoRule "Defaults!${helperPath} env_reset\n";
  };
}
