// `npm run bench`: what it costs to stand up, re-run, sync and serve, each
// figure next to the plain alternative measured in the same run on the same
// machine, as a ratio. Writes docs/benchmarks.md. Not a test: it asserts no
// timing, but it fails loudly when a step fails (a re-run that changes
// resources, a server that does not answer).
//
//   B1 provision: fresh `pulumi up` on a VM vs the same host work as one plain
//      script over one SSH session on a fresh VM; no-change re-run vs fresh.
//   B2 no-change sync: the kit's sync job vs plain rsync, bytes and time.
//   B3 full sync: the kit's sync job vs plain rsync with the same flags.
//   B3b Debian archive: the kit's two-stage Debian sync vs Debian's own ftpsync,
//      first sync and no-change re-run, wall time and bytes.
//   B4 serving: the kit's nginx and Apache configs vs Debian's stock ones.
//   B5 scale: `pulumi preview` of nodes with 1, 10 and 100 modules.
//   B8 projects: `pulumi preview` and a fresh `pulumi up` on a VM of a node
//      carrying all seven presets' projects vs a node carrying one (goal ≤ 1.5×).
//   B7 resume: a first sync killed half-way, then resumed: bytes received
//      over bytes still missing, the kit vs purging rsync's temp dirs first.
//   B9 clients during syncs: dnf and apt installing in a loop from the kit's
//      nginx while the kit's sync brings new versions, staged vs one pass.
//
// Options: --only B2,B4 to run some; --runs N repetitions (default 3).
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { parseNodeConfig, type NodeConfig } from "../components/config";
import { renderApacheConf } from "../components/render/apache";
import { renderNginxConf, webModel } from "../components/render/nginx";
import { webSupportFiles } from "../components/render/web";
import { renderSyncScript, syncModel } from "../components/render/sync";
import { bootVm } from "../vm/vm";
import { PROJECT_DIR, pulumi, stackNames } from "./lib/pulumi";
import type { ClientKind } from "./lib/clients";
import type { ClientLoop, LoopLine } from "./lib/client-loop";
import { makeSigningKey, publishDebianArchive, publishDebianUpdate, publishRpmRepo, testPackages, type SigningKey } from "./lib/repos";
import { writeStackFile } from "./lib/stack-file";

interface Figure {
  id: string;
  what: string;
  unit: string;
  kit: number[];
  plain: number[];
  /** How to read the ratio. */
  note?: string;
}

const figures: Figure[] = [];
const args = process.argv.slice(2);
/** An option's value, as --name=value or --name value. */
const option = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : undefined);
const only = (option("only") ?? "").split(",").filter((s) => /^B\d[a-z]?$/.test(s));
const RUNS = Number(option("runs") ?? 3);
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error(`--runs must be a whole number of at least 1, not ${option("runs")}`);
const want = (id: string) => only.length === 0 || only.includes(id);
const REPORT = path.join(PROJECT_DIR, "docs", "benchmarks.md");

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x >= 0.01 || x === 0 ? x.toFixed(3) : x.toExponential(2));
const now = () => performance.now() / 1000;

