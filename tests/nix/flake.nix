# The flake's output names, evaluated with a stub nixpkgs (no fetching, no store).
{ lib }:
let
  systems = [ "x86_64-linux" "aarch64-linux" "x86_64-darwin" "aarch64-darwin" ];
  stub = name: {
    type = "derivation";
    inherit name;
    outPath = "@${name}@";
    meta.mainProgram = name;
  };
  flake = (import ../../flake.nix).outputs {
    self = flake;
    nixpkgs = {
      inherit lib;
      legacyPackages = lib.genAttrs systems (system: {
        callPackage = _: _: stub "kubefwd-daemon";
        mkShell = args: { shellPackages = map (p: p.name) args.packages; };
        stdenv.hostPlatform = { inherit system; };
        deno = stub "deno";
        go = stub "go";
        kubectl = stub "kubectl";
        kubefwd = stub "kubefwd";
      });
    };
  };
in
{
  outputs = builtins.attrNames flake;
  packages = lib.mapAttrs (_: builtins.attrNames) flake.packages;
  apps = lib.mapAttrs (_: a: a.default) flake.apps;
  devShells = lib.mapAttrs (_: s: s.default.shellPackages) flake.devShells;
  overlay = (flake.overlays.default { callPackage = _: _: stub "from-overlay"; } { }).kubefwd-daemon.name;
  modules = map builtins.isFunction [
    flake.homeManagerModules.default
    flake.homeModules.default
    flake.nixosModules.default
    flake.darwinModules.default
  ];
}
