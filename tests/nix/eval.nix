# Evaluates one of the flake's modules offline: nixpkgs' lib (from a tarball) + stub declarations of the
# options the module writes (home-manager's, NixOS's or nix-darwin's) + stub packages whose outPath is
# "@name@" (as home-manager's own tests do). Prints what the module generated, for golden comparison:
#   nix-instantiate --store dummy:// --eval --strict --json tests/nix/eval.nix \
#     --arg lib 'import <nixpkgs-lib>/lib' --argstr module hm --argstr system x86_64-linux --arg user ./cases/example.nix
{
  lib,
  module,
  system,
  user,
  # true: the module as the flake exports it (its package as the default; pkgs has no kubefwd-daemon then).
  viaFlake ? false,
}:
let
  inherit (lib) mkOption types;
  isDarwin = lib.hasSuffix "-darwin" system;
  home = if isDarwin then "/Users/alice" else "/home/alice";
  stubPackage = name: {
    type = "derivation";
    inherit name;
    pname = name;
    outPath = "@${name}@";
    meta.mainProgram = name;
  };
  pkgs = lib.optionalAttrs (!viaFlake) { kubefwd-daemon = stubPackage "kubefwd-daemon"; } // {
    stdenv.hostPlatform = {
      inherit system isDarwin;
      isLinux = !isDarwin;
    };
    kubefwd = stubPackage "kubefwd";
  }
  // lib.genAttrs [ "coreutils" "findutils" "gnugrep" "gnused" "gawk" "util-linux" ] stubPackage;
  any = default: mkOption {
    type = types.anything;
    inherit default;
  };
  common = {
    options.assertions = mkOption {
      type = types.listOf types.anything;
      default = [ ];
    };
  };
  # What NixOS and nix-darwin both have.
  systemEnvironment.options = {
    environment.systemPackages = mkOption {
      type = types.listOf types.anything;
      default = [ ];
    };
    environment.etc = mkOption {
      type = types.attrsOf (types.attrsOf types.anything);
      default = { };
    };
  };
  stubs = {
    hm = {
      options = {
        home.packages = mkOption {
          type = types.listOf types.anything;
          default = [ ];
        };
        home.homeDirectory = any home;
        home.profileDirectory = any "${home}/.nix-profile";
        xdg.configHome = any "${home}/.config";
        xdg.configFile = mkOption {
          type = types.attrsOf (types.attrsOf types.anything);
          default = { };
        };
        systemd.user.services = any { };
        launchd.agents = any { };
      };
    };
    nixos = {
      imports = [ systemEnvironment ];
      options = {
        environment.sessionVariables = any { };
        systemd.user.services = any { };
        security.sudo.extraRules = mkOption {
          type = types.listOf types.anything;
          default = [ ];
        };
        security.sudo.extraConfig = mkOption {
          type = types.lines;
          default = "";
        };
      };
    };
    darwin = {
      imports = [ systemEnvironment ];
      options = {
        environment.variables = any { };
        launchd.user.agents = any { };
      };
    };
  };
  # The flake's outputs with a stub nixpkgs whose callPackage makes a stub package.
  flake = (import ../../flake.nix).outputs {
    self = flake;
    nixpkgs = {
      inherit lib;
      legacyPackages = lib.genAttrs [ "x86_64-linux" "aarch64-linux" "x86_64-darwin" "aarch64-darwin" ] (system: {
        callPackage = _: _: stubPackage "kubefwd-daemon-from-flake-${system}";
      });
    };
  };
  file =
    if viaFlake then
      {
        hm = flake.homeManagerModules.default;
        nixos = flake.nixosModules.default;
        darwin = flake.darwinModules.default;
      }
    else
      {
        hm = ../../nix/hm-module.nix;
        nixos = ../../nix/nixos-module.nix;
        darwin = ../../nix/darwin-module.nix;
      };
  eval = lib.evalModules {
    modules = [
      common
      stubs.${module}
      file.${module}
      user
    ];
    specialArgs = { inherit pkgs; };
  };
  c = eval.config;
  paths = map (p: p.outPath or p);
  failed = map (a: a.message) (lib.filter (a: !a.assertion) c.assertions);
in
if failed != [ ] then
  throw "failed assertions: ${lib.concatStringsSep "; " failed}"
else
  {
    hm = {
      packages = paths c.home.packages;
      configFiles = c.xdg.configFile;
      systemdUserServices = c.systemd.user.services;
      launchdAgents = c.launchd.agents;
    };
    nixos = {
      packages = paths c.environment.systemPackages;
      etc = c.environment.etc;
      sessionVariables = c.environment.sessionVariables;
      systemdUserServices = c.systemd.user.services;
      sudoRules = c.security.sudo.extraRules;
      sudoConfig = c.security.sudo.extraConfig;
    };
    darwin = {
      packages = paths c.environment.systemPackages;
      etc = c.environment.etc;
      variables = c.environment.variables;
      launchdUserAgents = c.launchd.user.agents;
    };
  }
  .${module}