function run(cmd: string, cmdArgs: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const r = spawnSync(cmd, cmdArgs, { encoding: "utf8", input: opts.input, env: { ...process.env, ...opts.env }, maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${cmd} ${cmdArgs.join(" ")} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

function runAsync(cmd: string, cmdArgs: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, cmdArgs, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${cmdArgs.join(" ")} failed (${code}):\n${out}\n${err}`))));
  });
}

/** A loopback TCP proxy in front of `port` that counts the bytes crossing it, both ways. */
async function countingProxy(port: number): Promise<{ port: number; bytes: () => number; close: () => void }> {
  let total = 0;
  const server = net.createServer((client) => {
    const upstream = net.connect(port, "127.0.0.1");
    client.on("data", (d: Buffer) => (total += d.length));
    upstream.on("data", (d: Buffer) => (total += d.length));
    client.pipe(upstream);
    upstream.pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", end);
    upstream.on("error", end);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { port: (server.address() as net.AddressInfo).port, bytes: () => total, close: () => server.close() };
}

function tmp(name: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `mirrorkit-bench-${name}-`));
}

// ---------------------------------------------------------------- fixtures
/** A distro-like tree of `files` small files in nested directories, plus lastupdate. */
function makeTree(root: string, files: number): void {
  for (let i = 0; i < files; i++) {
    const dir = path.join(root, `d${Math.floor(i / 1000)}`, `e${Math.floor(i / 100) % 10}`);
    if (i % 100 === 0) fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `pkg-${i}.rpm`), `package ${i}\n`);
  }
  fs.writeFileSync(path.join(root, "lastupdate"), "1700000000\n");
}

function startRsyncd(root: string, port: number, logFile: string) {
  const dir = tmp("rsyncd");
  const conf = path.join(dir, "rsyncd.conf");
  fs.writeFileSync(conf, `pid file = ${dir}/pid\nuse chroot = no\nuid = root\ngid = root\nread only = yes\n[tree]\n    path = ${root}\n`);
  const child = spawn("rsync", ["--daemon", "--no-detach", `--config=${conf}`, "--address=127.0.0.1", `--port=${port}`, `--log-file=${logFile}`], { stdio: "ignore" });
  execFileSync("sh", ["-c", `for i in $(seq 50); do rsync rsync://127.0.0.1:${port}/ >/dev/null 2>&1 && exit 0; sleep 0.1; done; exit 1`]);
  return child;
}

/**
 * `root` served as module "tree" by an rsync daemon on loopback, behind a
 * proxy that counts the bytes crossing it, both ways; and a node whose one
 * sync job (`job`, without its upstream) pulls through that proxy. The kit and
 * the peer it is compared with both sync through the proxy, so their bytes
 * are counted the same way.
 */
async function countedUpstream(root: string, daemonPort: number, job: Record<string, unknown>) {
  const daemon = startRsyncd(root, daemonPort, path.join(tmp("log"), "rsyncd.log"));
  const proxy = await countingProxy(daemonPort);
  const url = `rsync://127.0.0.1:${proxy.port}/tree/`;
  const node = parseNodeConfig({ name: "bench", host: { address: "127.0.0.1", privateKey: "unused" }, sync: [{ ...job, upstream: url }] });
  return {
    node,
    url,
    port: proxy.port,
    bytes: proxy.bytes,
    stop: () => {
      proxy.close();
      daemon.kill();
    },
  };
}

/** The kit's sync script for the node's first job, rendered to sync into `dest` with state of its own; runs it. */
function kitSync(node: NodeConfig, dest: string): () => Promise<string> {
  const state = tmp("state");
  const m = { ...syncModel(node, node.sync[0]), dest, stateDir: state, metricsFile: path.join(state, "m.prom") };
  const script = path.join(state, "sync.sh");
  fs.writeFileSync(script, renderSyncScript(m));
  return () => runAsync("sh", [script]);
}

// ---------------------------------------------------------------- B2, B3
async function benchSync() {
  const files = 100_000;
  const root = tmp("upstream");
  process.stderr.write(`[bench] B2/B3: writing a ${files}-file fixture...\n`);
  makeTree(root, files);
  const upstream = await countedUpstream(root, 28873, { name: "tree", path: "tree", checkFile: "lastupdate", trace: false });
  try {
    const kitRun = (dest: string) => kitSync(upstream.node, dest);
    const plain = (dest: string) => () => runAsync("rsync", ["-rtlpH", "--safe-links", "--numeric-ids", "--delete-after", "--delay-updates", upstream.url, `${dest}/`]);

    const full = { kit: [] as number[], plain: [] as number[] };
    const unchanged = { kit: [] as number[], plain: [] as number[], kitBytes: [] as number[], plainBytes: [] as number[] };
    for (let r = 0; r < RUNS; r++) {
      const dk = tmp("dest-kit");
      const dp = tmp("dest-plain");
      const k = kitRun(dk);
      const p = plain(dp);
      // Alternate the order so neither always runs on a warmer cache.
      for (const [which, fn] of (r % 2 === 0 ? [["kit", k], ["plain", p]] : [["plain", p], ["kit", k]]) as [string, () => Promise<string>][]) {
        const t = now();
        await fn();
        (which === "kit" ? full.kit : full.plain).push(now() - t);
      }
      for (const [which, fn] of [["kit", k], ["plain", p]] as [string, () => Promise<string>][]) {
        const before = upstream.bytes();
        const t = now();
        const out = await fn();
        const dt = now() - t;
        if (which === "kit" && !/no sync needed/.test(out)) throw new Error(`B2: the kit's no-change run did not skip:\n${out}`);
        (which === "kit" ? unchanged.kit : unchanged.plain).push(dt);
        (which === "kit" ? unchanged.kitBytes : unchanged.plainBytes).push(upstream.bytes() - before);
      }
      fs.rmSync(dk, { recursive: true, force: true });
      fs.rmSync(dp, { recursive: true, force: true });
    }
    figures.push({ id: "B2", what: `no-change sync of ${files} files: bytes over the wire (both ways)`, unit: "bytes", kit: unchanged.kitBytes, plain: unchanged.plainBytes, note: "kit/plain: the kit fetches only lastupdate, no file list" });
    figures.push({ id: "B2", what: `no-change sync of ${files} files: wall time`, unit: "s", kit: unchanged.kit, plain: unchanged.plain });
    figures.push({ id: "B3", what: `full sync of ${files} files into an empty tree`, unit: "s", kit: full.kit, plain: full.plain, note: "kit/plain: the kit adds lock, guards, temp cleanup, status and metrics" });
  } finally {
    upstream.stop();
    fs.rmSync(root, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- B3b
/**
 * B3b: the kit's Debian-layout sync (two stages, gated on the master trace)
 * against Debian's own ftpsync (the Debian package), on the same archive
 * built with Debian's tools: a first sync into an empty tree and a re-run
 * with nothing changed, wall time and bytes over the wire.
 */
async function benchFtpsync() {
  const packages = 40;
  const fillers = 20_000;
  const root = tmp("debian");
  process.stderr.write(`[bench] B3b: a Debian archive of ${packages} packages and ${fillers} pool files...\n`);
  const key = makeSigningKey();
  try {
    publishDebianArchive(
      root,
      "bookworm-mk",
      Array.from({ length: packages }, (_, i) => ({ name: `mk-pkg${i}`, version: "1.0" })),
      key,
    );
  } finally {
    key.close();
  }
  for (let i = 0; i < fillers; i++) {
    const dir = path.join(root, "pool", "main", "f", `filler${Math.floor(i / 100)}`);
    if (i % 100 === 0) fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `filler${i}_1.0_all.deb`), `filler ${i}\n`);
  }
  fs.mkdirSync(path.join(root, "project", "trace"), { recursive: true });
  fs.writeFileSync(path.join(root, "project", "trace", "master"), "Mon Nov 23 00:00:00 UTC 2026\nArchive serial: 2026112301\n");
  const upstream = await countedUpstream(root, 28874, { name: "debian", path: "debian", checkFile: "project/trace/master", stages: "debian" });
  try {
    const kit = (dest: string) => kitSync(upstream.node, dest);
    // ftpsync reads ~/.config/ftpsync/ftpsync.conf; it has no port option, RSYNC_EXTRA carries one.
    const ftpsync = (dest: string) => {
      const home = tmp("ftpsync-home");
      fs.mkdirSync(path.join(home, ".config", "ftpsync"), { recursive: true });
      fs.writeFileSync(
        path.join(home, ".config", "ftpsync", "ftpsync.conf"),
        [
          `MIRRORNAME="bench.mirrorkit.invalid"`,
          `TO="${dest}/"`,
          `MAILTO="nobody@example.invalid"`,
          `RSYNC_HOST="127.0.0.1"`,
          `RSYNC_PATH="tree"`,
          `RSYNC_EXTRA="--port=${upstream.port}"`,
          `LOGDIR="${home}/log"`,
          "UIPSLEEP=1",
          "UIPRETRIES=1",
          "",
        ].join("\n"),
      );
      return () => runAsync("env", [`HOME=${home}`, "LOGNAME=root", "ftpsync"]);
    };
    const full = { kit: [] as number[], plain: [] as number[], kitBytes: [] as number[], plainBytes: [] as number[] };
    const again = { kit: [] as number[], plain: [] as number[], kitBytes: [] as number[], plainBytes: [] as number[] };
    const record = async (into: typeof full, which: string, fn: () => Promise<string>) => {
      const before = upstream.bytes();
      const t = now();
      await fn();
      (which === "kit" ? into.kit : into.plain).push(now() - t);
      (which === "kit" ? into.kitBytes : into.plainBytes).push(upstream.bytes() - before);
    };
    for (let r = 0; r < RUNS; r++) {
      const dk = tmp("dest-kit");
      const df = tmp("dest-ftpsync");
      const runs = [["kit", kit(dk)], ["ftpsync", ftpsync(df)]] as [string, () => Promise<string>][];
      // Alternate the order so neither always runs on a warmer cache.
      for (const [which, fn] of r % 2 === 0 ? runs : [...runs].reverse()) await record(full, which, fn);
      for (const [which, fn] of runs) await record(again, which, fn);
      // Both hold the archive (Release, pool, and one trace of their own).
      for (const dest of [dk, df]) {
        if (!fs.existsSync(path.join(dest, "dists", "bookworm-mk", "InRelease")) || !fs.existsSync(path.join(dest, "pool", "main", "f", "filler199", "filler19999_1.0_all.deb"))) {
          throw new Error(`B3b: ${dest} does not hold the whole archive`);
        }
      }
      fs.rmSync(dk, { recursive: true, force: true });
      fs.rmSync(df, { recursive: true, force: true });
    }
    const what = `Debian archive (${packages} packages, ${fillers} pool files)`;
    figures.push({ id: "B3b", what: `${what}: first sync into an empty tree, wall time`, unit: "s", kit: full.kit, plain: full.plain, note: "kit/ftpsync: both two-stage" });
    figures.push({ id: "B3b", what: `${what}: first sync, bytes over the wire`, unit: "bytes", kit: full.kitBytes, plain: full.plainBytes, note: "kit/ftpsync" });
    figures.push({ id: "B3b", what: `${what}: re-run, nothing changed, wall time`, unit: "s", kit: again.kit, plain: again.plain, note: "kit/ftpsync: the kit reads the master trace and stops" });
    figures.push({ id: "B3b", what: `${what}: re-run, nothing changed, bytes`, unit: "bytes", kit: again.kitBytes, plain: again.plainBytes, note: "kit/ftpsync" });
  } finally {
    upstream.stop();
    fs.rmSync(root, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- B7
/** Bytes of the upstream files that the destination holds whole, in place or waiting in a .~tmp~ directory. */
function bytesHeld(upstream: string, dest: string): number {
  let held = 0;
  for (const name of fs.readdirSync(upstream)) {
    const want = fs.readFileSync(path.join(upstream, name));
    for (const at of [path.join(dest, name), path.join(dest, ".~tmp~", name)]) {
      if (fs.existsSync(at) && fs.readFileSync(at).equals(want)) {
        held += want.length;
        break;
      }
    }
  }
  return held;
}

/** Runs `sh script` in its own process group and SIGKILLs the group once `enough()` holds (bounded: 120 s). */
async function killHalfWay(script: string, enough: () => boolean): Promise<void> {
  const child = spawn("sh", [script], { stdio: "ignore", detached: true });
  const deadline = Date.now() + 120_000;
  while (!enough() && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (child.exitCode !== null) throw new Error("B7: the first sync ended before it could be killed half-way");
  process.kill(-child.pid!, "SIGKILL");
  await new Promise((r) => child.once("exit", r));
}

/**
 * B7: a first sync killed half-way, then run again: the bytes the second run
 * receives, over the bytes still missing when the first was killed. The kit
 * keeps the killed run's finished files (--delay-updates' .~tmp~) as basis
 * files; "plain" is what the kit did before, purging .~tmp~ first.
 */
async function benchResume() {
  const files = 32;
  const upstream = tmp("resume-upstream");
  for (let i = 0; i < files; i++) fs.writeFileSync(path.join(upstream, `image-${i}.bin`), crypto.randomBytes(1 << 20));
  fs.writeFileSync(path.join(upstream, "lastupdate"), "1700000000\n");
  const total = fs.readdirSync(upstream).reduce((sum, f) => sum + fs.statSync(path.join(upstream, f)).size, 0);
  const daemonPort = 28874;
  const daemon = startRsyncd(upstream, daemonPort, path.join(tmp("log"), "rsyncd.log"));
  try {
    const node = parseNodeConfig({
      name: "bench",
      host: { address: "127.0.0.1", privateKey: "unused" },
      // 8 MiB/s: the first run takes about 4 s, killed at half.
      sync: [{ name: "tree", upstream: `rsync://127.0.0.1:${daemonPort}/tree/`, path: "tree", trace: false, bandwidthLimitKiB: 8192 }],
    });
    const ratios = { kit: [] as number[], plain: [] as number[] };
    for (let r = 0; r < RUNS; r++) {
      for (const which of ["kit", "plain"] as const) {
        const dest = tmp(`resume-${which}`);
        const state = tmp("state");
        const m = { ...syncModel(node, node.sync[0]), dest, stateDir: state, metricsFile: path.join(state, "m.prom"), statusDir: path.join(state, "status") };
        fs.mkdirSync(m.statusDir);
        const script = path.join(state, "sync.sh");
        fs.writeFileSync(script, renderSyncScript(m));
        await killHalfWay(script, () => bytesHeld(upstream, dest) >= total / 2);
        const missing = total - bytesHeld(upstream, dest);
        let received: number;
        let log = "";
        if (which === "kit") {
          log = await runAsync("sh", [script]);
          received = (JSON.parse(fs.readFileSync(path.join(state, "status.json"), "utf8")) as { bytesReceived: number }).bytesReceived;
        } else {
          execFileSync("sh", ["-c", `find '${dest}' -depth -type d -name .~tmp~ -exec rm -rf {} +`]);
          const out = await runAsync("rsync", ["-rtlpH", "--safe-links", "--numeric-ids", "--delete-after", "--delay-updates", "--stats", `rsync://127.0.0.1:${daemonPort}/tree/`, `${dest}/`]);
          received = Number(/^Total bytes received: ([\d,]+)/m.exec(out)?.[1].replace(/,/g, "") ?? NaN);
        }
        if (bytesHeld(upstream, dest) !== total) throw new Error(`B7: the ${which} resume did not complete the tree (${bytesHeld(upstream, dest)} of ${total} bytes):\n${log}\n${fs.readdirSync(dest).join(" ")}`);
        ratios[which].push(received / missing);
        fs.rmSync(dest, { recursive: true, force: true });
      }
    }
    figures.push({ id: "B7", what: `first sync of ${files} MiB killed half-way, then resumed: bytes received / bytes missing`, unit: "ratio", kit: ratios.kit, plain: ratios.plain, note: "goal kit ≤ 1.05; plain: .~tmp~ purged first (the kit before)" });
  } finally {
    daemon.kill();
    fs.rmSync(upstream, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- B4
function wrk(url: string, connections: number): { rps: number; mbps: number } {
  const out = run("wrk", ["-t2", `-c${connections}`, "-d8s", "--latency", url]);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const tr = /Transfer\/sec:\s+([\d.]+)([KMG]?B)/.exec(out);
  const scale: Record<string, number> = { B: 1 / 1048576, KB: 1 / 1024, MB: 1, GB: 1024 };
  if (!Number.isFinite(rps) || !tr) throw new Error(`B4: wrk output not understood:\n${out}`);
  if (/Non-2xx or 3xx responses/.test(out)) throw new Error(`B4: ${url} answered errors:\n${out}`);
  return { rps, mbps: Number(tr[1]) * scale[tr[2]] };
}

function waitHttp(url: string) {
  execFileSync("sh", ["-c", `for i in $(seq 100); do curl -fsS -o /dev/null '${url}' 2>/dev/null && exit 0; sleep 0.1; done; echo "no answer from ${url}" >&2; exit 1`]);
}

function benchServing() {
  const root = tmp("www");
  fs.mkdirSync(path.join(root, "small"));
  for (let i = 0; i < 100; i++) fs.writeFileSync(path.join(root, "small", `f${i}.txt`), "x".repeat(4096));
  const big = path.join(root, "big.img");
  fs.writeFileSync(big, Buffer.alloc(256 * 1024 * 1024, 1));
  fs.chmodSync(root, 0o755);

  for (const server of ["nginx", "apache"] as const) {
    const kitPort = server === "nginx" ? 28080 : 28090;
    const stockPort = kitPort + 1;
    const node = parseNodeConfig({ name: "bench", host: { address: "127.0.0.1", privateKey: "unused" }, mirrorRoot: root, web: { server, httpPort: kitPort, listenAddresses: ["127.0.0.1"] } });
    const dir = tmp(`${server}-kit`);
    const m = {
      ...webModel(node),
      configPath: path.join(dir, server === "nginx" ? "nginx.conf" : "httpd.conf"),
      listingFilterPath: path.join(dir, "listing-filter.js"),
    };
    fs.mkdirSync("/run/mirrorkit-web", { recursive: true });
    fs.mkdirSync("/var/log/mirrorkit-web", { recursive: true });
    for (const f of webSupportFiles(m)) fs.writeFileSync(f.path, f.content);
    // The kit's files as rendered, bound to loopback only.
    fs.writeFileSync(m.configPath, server === "nginx" ? renderNginxConf(m) : renderApacheConf(m, "127.0.0.1"));

    // Debian's stock configuration, only its port and document root changed.
    const stock = tmp(`${server}-stock`);
    let kitProc;
    let stockProc;
    if (server === "nginx") {
      run("cp", ["-a", "/etc/nginx/.", stock]);
      fs.writeFileSync(path.join(stock, "sites-enabled", "default"), `server {\n listen 127.0.0.1:${stockPort} default_server;\n root ${root};\n index index.html;\n location / { try_files $uri $uri/ =404; }\n}\n`);
      const conf = fs.readFileSync(path.join(stock, "nginx.conf"), "utf8").replace(/\/etc\/nginx\//g, `${stock}/`).replace(/^pid .*$/m, `pid ${stock}/nginx.pid;`);
      fs.writeFileSync(path.join(stock, "nginx.conf"), conf);
      kitProc = spawn("nginx", ["-c", m.configPath, "-e", "stderr", "-g", "daemon off;"], { stdio: "ignore" });
      stockProc = spawn("nginx", ["-c", path.join(stock, "nginx.conf"), "-e", "stderr", "-g", "daemon off;"], { stdio: "ignore" });
    } else {
      run("cp", ["-a", "/etc/apache2/.", stock]);
      // Debian enables mod_qos with its package, and then the stock server cannot start
      // (the module needs PCRE, which the server no longer loads); stock runs without it.
      for (const f of ["qos.load", "qos.conf"]) fs.rmSync(path.join(stock, "mods-enabled", f), { force: true });
      fs.writeFileSync(path.join(stock, "ports.conf"), `Listen 127.0.0.1:${stockPort}\n`);
      fs.writeFileSync(path.join(stock, "sites-enabled", "000-default.conf"), `<VirtualHost *:${stockPort}>\n DocumentRoot ${root}\n <Directory ${root}>\n  Require all granted\n </Directory>\n</VirtualHost>\n`);
      const env = { APACHE_RUN_USER: "www-data", APACHE_RUN_GROUP: "www-data", APACHE_PID_FILE: `${stock}/apache2.pid`, APACHE_RUN_DIR: stock, APACHE_LOCK_DIR: stock, APACHE_LOG_DIR: stock };
      kitProc = spawn("apache2", ["-f", m.configPath, "-DFOREGROUND"], { stdio: "ignore" });
      stockProc = spawn("apache2", ["-d", stock, "-f", path.join(stock, "apache2.conf"), "-DFOREGROUND"], { stdio: "ignore", env: { ...process.env, ...env } });
    }
    try {
      waitHttp(`http://127.0.0.1:${kitPort}/small/f1.txt`);
      waitHttp(`http://127.0.0.1:${stockPort}/small/f1.txt`);
      const small = { kit: [] as number[], plain: [] as number[] };
      const large = { kit: [] as number[], plain: [] as number[] };
      for (let r = 0; r < RUNS; r++) {
        small.kit.push(wrk(`http://127.0.0.1:${kitPort}/small/f7.txt`, 32).rps);
        small.plain.push(wrk(`http://127.0.0.1:${stockPort}/small/f7.txt`, 32).rps);
        large.kit.push(wrk(`http://127.0.0.1:${kitPort}/big.img`, 4).mbps);
        large.plain.push(wrk(`http://127.0.0.1:${stockPort}/big.img`, 4).mbps);
      }
      figures.push({ id: "B4", what: `${server}: requests/s, 4 KiB file, 32 connections`, unit: "req/s", kit: small.kit, plain: small.plain, note: "kit/stock: higher is better" });
      figures.push({ id: "B4", what: `${server}: MiB/s, 256 MiB file, 4 connections`, unit: "MiB/s", kit: large.kit, plain: large.plain, note: "kit/stock: higher is better" });
    } finally {
      kitProc.kill();
      stockProc.kill();
    }
  }
  fs.rmSync(root, { recursive: true, force: true });
}

// ---------------------------------------------------------------- B5
async function benchScale() {
  const times: Record<number, number[]> = {};
  for (const n of [1, 10, 100]) {
    const stack = `bench-scale-${n}`;
    const modules = Array.from({ length: n }, (_, i) => ({ name: `m${i}`, path: `m${i}` }));
    const node = {
      name: stack,
      host: { address: "192.0.2.10", privateKey: "unused" },
      rsync: { modules },
      sync: modules.map((m) => ({ name: m.name, upstream: `rsync://tier1.example.org/${m.name}/`, path: m.path })),
    };
    await writeStackFile(stack, node);
    try {
      if (!(await stackNames()).includes(stack)) await pulumi(["stack", "init", stack]);
      times[n] = [];
      for (let r = 0; r < RUNS; r++) {
        const t = now();
        await pulumi(["preview", "--stack", stack]);
        times[n].push(now() - t);
      }
    } finally {
      await pulumi(["stack", "rm", stack, "--yes", "--force"], { check: false });
      fs.rmSync(path.join(PROJECT_DIR, "stacks", `Pulumi.${stack}.yaml`), { force: true });
    }
  }
  figures.push({ id: "B5", what: "preview, 10 modules vs 1", unit: "s", kit: times[10], plain: times[1], note: "growth ratio 10/1" });
  figures.push({ id: "B5", what: "preview, 100 modules vs 10", unit: "s", kit: times[100], plain: times[10], note: "growth ratio 100/10" });
}

// ---------------------------------------------------------------- B8
/** A node carrying `presets` as projects (an unreachable tier 0; nothing syncs during the measure). */
function projectsNode(presets: string[], host: Record<string, unknown>) {
  return {
    name: "bench-projects",
    tier: 2,
    host,
    volumes: [{ name: "data", device: "/dev/vdb", mountPoint: "/srv/mirror" }],
    // Parabola at tier 1 (with the private daemon) when it is carried, the others at tier 2.
    ...(presets.includes("parabola") ? { rsync: { private: { hostsAllow: ["10.0.2.2"], users: [{ name: "t2", password: "bench-secret" }] } } } : {}),
    projects: presets.map((preset) => ({ preset, upstream: "rsync://10.0.2.100", ...(preset === "parabola" ? { tier: 1 } : {}) })),
  };
}

async function benchProjects() {
  const shapes: [string, string[]][] = [
    ["1", ["fedora"]],
    ["7", ["fedora", "opensuse", "parabola", "archlinux", "aosc", "distri", "debian"]],
  ];
  const preview: Record<string, number[]> = {};
  const up: Record<string, number[]> = {};
  for (const [label, presets] of shapes) {
    const stack = `bench-projects-${label}`;
    preview[label] = [];
    up[label] = [];
    const previewFile = await writeStackFile(stack, projectsNode(presets, { address: "192.0.2.10", privateKey: "unused" }));
    try {
      if (!(await stackNames()).includes(stack)) await pulumi(["stack", "init", stack]);
      for (let r = 0; r < RUNS; r++) {
        const t = now();
        await pulumi(["preview", "--stack", stack]);
        preview[label].push(now() - t);
      }
      for (let r = 0; r < RUNS; r++) {
        const vm = await bootVm({ name: `bench-projects-${label}-${r}` });
        try {
          await writeStackFile(stack, projectsNode(presets, { address: vm.address, port: vm.ports[22], privateKeyPath: vm.privateKeyPath }));
          const t = now();
          await pulumi(["up", "--stack", stack, "--yes", "--skip-preview"]);
          up[label].push(now() - t);
          await pulumi(["stack", "rm", stack, "--yes", "--force"], { check: false });
          await pulumi(["stack", "init", stack]);
        } finally {
          await vm.stop();
        }
      }
    } finally {
      await pulumi(["stack", "rm", stack, "--yes", "--force"], { check: false });
      fs.rmSync(previewFile, { force: true });
    }
  }
  figures.push({ id: "B8", what: "preview, seven projects vs one", unit: "s", kit: preview["7"], plain: preview["1"], note: "goal ≤ 1.5" });
  figures.push({ id: "B8", what: "fresh `pulumi up` on a VM, seven projects vs one", unit: "s", kit: up["7"], plain: up["1"], note: "goal ≤ 1.5" });
}

// ---------------------------------------------------------------- B9
const B9_VERSIONS = 16;
const B9_SUITE = "stable-mk";

/** Stops `child` and waits until it has exited. */
function stopped(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill();
  return exited;
}

/**
 * One B9 measurement: a local tier 0 publishes `B9_VERSIONS` new signed
 * versions of a repository one after another; after each, the kit's sync
 * script (rendered for a node, with `stages`) copies it into a tree the
 * kit's nginx serves, while `client` installs from that nginx in a loop of
 * its own (a process of its own, throwaway roots). Returns its runs.
 */
async function clientsDuringSync(layout: "rpm" | "debian", stages: "rpm" | "debian" | "single", client: ClientKind, key: SigningKey): Promise<{ runs: number; failed: number; errors: string[] }> {
  const port = 28095;
  const daemonPort = 28875;
  const upstream = tmp("b9-upstream");
  fs.chmodSync(upstream, 0o755);
  // Debian as dak publishes it (by-hash indices; what the previous version named kept one version longer).
  const publish = (v: string) => (layout === "rpm" ? publishRpmRepo(upstream, testPackages(v), key) : publishDebianUpdate(upstream, B9_SUITE, testPackages(v), key));
  if (layout === "rpm") publish("1.0");
  else publishDebianArchive(upstream, B9_SUITE, testPackages("1.0"), key, { byHash: true });
  const daemon = startRsyncd(upstream, daemonPort, path.join(tmp("log"), "rsyncd.log"));
  const nodeRoot = tmp("b9-node");
  fs.chmodSync(nodeRoot, 0o755);
  const state = tmp("b9-state");
  const node = parseNodeConfig({
    name: "bench",
    host: { address: "127.0.0.1", privateKey: "unused" },
    mirrorRoot: nodeRoot,
    web: { server: "nginx", httpPort: port, listenAddresses: ["127.0.0.1"] },
    sync: [{ name: "repo", upstream: `rsync://127.0.0.1:${daemonPort}/tree/`, path: "repo", stages, trace: false }],
  });
  const m = { ...syncModel(node, node.sync[0]), stateDir: state, metricsFile: path.join(state, "m.prom"), statusDir: path.join(state, "status") };
  fs.mkdirSync(m.statusDir);
  fs.mkdirSync(m.dest);
  const script = path.join(state, "sync.sh");
  fs.writeFileSync(script, renderSyncScript(m));
  const web = tmp("b9-nginx");
  const w = { ...webModel(node), configPath: path.join(web, "nginx.conf"), listingFilterPath: path.join(web, "listing-filter.js") };
  for (const d of ["/run/mirrorkit-web", "/var/log/mirrorkit-web"]) fs.mkdirSync(d, { recursive: true });
  for (const f of webSupportFiles(w)) fs.writeFileSync(f.path, f.content);
  fs.writeFileSync(w.configPath, renderNginxConf(w));
  const nginx = spawn("nginx", ["-c", w.configPath, "-e", "stderr", "-g", "daemon off;"], { stdio: "ignore" });
  const stop = path.join(state, "stop");
  let out = "";
  let loop: ChildProcess | undefined;
  try {
    await runAsync("sh", [script]);
    const url = `http://127.0.0.1:${port}/repo`;
    waitHttp(layout === "rpm" ? `${url}/repodata/repomd.xml` : `${url}/dists/${B9_SUITE}/InRelease`);
    const args: ClientLoop = { kind: client, url, pkg: "mk-world", key: key.armored, stop, maxRuns: 400, maxSeconds: 900, ...(layout === "debian" ? { dist: B9_SUITE } : {}) };
    const child = spawn(process.execPath, ["--import", "tsx", path.join(PROJECT_DIR, "scripts", "lib", "client-loop.ts"), JSON.stringify(args)], { cwd: PROJECT_DIR, stdio: ["ignore", "pipe", "inherit"] });
    loop = child;
    child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
    const exited = new Promise((resolve) => child.once("close", resolve));
    for (let v = 2; v <= B9_VERSIONS + 1; v++) {
      publish(`${v}.0`);
      const log = await runAsync("sh", [script]);
      if (!/sync complete/.test(log)) throw new Error(`B9: the sync of version ${v}.0 did not complete:\n${log}`);
      // The next version after a while, so syncs fall at any point of a client's run.
      await new Promise((r) => setTimeout(r, 500 + Math.random() * 1500));
    }
    fs.writeFileSync(stop, "");
    await exited;
  } finally {
    fs.writeFileSync(stop, "");
    loop?.kill();
    // The next measurement takes the same ports: both must be gone first.
    await Promise.all([nginx, daemon].map((p) => stopped(p)));
    for (const d of [upstream, nodeRoot, state, web]) fs.rmSync(d, { recursive: true, force: true });
  }
  const lines = out
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as LoopLine);
  const failed = lines.filter((l) => !l.installed);
  return { runs: lines.length, failed: failed.length, errors: failed.map((l) => l.error) };
}

/**
 * B9: failed client runs while a node syncs new versions, the kit's staged
 * sync (rpm: packages, then hashed metadata, then repomd.xml, what the old
 * repomd.xml named kept one run; debian: pool, then indices) against the same
 * job in one rsync pass (stages: single), dnf and apt, the same loop.
 */
async function benchClientsDuringSync() {
  const key = makeSigningKey();
  const cases = [
    { client: "dnf", layout: "rpm" },
    { client: "apt", layout: "debian" },
  ] as const;
  try {
    for (const c of cases) {
      const failed = { kit: [] as number[], plain: [] as number[] };
      const runs = { kit: 0, plain: 0 };
      const errors: string[] = [];
      for (let r = 0; r < RUNS; r++) {
        for (const which of ["kit", "plain"] as const) {
          const res = await clientsDuringSync(c.layout, which === "kit" ? c.layout : "single", c.client, key);
          failed[which].push(res.failed);
          runs[which] += res.runs;
          errors.push(...res.errors.map((e) => `${which}: ${e}`));
        }
      }
      if (errors.length > 0) process.stderr.write(`[bench] B9 ${c.client} failures:\n${errors.join("\n")}\n`);
      figures.push({
        id: "B9",
        what: `${c.client} installing in a loop while the node syncs ${B9_VERSIONS} new versions: failed runs`,
        unit: "runs",
        kit: failed.kit,
        plain: failed.plain,
        note: `kit: ${c.layout} stages, ${runs.kit} runs in all; plain: one rsync pass, ${runs.plain} runs; goal kit 0`,
      });
    }
  } finally {
    key.close();
  }
}

// ---------------------------------------------------------------- B1
/** A state value with its secret wrapper removed (an exported secret is {<sig>, plaintext: JSON}). */
function unsecret(v: unknown): unknown {
  if (v !== null && typeof v === "object" && "plaintext" in v && typeof (v as { plaintext: unknown }).plaintext === "string") {
    return JSON.parse((v as { plaintext: string }).plaintext);
  }
  return v;
}

/** The host work the kit applied, in the order the state records it: files copied, commands run. */
function plainScriptFromState(stack: string): string {
  const state = JSON.parse(run("pulumi", ["stack", "export", "--stack", stack, "--show-secrets"])) as {
    deployment: { resources: { type: string; inputs?: Record<string, unknown> }[] };
  };
  const lines = ["set -e"];
  let n = 0;
  for (const r of state.deployment.resources) {
    if (r.type === "command:remote:CopyToRemote") {
      const text = (unsecret(r.inputs?.source) as { text?: string } | undefined)?.text ?? "";
      lines.push(`cat > '${String(r.inputs?.remotePath)}' <<'MIRRORKIT_EOF_${n}'\n${text}${text.endsWith("\n") ? "" : "\n"}MIRRORKIT_EOF_${n}`);
      n++;
    } else if (r.type === "command:remote:Command" && r.inputs?.create) {
      const env = Object.entries((unsecret(r.inputs.environment) ?? {}) as Record<string, unknown>).map(([k, v]) => `export ${k}='${String(unsecret(v))}'`);
      const create: unknown = unsecret(r.inputs.create);
      if (typeof create !== "string") throw new Error(`B1: a command's create is not text in the state: ${JSON.stringify(create).slice(0, 200)}`);
      lines.push(`(\n${env.join("\n")}\n${create}\n)`);
    }
  }
  return lines.join("\n") + "\n";
}

async function benchProvision() {
  const fresh: number[] = [];
  const rerun: number[] = [];
  const plain: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const vm = await bootVm({ name: `bench-kit-${r}`, forwards: { 80: 0 } });
    const stack = `bench-provision-${r}`;
    const node = {
      name: "bench",
      host: { address: vm.address, port: vm.ports[22], privateKeyPath: vm.privateKeyPath },
      volumes: [{ name: "data", device: "/dev/vdb", mountPoint: "/srv/mirror" }],
      rsync: { modules: [{ name: "pub", path: "pub" }], private: { modules: [{ name: "pub-tier", path: "pub" }], hostsAllow: ["10.0.2.2"], users: [{ name: "t2", password: "bench-secret" }] } },
      sync: [{ name: "pub", upstream: "rsync://10.0.2.100/pub/", path: "pub" }],
    };
    const file = await writeStackFile(stack, node);
    try {
      if (!(await stackNames()).includes(stack)) await pulumi(["stack", "init", stack]);
      let t = now();
      await pulumi(["up", "--stack", stack, "--yes", "--skip-preview"]);
      fresh.push(now() - t);
      t = now();
      const again = await pulumi(["up", "--stack", stack, "--yes", "--skip-preview", "--expect-no-changes"], { check: false });
      if (again.code !== 0) throw new Error(`B1: the no-change re-run changed resources:\n${again.stdout}`);
      rerun.push(now() - t);
      const script = plainScriptFromState(stack);
      await vm.stop();
      const vm2 = await bootVm({ name: `bench-plain-${r}` });
      try {
        t = now();
        const res = await vm2.ssh("bash -s", { input: script, allowFailure: true });
        if (res.code !== 0) throw new Error(`B1: the plain script failed: ${res.stderr.slice(-2000)}`);
        plain.push(now() - t);
      } finally {
        await vm2.stop();
      }
    } finally {
      await pulumi(["stack", "rm", stack, "--yes", "--force"], { check: false });
      fs.rmSync(file, { force: true });
      await vm.stop();
    }
  }
  figures.push({ id: "B1", what: "fresh `pulumi up` of a full node vs the same work as one plain SSH script", unit: "s", kit: fresh, plain, note: "fresh/plain" });
  figures.push({ id: "B1", what: "no-change re-run vs fresh `pulumi up` (0 resources changed)", unit: "s", kit: rerun, plain: fresh, note: "re-run/fresh" });
}

// ---------------------------------------------------------------- report
/** A report row's benchmark id ("B3", "B3b"), or "" for other lines. */
const rowId = (line: string) => /^\| (B\d[a-z]?) \|/.exec(line)?.[1] ?? "";

function report(): string {
  const versions = [
    `node ${process.versions.node}`,
    run("pulumi", ["version"]).trim(),
    run("sh", ["-c", "nginx -v 2>&1"]).trim(),
    run("sh", ["-c", "apache2 -v | head -n1"]).trim(),
    run("sh", ["-c", "rsync --version | head -n1"]).trim(),
    run("sh", ["-c", "wrk -v 2>&1 | head -n1 || true"]).trim(),
    run("sh", ["-c", "dpkg-query -W -f 'ftpsync ${Version}' ftpsync 2>/dev/null || true"]).trim(),
  ];
  const lines = [
    "# mirrorkit benchmarks",
    "",
    `Written by \`npm run bench\` on ${new Date().toISOString()}. Every figure is the median of ${RUNS} runs (min–max),`,
    "the kit and the plain alternative measured in the same run on the same machine. Ratios, not",
    "absolute times, are the result: these machines are shared and noisy.",
    "",
    `Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.release()}. VMs run under software emulation (TCG).`,
    `Versions: ${versions.join("; ")}.`,
    "",
    "| id | what | unit | kit (median, min–max) | plain (median, min–max) | ratio kit/plain | reading |",
    "| --- | --- | --- | --- | --- | --- | --- |",
  ];
  // Rows of benchmarks not run this time stay, with the date they were measured.
  const previous = fs.existsSync(REPORT) ? fs.readFileSync(REPORT, "utf8") : "";
  const previousDate = /^Written by `npm run bench` on (\S+?)\./m.exec(previous)?.[1] ?? "an earlier run";
  const kept = previous
    .split("\n")
    .filter((l) => rowId(l) !== "" && !want(rowId(l)) && !figures.some((f) => f.id === rowId(l)))
    .map((l) => (/\(measured \S+\) \|$/.test(l) ? l : l.replace(/ \|$/, ` (measured ${previousDate.replace(/T.*/, "")}) |`)));
  const rows: string[] = [];
  for (const f of figures) {
    const k = median(f.kit);
    const p = median(f.plain);
    const ratio = p === 0 ? "n/a" : fmt(k / p);
    rows.push(
      `| ${f.id} | ${f.what} | ${f.unit} | ${fmt(k)} (${fmt(Math.min(...f.kit))}–${fmt(Math.max(...f.kit))}) | ${fmt(p)} (${fmt(Math.min(...f.plain))}–${fmt(Math.max(...f.plain))}) | ${ratio} | ${f.note ?? ""} |`,
    );
  }
  // In id order; within an id, as measured.
  const ordered = [...rows, ...kept].map((l, i) => ({ l, i })).sort((a, b) => rowId(a.l).localeCompare(rowId(b.l)) || a.i - b.i);
  lines.push(...ordered.map((r) => r.l));
  // Sections after the table ("## ...": figures from the end-to-end scenario) stay as they are.
  const sections = previous.indexOf("\n## ");
  return lines.join("\n") + "\n" + (sections >= 0 ? previous.slice(sections) : "");
}

async function main() {
  let failure: unknown;
  try {
    if (want("B2") || want("B3")) await benchSync();
    if (want("B3b")) await benchFtpsync();
    if (want("B4")) benchServing();
    if (want("B5")) await benchScale();
    if (want("B7")) await benchResume();
    if (want("B8")) await benchProjects();
    if (want("B9")) await benchClientsDuringSync();
    if (want("B1")) await benchProvision();
  } catch (err) {
    failure = err;
  }
  // What was measured is kept; a failed step is named and fails the run.
  let text = report();
  if (failure !== undefined) text += `\n**A step failed; the figures above are those measured before it.**\n\n\`\`\`\n${String(failure instanceof Error ? failure.message : failure).slice(0, 2000)}\n\`\`\`\n`;
  fs.mkdirSync(path.dirname(REPORT), { recursive: true });
  fs.writeFileSync(REPORT, text);
  process.stdout.write(text);
  if (failure !== undefined) throw failure;
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
