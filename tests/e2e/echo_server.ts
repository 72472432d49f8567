// Tiny HTTP echo servers on 127.0.0.1 for the e2e cluster: kwok port-forwards the fake pods' ports to them.
//
// usage: deno run --no-config --no-lock --allow-net=127.0.0.1 --allow-write=<dir> echo_server.ts <ports.json> <name>...
// Starts one server per name on an ephemeral loopback port, then writes {"<name>": <port>, ...} to ports.json
// (atomically, via a temp file and rename). Each request is answered with one line:
//   echo name=<name> method=<method> path=<path> host=<Host header>
// Requests from the daemon's HTTP probe (User-Agent kubefwd-daemon-probe) are counted per name and Host
// header; GET /__kfd_probe_counts answers {"<name> <host>": <count>, ...} (the bench reads it directly on
// the loopback port to measure probe traffic). Runs until SIGTERM/SIGINT.

const [portsFile, ...names] = Deno.args;
if (!portsFile || names.length === 0) {
  console.error("usage: echo_server.ts <ports.json> <name>...");
  Deno.exit(2);
}

const ports: Record<string, number> = {};
const servers: Deno.HttpServer[] = [];
const probeCounts: Record<string, number> = {};
for (const name of names) {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) => {
      const url = new URL(req.url);
      const host = req.headers.get("host") ?? "";
      if (url.pathname === "/__kfd_probe_counts") return Response.json(probeCounts);
      if (req.headers.get("user-agent") === "kubefwd-daemon-probe") {
        probeCounts[`${name} ${host}`] = (probeCounts[`${name} ${host}`] ?? 0) + 1;
      }
      return new Response(`echo name=${name} method=${req.method} path=${url.pathname} host=${host}\n`, {
        headers: { "content-type": "text/plain" },
      });
    },
  );
  ports[name] = server.addr.port;
  servers.push(server);
}

const tmp = `${portsFile}.tmp`;
Deno.writeTextFileSync(tmp, JSON.stringify(ports) + "\n");
Deno.renameSync(tmp, portsFile);

const stop = () => {
  Promise.all(servers.map((s) => s.shutdown())).finally(() => Deno.exit(0));
};
Deno.addSignalListener("SIGTERM", stop);
Deno.addSignalListener("SIGINT", stop);
