# nix-darwin module: `services.kubefwd-daemon`. The config goes to /etc/kubefwd-daemon/config.yaml (and
# KUBEFWD_DAEMON_CONFIG points the CLI at it); the daemon runs as a launchd user agent (every user's login).
{
  config,
  lib,
  pkgs,
  ...
}:
let
  cfg = config.services.kubefwd-daemon;
  common = import ./common.nix { inherit lib pkgs; };
  configPath = "/etc/kubefwd-daemon/config.yaml";
  path = common.servicePath cfg [
    "/run/current-system/sw/bin"
    "/usr/local/bin"
    "/usr/bin"
    "/bin"
    "/usr/sbin"
    "/sbin"
  ];
in
{
  options.services.kubefwd-daemon = common.options;

  config = lib.mkIf cfg.enable {
    services.kubefwd-daemon.settings = common.settingsDefaults cfg;
    environment.systemPackages = [ cfg.package ];
    environment.etc."kubefwd-daemon/config.yaml".text = common.configText cfg;
    environment.variables.KUBEFWD_DAEMON_CONFIG = configPath;
    launchd.user.agents.kubefwd-daemon.serviceConfig = common.launchdConfig cfg configPath path // {
      Label = "kubefwd-daemon";
    };
  };
}
