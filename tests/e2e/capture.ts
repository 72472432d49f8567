// Run a command and record its output byte-exact, for kubefwd output fixtures.
//
// usage: deno run -A tests/e2e/capture.ts --out <prefix> [--pidfile <file>] -- CMD [ARG...]
// Writes:
//   <prefix>.log             stdout and stderr together, in arrival order (raw bytes, ANSI codes kept)
//   <prefix>.stderr.log      stderr alone (only when the command wrote to stderr)
//   <prefix>.timeline.jsonl  one JSON object per output line: {"ms": <epoch ms>, "fd": 1|2, "line": "<raw>"}
//                            and a last {"ms", "exit": {"code", "signal"}}
// The child's pid goes to --pidfile so a driver can signal it (the child is the command itself when the
// command execs, as tests/e2e/isolate.sh does). SIGTERM/SIGINT sent to this tool are forwarded to the child.
// Exits with the child's exit code (128+n when it died by a signal).

const args = [...Deno.args];
let out = "";
let pidfile = "";
while (args.length > 0 && args[0] !== "--") {
  const a = args.shift()!;
  if (a === "--out") out = args.shift() ?? "";
  else if (a === "--pidfile") pidfile = args.shift() ?? "";
  else {
    console.error(`capture.ts: unknown option ${a}`);
    Deno.exit(2);
  }
}
args.shift();
if (!out || args.length === 0) {
  console.error("usage: capture.ts --out <prefix> [--pidfile <file>] -- CMD [ARG...]");
  Deno.exit(2);
}

const child = new Deno.Command(args[0], {
  args: args.slice(1),
  stdin: "null",
  stdout: "piped",
  stderr: "piped",
}).spawn();
if (pidfile) Deno.writeTextFileSync(pidfile, `${child.pid}\n`);

for (const sig of ["SIGTERM", "SIGINT"] as const) {
  Deno.addSignalListener(sig, () => {
    try {
      child.kill(sig);
    } catch { /* already gone */ }
  });
}

const combined = Deno.openSync(`${out}.log`, { write: true, create: true, truncate: true });
const timeline = Deno.openSync(`${out}.timeline.jsonl`, { write: true, create: true, truncate: true });
let stderrFile: Deno.FsFile | undefined;
const enc = new TextEncoder();
const dec = new TextDecoder();

function writeAll(f: Deno.FsFile, data: Uint8Array) {
  let off = 0;
  while (off < data.length) off += f.writeSync(data.subarray(off));
}

async function pump(stream: ReadableStream<Uint8Array>, fd: 1 | 2) {
  let partial = new Uint8Array(0);
  for await (const chunk of stream) {
    const ms = Date.now();
    writeAll(combined, chunk);
    if (fd === 2) {
      stderrFile ??= Deno.openSync(`${out}.stderr.log`, { write: true, create: true, truncate: true });
      writeAll(stderrFile, chunk);
    }
    const buf = new Uint8Array(partial.length + chunk.length);
    buf.set(partial);
    buf.set(chunk, partial.length);
    let start = 0;
    for (let i = 0; i < buf.length; i++) {
      if (buf[i] === 0x0a) {
        const line = dec.decode(buf.subarray(start, i));
        writeAll(timeline, enc.encode(JSON.stringify({ ms, fd, line }) + "\n"));
        start = i + 1;
      }
    }
    partial = buf.slice(start);
  }
  if (partial.length > 0) {
    writeAll(
      timeline,
      enc.encode(JSON.stringify({ ms: Date.now(), fd, line: dec.decode(partial), eol: false }) + "\n"),
    );
  }
}

const [status] = await Promise.all([child.status, pump(child.stdout, 1), pump(child.stderr, 2)]);
writeAll(
  timeline,
  enc.encode(JSON.stringify({ ms: Date.now(), exit: { code: status.code, signal: status.signal } }) + "\n"),
);
combined.close();
timeline.close();
stderrFile?.close();
Deno.exit(status.code); // Deno reports 128+n for a child killed by signal n
