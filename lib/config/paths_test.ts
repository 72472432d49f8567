import assert from "node:assert/strict";
import {
  defaultConfigPath,
  defaultDaemonSettings,
  defaultRuntimeDir,
  envFrom,
  expandHome,
  homeDir,
  normalizePath,
  resolvePath,
} from "./paths.ts";

Deno.test("expandHome expands ~ and ~/ only", () => {
  assert.equal(expandHome("~", "/home/u"), "/home/u");
  assert.equal(expandHome("~/.kube/config", "/home/u"), "/home/u/.kube/config");
  assert.equal(expandHome("~/x", "/home/u/"), "/home/u/x");
  assert.equal(expandHome("~other/x", "/home/u"), "~other/x");
  assert.equal(expandHome("/abs/~/x", "/home/u"), "/abs/~/x");
});

Deno.test("resolvePath makes paths absolute against the config directory", () => {
  assert.equal(resolvePath("kube.yaml", "/etc/kfd", "/home/u"), "/etc/kfd/kube.yaml");
  assert.equal(resolvePath("../x/./y", "/etc/kfd", "/home/u"), "/etc/x/y");
  assert.equal(resolvePath("~/a//b", "/etc", "/home/u"), "/home/u/a/b");
  assert.equal(normalizePath("/../a/.."), "/");
});

Deno.test("defaultConfigPath: env override, then XDG_CONFIG_HOME, then ~/.config", () => {
  assert.equal(defaultConfigPath(envFrom({ HOME: "/home/u" })), "/home/u/.config/kubefwd-daemon/config.yaml");
  assert.equal(
    defaultConfigPath(envFrom({ HOME: "/home/u", XDG_CONFIG_HOME: "/xdg/" })),
    "/xdg/kubefwd-daemon/config.yaml",
  );
  // Relative XDG values are ignored, as the XDG spec demands.
  assert.equal(
    defaultConfigPath(envFrom({ HOME: "/home/u", XDG_CONFIG_HOME: "rel" })),
    "/home/u/.config/kubefwd-daemon/config.yaml",
  );
  assert.equal(
    defaultConfigPath(
      envFrom({ HOME: "/home/u", XDG_CONFIG_HOME: "/xdg", KUBEFWD_DAEMON_CONFIG: "~/k.toml" }),
    ),
    "/home/u/k.toml",
  );
  assert.equal(defaultConfigPath(envFrom({}), "/h"), "/h/.config/kubefwd-daemon/config.yaml");
});

Deno.test("defaultDaemonSettings follows XDG_RUNTIME_DIR and XDG_STATE_HOME", () => {
  assert.deepEqual(defaultDaemonSettings(envFrom({ HOME: "/home/u" })), {
    logLevel: "info",
    logFile: "/home/u/.local/state/kubefwd-daemon/daemon.log",
    pidFile: "/home/u/.local/state/kubefwd-daemon/daemon.pid",
    socketPath: "/home/u/.local/state/kubefwd-daemon/daemon.sock",
    stateDir: "/home/u/.local/state/kubefwd-daemon",
  });
  assert.deepEqual(
    defaultDaemonSettings(
      envFrom({ HOME: "/home/u", XDG_RUNTIME_DIR: "/run/user/1000", XDG_STATE_HOME: "/st" }),
    ),
    {
      logLevel: "info",
      logFile: "/st/kubefwd-daemon/daemon.log",
      pidFile: "/run/user/1000/kubefwd-daemon/daemon.pid",
      socketPath: "/run/user/1000/kubefwd-daemon/daemon.sock",
      stateDir: "/st/kubefwd-daemon",
    },
  );
  assert.equal(defaultRuntimeDir(envFrom({ XDG_RUNTIME_DIR: "/r" }), "/h"), "/r/kubefwd-daemon");
});

Deno.test("homeDir refuses to guess when HOME is unset", () => {
  assert.throws(() => homeDir(envFrom({})), /HOME is not set/);
  assert.equal(homeDir(envFrom({ HOME: "/home/u/" })), "/home/u");
});
