# Evaluates nix/package.nix with stub builders (mkDerivation and fetchurl return their arguments), so the
# fixed-output inputs it would fetch can be compared with deno.lock without nixpkgs or a store.
{ lib }:
let
  stubPackage = name: {
    type = "derivation";
    inherit name;
    outPath = "@${name}@";
    meta.mainProgram = name;
  };
  drv = import ../../nix/package.nix {
    inherit lib;
    stdenvNoCC.mkDerivation = attrs: attrs;
    fetchurl = args: args;
    deno = stubPackage "deno";
    makeWrapper = stubPackage "makeWrapper";
    installShellFiles = stubPackage "installShellFiles";
    coreutils = stubPackage "coreutils";
    diffutils = stubPackage "diffutils";
    gnused = stubPackage "gnused";
  };
in
{
  inherit (drv) pname version;
  inherit (drv.passthru) npmTarballs;
  inherit (drv.meta) mainProgram platforms;
}
