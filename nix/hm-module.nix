# home-manager module: `services.kubefwd-daemon`. Writes ~/.config/kubefwd-daemon/config.yaml (the path the
# CLI reads by default, so `kubefwd-daemon status` and `config validate` need no flags) and runs the daemon as
# a systemd user service on Linux or a launchd agent on macOS.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  cfg = config.services.kubefwd-daemon;
  common = import ./common.nix { inherit lib pkgs; };
  inherit (pkgs.stdenv.hostPlatform) isDarwin isLinux;
  configPath = "${config.xdg.configHome}/kubefwd-daemon/config.yaml";
  # sudo: the NixOS wrapper, else the system's; kill and tee as sudo's secure_path finds them.
  systemPath =
    if isDarwin then
      [
        "/usr/local/bin"
        "/usr/bin"
        "/bin"
        "/usr/sbin"
        "/sbin"
      ]
    else
      [
        "/run/wrappers/bin"
        "${config.home.profileDirectory}/bin"
        "/usr/local/bin"
        "/usr/bin"
        "/bin"
        "/usr/sbin"
        "/sbin"
      ];
  path = common.servicePath cfg systemPath;
in
{
  options.services.kubefwd-daemon = common.options;

  config = lib.mkIf cfg.enable (
    lib.mkMerge [
      {
        services.kubefwd-daemon.settings = common.settingsDefaults cfg;
        home.packages = [ cfg.package ];
        xdg.configFile."kubefwd-daemon/config.yaml".text = common.configText cfg;
      }
      (lib.mkIf isLinux {
        systemd.user.services.kubefwd-daemon = {
          Unit = {
            Description = "kubefwd-daemon: keeps kubefwd port-forwards alive";
            # A changed config restarts the daemon (home-manager's switch compares these).
            X-Restart-Triggers = [ (builtins.hashString "sha256" (common.configText cfg)) ];
          };
          Service = common.systemdService cfg configPath path;
          Install.WantedBy = [ "default.target" ];
        };
      })
      (lib.mkIf isDarwin {
        launchd.agents.kubefwd-daemon = {
          enable = true;
          config = common.launchdConfig cfg configPath path // {
            # ~/Library/Logs exists on every Mac (launchd does not create a missing directory). The daemon's
            # own log, which `kubefwd-daemon logs` reads, is in its state directory as always.
            StandardOutPath = "${config.home.homeDirectory}/Library/Logs/kubefwd-daemon.log";
            StandardErrorPath = "${config.home.homeDirectory}/Library/Logs/kubefwd-daemon.log";
          };
        };
      })
    ]
  );
}
