{
  description = "kubefwd-daemon: keeps kubefwd port-forwards alive (one supervised kubefwd per profile)";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs =
    { self, nixpkgs }:
    let
      inherit (nixpkgs) lib;
      systems = [
        "x86_64-linux"
        "aarch64-linux"
        "x86_64-darwin"
        "aarch64-darwin"
      ];
      forAllSystems = f: lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
      # A module of this flake with its package as the default of `services.kubefwd-daemon.package`.
      withPackage =
        file:
        { pkgs, ... }:
        {
          imports = [ file ];
          services.kubefwd-daemon.package = lib.mkDefault self.packages.${pkgs.stdenv.hostPlatform.system}.default;
        };
    in
    {
      packages = forAllSystems (pkgs: rec {
        kubefwd-daemon = pkgs.callPackage ./nix/package.nix { };
        default = kubefwd-daemon;
      });

      apps = forAllSystems (pkgs: {
        default = {
          type = "app";
          program = lib.getExe self.packages.${pkgs.stdenv.hostPlatform.system}.default;
        };
      });

      devShells = forAllSystems (pkgs: {
        default = pkgs.mkShell {
          packages = with pkgs; [
            deno
            go
            kubectl
            kubefwd
          ];
        };
      });

      overlays.default = final: _prev: { kubefwd-daemon = final.callPackage ./nix/package.nix { }; };

      homeManagerModules.default = withPackage ./nix/hm-module.nix;
      homeModules.default = self.homeManagerModules.default;
      nixosModules.default = withPackage ./nix/nixos-module.nix;
      darwinModules.default = withPackage ./nix/darwin-module.nix;
    };
}
