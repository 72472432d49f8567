# kubefwd-daemon as Deno + the source + its npm dependencies behind a wrapper (not `deno compile`: that needs
# a `denort` matching nixpkgs' deno, which older nixpkgs revisions delete, and a compiled binary must not be
# stripped or patched; running the source with nixpkgs' deno needs neither, and keeps the daemon's
# `--no-config` and V8 flags, which the launcher applies).
#
# Every fixed-output input follows from files in the repository: each npm tarball is fetched by the
# `integrity` (sha512, SRI) that deno.lock records for it, so there is no hash to fill in, and a dependency
# change in deno.lock changes the package with it. The tarballs are unpacked into the node_modules layout
# `deno install` makes, and the store copy of deno.json says `nodeModulesDir: "manual"`, so Deno uses them as
# they are: no network, no cache, no `Download` lines, also in the daemon's own subprocesses.
{
  lib,
  stdenvNoCC,
  fetchurl,
  deno,
  makeWrapper,
  installShellFiles,
  coreutils,
  diffutils,
  gnused,
}:
let
  lock = lib.importJSON ../deno.lock;
  denoJson = lib.importJSON ../deno.json;
  version = lib.head (builtins.match ''.*export const VERSION = "([^"]+)".*'' (builtins.readFile ../lib/version.ts));

  # "name@1.2.3" or "@scope/name@1.2.3" (deno.lock v5 keys; a peer-dependency suffix "_…" is not part of
  # the version).
  parseKey =
    key:
    let
      m = builtins.match "(@?[^@]+)@([^_]+)(_.*)?" key;
    in
    {
      name = lib.elemAt m 0;
      version = lib.elemAt m 1;
    };

  npmTarballs = lib.mapAttrsToList (
    key: entry:
    let
      p = parseKey key;
      base = lib.last (lib.splitString "/" p.name);
    in
    {
      inherit key;
      inherit (p) name;
      url = "https://registry.npmjs.org/${p.name}/-/${base}-${p.version}.tgz";
      hash = entry.integrity;
    }
  ) lock.npm;

  # The top-level node_modules links: the workspace's direct dependencies ("npm:commander@15.1.0").
  directDeps = map (
    spec:
    let
      key = lib.removePrefix "npm:" spec;
    in
    {
      inherit key;
      inherit (parseKey key) name;
    }
  ) (lib.filter (lib.hasPrefix "npm:") lock.workspace.dependencies);

  storeDenoJson = builtins.toJSON (denoJson // { nodeModulesDir = "manual"; });
in
assert lib.assertMsg (lock.version == "5") "nix/package.nix reads deno.lock version 5, not ${lock.version}";
stdenvNoCC.mkDerivation {
  pname = "kubefwd-daemon";
  inherit version;

  src = lib.fileset.toSource {
    root = ../.;
    fileset = lib.fileset.unions [
      ../main.ts
      ../cli
      ../lib
      ../deno.json
      ../deno.lock
      ../kubefwd-daemon
      ../README.md
      ../docs
    ];
  };

  nativeBuildInputs = [
    makeWrapper
    installShellFiles
    deno
  ];

  dontConfigure = true;
  dontBuild = true;
  # The daemon is TypeScript run by nixpkgs' deno: nothing to strip or patch.
  dontFixup = true;

  installPhase = ''
    runHook preInstall
    share=$out/share/kubefwd-daemon
    mkdir -p $share $out/bin
    cp -r . $share
    cp ${builtins.toFile "deno.json" storeDenoJson} $share/deno.json
    ${lib.concatMapStringsSep "\n" (t: ''
      mkdir -p "$share/node_modules/.deno/${t.key}/node_modules/${t.name}"
      tar -xzf ${fetchurl { inherit (t) url hash; }} --strip-components=1 \
        -C "$share/node_modules/.deno/${t.key}/node_modules/${t.name}"
    '') npmTarballs}
    ${lib.concatMapStringsSep "\n" (d: ''
      mkdir -p "$(dirname "$share/node_modules/${d.name}")"
      ln -s "$share/node_modules/.deno/${d.key}/node_modules/${d.name}" "$share/node_modules/${d.name}"
    '') directDeps}
    # The launcher's "dependencies installed for this deno.lock" stamp: it never runs `deno install` here.
    cp deno.lock $share/node_modules/.kubefwd-daemon-deno.lock

    makeWrapper $share/kubefwd-daemon $out/bin/kubefwd-daemon \
      --set KUBEFWD_DAEMON_DENO ${lib.getExe deno} \
      --set KUBEFWD_DAEMON_EXE $out/bin/kubefwd-daemon \
      --prefix PATH : ${lib.makeBinPath [ coreutils diffutils gnused ]}

    export HOME=$TMPDIR DENO_DIR=$TMPDIR/deno-dir
    for shell in bash zsh fish; do
      $out/bin/kubefwd-daemon completions $shell > kubefwd-daemon.$shell
    done
    installShellCompletion kubefwd-daemon.{bash,zsh,fish}
    runHook postInstall
  '';

  passthru = { inherit npmTarballs; };

  meta = {
    description = "Keeps kubefwd port-forwards alive: one supervised kubefwd per profile, a CLI over a Unix socket";
    mainProgram = "kubefwd-daemon";
    platforms = [
      "x86_64-linux"
      "aarch64-linux"
      "x86_64-darwin"
      "aarch64-darwin"
    ];
  };
}
