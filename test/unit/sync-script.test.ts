// The rendered sync script run for real on this machine (as root, against a
// loopback rsync daemon), with its state, metrics and status page in a
// scratch directory: two-stage ordering, status JSON with the next run, and
// the HTML status page.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { renderSyncScript, syncModel, type SyncModel } from "../../components/render/sync";
import { nodeConfig } from "../lib/fixtures";
import { sh, tmpDir } from "../lib/tools";
import { makeSigningKey, publishDebianArchive } from "../../scripts/lib/repos";
import { RPM_REPO, rpmPackages, startUpstream, type Upstream } from "../lib/upstream";

describe("sync script, run locally", () => {
  let upstream: Upstream;
  let dir: string;

  before(async () => {
    upstream = await startUpstream("fedora");
    dir = tmpDir("sync-run");
    // A repodata index next to the packages, as in an RPM repository.
    fs.mkdirSync(path.join(upstream.root, "releases/41/Everything/x86_64/os/repodata"));
    fs.writeFileSync(path.join(upstream.root, "releases/41/Everything/x86_64/os/repodata/repomd.xml"), "<repomd/>\n");
  });
  after(async () => {
    await upstream?.stop();
  });

  interface JobOptions {
    checkFile?: string;
    postHook?: string;
    /** Pushes that arrive during the run: the first N transfers each rewrite the push mark. */
    pushesDuringRun?: number;
    /** The transfer whose arguments contain `match` runs for real, then exits with `code` (a failure after data arrived). */
    failTransfer?: { match: string; code: number; stderr?: string };
    /** A scratch root of its own (for tests that follow one tree across runs). */
    root?: string;
    /** Other job fields (trace, upstreamBusy*). */
    job?: Record<string, unknown>;
    /** Another tier 0 than the suite's. */
    from?: Upstream;
  }

  /** Renders a job's script into the scratch dir, with a logging `rsync` first on PATH. */
  function runJob(stages: "single" | "rpm" | "debian", o: JobOptions = {}): { code: number; out: string; calls: string[]; m: SyncModel } {
    const pushes = o.pushesDuringRun;
    const root = o.root ?? path.join(dir, `${stages}-${o.checkFile ?? "nocheck"}-${o.postHook ? "hook" : "nohook"}-${pushes ?? "nopush"}`);
    const node = nodeConfig({
      mirrorRoot: root,
      sync: [{ name: "fedora", upstream: `rsync://127.0.0.1:${(o.from ?? upstream).port}/fedora/`, path: "fedora", stages, schedule: "*:0/20", trace: false, ...(o.checkFile ? { checkFile: o.checkFile } : {}), ...(o.postHook ? { postHook: o.postHook } : {}), ...o.job }],
    });
    const base = syncModel(node, node.sync[0]);
    const m: SyncModel = {
      ...base,
      stateDir: path.join(root, "state"),
      metricsFile: path.join(root, "metrics.prom"),
      statusDir: path.join(root, "status"),
      pushTriggerFile: pushes === undefined ? "" : path.join(root, "push-trigger"),
    };
    for (const d of [m.stateDir, m.statusDir, m.dest]) fs.mkdirSync(d, { recursive: true });
    const script = path.join(root, "sync.sh");
    fs.writeFileSync(script, renderSyncScript(m), { mode: 0o755 });
    // Records each rsync call's arguments, then runs the real one; a transfer
    // (a call naming the destination) may first play a push arriving.
    const bin = path.join(root, "bin");
    const log = path.join(root, "rsync-calls");
    const pushed = path.join(root, "pushes-played");
    fs.mkdirSync(bin, { recursive: true });
    fs.rmSync(log, { force: true });
    fs.writeFileSync(pushed, "");
    const playPush = pushes === undefined ? "" : [
      `case "$*" in *${m.dest}*)`,
      `  if [ "$(wc -l < ${pushed})" -lt ${pushes} ]; then echo push >> ${pushed}; date -u +%s.%N > ${m.pushTriggerFile}; fi ;;`,
      "esac",
    ].join("\n");
    const fail = o.failTransfer
      ? [`case "$*" in *${m.dest}*${o.failTransfer.match}*|*${o.failTransfer.match}*${m.dest}*)`, `  /usr/bin/rsync "$@"; printf '%b\\n' ${JSON.stringify(o.failTransfer.stderr ?? "")} >&2; exit ${o.failTransfer.code} ;;`, "esac"].join("\n")
      : "";
    // It also notes, at each transfer, the in-progress markers in the destination.
    const markers = `case "$*" in *${m.dest}*) ls -A ${m.dest} | grep Archive-Update-in-Progress- >> ${path.join(root, "markers-seen")};; esac`;
    fs.writeFileSync(path.join(bin, "rsync"), `#!/bin/sh\necho "$*" >> ${log}\n${markers}\n${playPush}\n${fail}\nexec /usr/bin/rsync "$@"\n`, { mode: 0o755 });
    // Tree walks are noted too: a no-change run must not walk the tree.
    for (const walker of ["du", "find"]) {
      fs.writeFileSync(path.join(bin, walker), `#!/bin/sh\necho "${walker} $*" >> ${path.join(root, "walks")}\nexec /usr/bin/${walker} "$@"\n`, { mode: 0o755 });
    }
    fs.rmSync(path.join(root, "walks"), { force: true });
    const r = sh("env", [`PATH=${bin}:/usr/sbin:/usr/bin:/sbin:/bin`, script]);
    const calls = fs.readFileSync(log, "utf8").trim().split("\n").filter((c) => c.includes(m.dest));
    return { ...r, calls, m };
  }

  it("rpm: packages first, then the hashed metadata without repomd.xml, both without deletions; then everything with deletions", () => {
    const { code, out, calls, m } = runJob("rpm");
    assert.equal(code, 0, out);
    assert.match(out, /stage 1 of 3: packages[\s\S]*stage 2 of 3: metadata files[\s\S]*stage 3 of 3: repomd\.xml, and deletions/);
    assert.equal(calls.length, 3, calls.join("\n"));
    assert.match(calls[0], /--exclude=repodata\//);
    assert.doesNotMatch(calls[0], /--delete|--max-delete/);
    assert.match(calls[1], /--exclude=repomd\.xml\*/);
    assert.doesNotMatch(calls[1], /--delete|--max-delete|--exclude=repodata/);
    assert.match(calls[2], /--delete-after/);
    assert.match(calls[2], /--filter=merge \S+\/keep-metadata/);
    assert.doesNotMatch(calls[2], /--exclude=repodata|--exclude=repomd/);
    assert.equal(fs.readFileSync(path.join(m.dest, "releases/41/Everything/x86_64/os/repodata/repomd.xml"), "utf8"), "<repomd/>\n");
  });

  it("rpm: what the previous repomd.xml named and the new one drops (metadata and packages) stays for one more run, then goes", async () => {
    const key = makeSigningKey();
    const tier0 = await startUpstream("fedora", { repoKey: key });
    try {
      const root = path.join(dir, "rpm-metadata-generations");
      const repodata = (base: string) => path.join(base, RPM_REPO, "repodata");
      const named = (base: string) => [...fs.readFileSync(path.join(repodata(base), "repomd.xml"), "utf8").matchAll(/href="repodata\/([^"]+)"/g)].map((x) => x[1]).sort();
      const hashed = (base: string) => fs.readdirSync(repodata(base)).filter((f) => !f.startsWith("repomd.xml")).sort();
      const packages = (base: string) => fs.readdirSync(path.join(base, RPM_REPO, "Packages", "m")).sort();
      const run = () => {
        const r = runJob("rpm", { root, from: tier0, checkFile: "fullfiletimelist-fedora" });
        assert.equal(r.code, 0, r.out);
        return { dest: r.m.dest, out: r.out };
      };
      let { dest } = run();
      const v1 = named(tier0.root);
      assert.deepEqual(hashed(dest), v1);
      assert.deepEqual(packages(dest), ["mk-hello-1.0-1.noarch.rpm", "mk-world-1.0-1.noarch.rpm"]);
      tier0.publishRpmUpdate("2.0", key);
      let out: string;
      ({ dest, out } = run());
      const v2 = named(tier0.root);
      assert.deepEqual(named(dest), v2, "the new repomd.xml is served");
      assert.deepEqual(hashed(dest), [...v1, ...v2].sort(), "and what the old one named is still here");
      assert.deepEqual(packages(dest), ["mk-hello-1.0-1.noarch.rpm", "mk-hello-2.0-1.noarch.rpm", "mk-world-1.0-1.noarch.rpm", "mk-world-2.0-1.noarch.rpm"], "the old packages too");
      // Only the change's delta is protected: 2 packages and v1's metadata.
      assert.match(out, new RegExp(`kept for clients of the previous repomd.xml: ${2 + v1.length} files`));
      tier0.publishRpmUpdate("3.0", key);
      ({ dest } = run());
      assert.deepEqual(hashed(dest), [...v2, ...named(tier0.root)].sort(), "one change later, the first generation is gone");
      assert.deepEqual(packages(dest), ["mk-hello-2.0-1.noarch.rpm", "mk-hello-3.0-1.noarch.rpm", "mk-world-2.0-1.noarch.rpm", "mk-world-3.0-1.noarch.rpm"]);
    } finally {
      await tier0.stop();
      key.close();
    }
  });

  it("debian: the by-hash indices the previous InRelease named and upstream's new one drops stay for one more run, then go", async () => {
    const key = makeSigningKey();
    const tier0 = await startUpstream("fedora");
    try {
      const root = path.join(dir, "debian-by-hash-generations");
      const suite = "stable-mk";
      const byHash = (base: string) => {
        const d = path.join(base, "dists", suite, "main", "binary-amd64", "by-hash");
        return fs.readdirSync(d, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.relative(d, path.join(e.parentPath, e.name))).sort();
      };
      const union = (...sets: string[][]) => [...new Set(sets.flat())].sort();
      const run = () => {
        const r = runJob("debian", { root, from: tier0 });
        assert.equal(r.code, 0, r.out);
        return r;
      };
      // Each version replaces the suite's dists/ whole: upstream drops the old by-hash files at once.
      const publish = (version: string) => {
        publishDebianArchive(tier0.root, suite, rpmPackages(version), key, { byHash: true });
        // Each version's files a minute apart, as a real archive's are: rsync's
        // quick check (size and mtime) would skip an equal-sized InRelease of the same second.
        const at = 1_800_000_000 + 60 * Number.parseFloat(version);
        for (const e of fs.readdirSync(path.join(tier0.root, "dists"), { recursive: true, withFileTypes: true })) fs.utimesSync(path.join(e.parentPath, e.name), at, at);
        return byHash(tier0.root);
      };
      const v1 = publish("1.0");
      assert.deepEqual(byHash(run().m.dest), v1);
      const v2 = publish("2.0");
      const second = run();
      assert.deepEqual(byHash(second.m.dest), union(v1, v2), "the old InRelease's by-hash files are still here beside the new");
      // SHA256 and SHA512 of Packages and Packages.gz: what apt may fetch by hash.
      assert.match(second.out, new RegExp(`kept for clients of the previous InRelease: ${v1.filter((f) => !v2.includes(f)).length} by-hash names`));
      assert.deepEqual(v1.map((f) => f.split("/")[0]).sort(), ["SHA256", "SHA256", "SHA512", "SHA512"]);
      const v3 = publish("3.0");
      assert.deepEqual(byHash(run().m.dest), union(v2, v3), "one change later, the first generation is gone");
    } finally {
      await tier0.stop();
      key.close();
    }
  });

  it("single: one transfer", () => {
    const { code, out, calls } = runJob("single");
    assert.equal(code, 0, out);
    assert.equal(calls.length, 1, calls.join("\n"));
    assert.doesNotMatch(out, /stage 1/);
  });

  it("status JSON carries the next run; the HTML status page shows the module", () => {
    const { m } = runJob("single");
    const status = JSON.parse(fs.readFileSync(path.join(m.stateDir, "status.json"), "utf8")) as Record<string, number | string>;
    assert.equal(status.result, "success");
    const now = Date.now() / 1000;
    assert.ok(Number(status.nextRun) > now - 5 && Number(status.nextRun) <= now + 20 * 60 + 5, `nextRun ${status.nextRun} within the */20 schedule`);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(m.statusDir, "fedora.json"), "utf8")), status, "served copy of the status");
    const page = fs.readFileSync(path.join(m.statusDir, "index.html"), "utf8");
    assert.match(page, /<tr class="success"><td>fedora<\/td><td>fedora<\/td><td>rsync:\/\/127\.0\.0\.1:\d+\/fedora\/<\/td><td>success<\/td>/);
    assert.match(page, /<\/table>/);
  });

  it("freshness stamps: upstream's and ours are the check file's mtime, equal after a sync", () => {
    const stamp = Math.floor(fs.statSync(path.join(upstream.root, "lastupdate")).mtimeMs / 1000);
    const { code, out, m } = runJob("single", { checkFile: "lastupdate" });
    assert.equal(code, 0, out);
    const first = JSON.parse(fs.readFileSync(path.join(m.stateDir, "status.json"), "utf8")) as Record<string, number>;
    assert.equal(first.localStamp, stamp);
    // The next run checks upstream first: unchanged, and the upstream stamp is upstream's, not the fetch time.
    const again = runJob("single", { checkFile: "lastupdate" });
    assert.match(again.out, /unchanged since the last complete sync; no sync needed/);
    const s = JSON.parse(fs.readFileSync(path.join(m.stateDir, "status.json"), "utf8")) as Record<string, number | string>;
    assert.equal(s.result, "unchanged");
    assert.equal(s.upstreamStamp, stamp);
    assert.equal(s.localStamp, stamp);
  });

  it("a no-change run walks no tree; a changing run measures the size once", () => {
    const root = path.join(dir, "walks");
    const first = runJob("single", { root, checkFile: "lastupdate" });
    assert.equal(first.code, 0, first.out);
    const walks = () => (fs.existsSync(path.join(root, "walks")) ? fs.readFileSync(path.join(root, "walks"), "utf8").trim().split("\n") : []);
    assert.equal(walks().filter((w) => w.startsWith("du ")).length, 1, walks().join("\n"));
    const size = (JSON.parse(fs.readFileSync(path.join(first.m.stateDir, "status.json"), "utf8")) as Record<string, number>).sizeBytes;
    assert.ok(size > 0);
    const again = runJob("single", { root, checkFile: "lastupdate" });
    assert.match(again.out, /no sync needed/);
    assert.deepEqual(walks(), [], "no du, no find");
    assert.equal((JSON.parse(fs.readFileSync(path.join(first.m.stateDir, "status.json"), "utf8")) as Record<string, number>).sizeBytes, size, "the size is still reported");
  });

  it("the post-sync hook runs after a successful transfer, not when upstream is unchanged", () => {
    const marker = path.join(dir, "hook-runs");
    const hook = `echo ran >> ${marker}`;
    const first = runJob("single", { checkFile: "lastupdate", postHook: hook });
    assert.equal(first.code, 0, first.out);
    assert.match(first.out, /running post-sync hook/);
    assert.equal(fs.readFileSync(marker, "utf8"), "ran\n");
    const unchanged = runJob("single", { checkFile: "lastupdate", postHook: hook });
    assert.match(unchanged.out, /no sync needed/);
    assert.equal(fs.readFileSync(marker, "utf8"), "ran\n", "not run again");
  });

  // The change gate: a run that fails after upstream's check file reached the
  // tree must not let the next run report "unchanged" over a tree that is
  // behind. Each failure is followed by a run that must transfer, end with
  // the tree equal to upstream file by file, and only then say "success".
  const gateFailures: ["single" | "rpm", string, { match: string; code: number }][] = [
    ["single", "the deletion guard stops the only pass (rsync exit 25)", { match: "--delete-after", code: 25 }],
    ["single", "the only pass ends in a partial transfer (rsync exit 23)", { match: "--delete-after", code: 23 }],
    ["rpm", "stage 2 fails after stage 1 brought the check file", { match: "--delete-after", code: 23 }],
    ["rpm", "stage 1 fails after the check file arrived", { match: "--exclude=", code: 23 }],
  ];
  gateFailures.forEach(([stages, what, failTransfer], i) => {
    it(`${stages}: after ${what}, the next run transfers and only then reports success`, () => {
      const root = path.join(dir, `gate-${i}`);
      const failed = runJob(stages, { checkFile: "lastupdate", failTransfer, root });
      assert.notEqual(failed.code, 0, failed.out);
      const status = () => JSON.parse(fs.readFileSync(path.join(failed.m.stateDir, "status.json"), "utf8")) as Record<string, string | number>;
      assert.equal(status().result, "failed");
      // The failing pass did bring upstream's check file into the tree.
      assert.equal(fs.readFileSync(path.join(failed.m.dest, "lastupdate"), "utf8"), fs.readFileSync(path.join(upstream.root, "lastupdate"), "utf8"));
      // Make the tree visibly behind: a file the failed pass would have delivered is missing.
      fs.rmSync(path.join(failed.m.dest, "releases/41/README"));
      const next = runJob(stages, { checkFile: "lastupdate", root });
      assert.equal(next.code, 0, next.out);
      assert.doesNotMatch(next.out, /no sync needed/);
      assert.ok(next.calls.length >= 1, "the next run transferred");
      assert.equal(status().result, "success");
      const diff = sh("diff", ["-r", upstream.root, next.m.dest]);
      assert.equal(diff.code, 0, `the tree equals upstream:\n${diff.out}`);
      // Now, and only now, an unchanged upstream skips.
      const third = runJob(stages, { checkFile: "lastupdate", root });
      assert.match(third.out, /no sync needed/);
      assert.equal(status().result, "unchanged");
    });
  });

  // ExecStopPost runs the script with --after and systemd's view of the
  // ending. Here the script is run that way after a successful run, as a
  // killed run would leave it: the stale "success" must not survive.
  const endings: [string, Record<string, string>, RegExp][] = [
    ["systemctl stop (SIGTERM)", { SERVICE_RESULT: "signal", EXIT_CODE: "killed", EXIT_STATUS: "TERM" }, /stopped by signal TERM/],
    ["SIGKILL", { SERVICE_RESULT: "signal", EXIT_CODE: "killed", EXIT_STATUS: "KILL" }, /stopped by signal KILL/],
    ["the time limit", { SERVICE_RESULT: "timeout", EXIT_CODE: "killed", EXIT_STATUS: "TERM" }, /time limit/],
    ["the OOM killer", { SERVICE_RESULT: "oom-kill", EXIT_CODE: "killed", EXIT_STATUS: "KILL" }, /out of memory/],
  ];
  endings.forEach(([what, env, detail], i) => {
    it(`a run ended by ${what} leaves status "failed" with the reason, in the JSON, the metrics and the page`, () => {
      const first = runJob("single", { root: path.join(dir, `ending-${i}`) });
      assert.equal(first.code, 0, first.out);
      const script = path.join(dir, `ending-${i}`, "sync.sh");
      const r = sh("env", [...Object.entries(env).map(([k, v]) => `${k}=${v}`), script, "--after"]);
      assert.equal(r.code, 0, r.out);
      const status = JSON.parse(fs.readFileSync(path.join(first.m.stateDir, "status.json"), "utf8")) as Record<string, string>;
      assert.equal(status.result, "failed");
      assert.match(status.detail, detail);
      assert.match(fs.readFileSync(first.m.metricsFile, "utf8"), /^mirrorkit_sync_success\{module="fedora",project="fedora"\} 0$/m);
      assert.match(fs.readFileSync(path.join(first.m.statusDir, "index.html"), "utf8"), /<tr class="failed"><td>fedora<\/td><td>fedora<\/td>/);
    });
  });

  it("a run that exited by itself keeps the status it wrote (ExecStopPost changes nothing)", () => {
    const first = runJob("single", { root: path.join(dir, "ending-self") });
    const file = path.join(first.m.stateDir, "status.json");
    const before = fs.readFileSync(file, "utf8");
    for (const result of ["success", "exit-code"]) {
      const r = sh("env", [`SERVICE_RESULT=${result}`, path.join(dir, "ending-self", "sync.sh"), "--after"]);
      assert.equal(r.code, 0, r.out);
      assert.equal(fs.readFileSync(file, "utf8"), before);
    }
  });

  it("a failed run's public status gives a classified reason, never rsync's lines or a staged path; raw logs are private", () => {
    const staged = "releases/next/Everything/x86_64/iso/Fedora-next.iso";
    const r = runJob("single", {
      root: path.join(dir, "classified"),
      failTransfer: { match: "--delete-after", code: 23, stderr: `rsync: [sender] send_files failed to open "${staged}" (in fedora): Permission denied (13)\nrsync: [sender] send_files failed to open "releases/next/a.rpm" (in fedora): Permission denied (13)` },
    });
    assert.notEqual(r.code, 0);
    const status = fs.readFileSync(path.join(r.m.stateDir, "status.json"), "utf8");
    assert.equal((JSON.parse(status) as Record<string, string>).detail, "I/O errors on 2 files (rsync exit 23)");
    for (const served of [status, fs.readFileSync(path.join(r.m.statusDir, "fedora.json"), "utf8"), fs.readFileSync(path.join(r.m.statusDir, "index.html"), "utf8")]) {
      assert.doesNotMatch(served, /releases\/next|send_files|Permission denied/);
    }
    for (const raw of ["rsync.err", "rsync.out", "list.err", "check.err"]) {
      assert.equal((fs.statSync(path.join(r.m.stateDir, raw)).mode & 0o777).toString(8), "640", raw);
    }
    assert.match(fs.readFileSync(path.join(r.m.stateDir, "rsync.err"), "utf8"), /send_files failed/, "the raw log keeps rsync's words");
  });

  it("an unreachable upstream is reported as such, without rsync's message", () => {
    const root = path.join(dir, "unreachable");
    const node = nodeConfig({ mirrorRoot: root, sync: [{ name: "fedora", upstream: "rsync://127.0.0.1:1/fedora/", path: "fedora", trace: false }] });
    const m: SyncModel = { ...syncModel(node, node.sync[0]), stateDir: path.join(root, "state"), metricsFile: path.join(root, "metrics.prom"), statusDir: path.join(root, "status"), pushTriggerFile: "" };
    for (const d of [m.stateDir, m.statusDir, m.dest]) fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(path.join(root, "sync.sh"), renderSyncScript(m), { mode: 0o755 });
    const r = sh(path.join(root, "sync.sh"), []);
    assert.notEqual(r.code, 0);
    const detail = (JSON.parse(fs.readFileSync(path.join(m.stateDir, "status.json"), "utf8")) as Record<string, string>).detail;
    assert.equal(detail, "upstream unreachable (rsync exit 10)");
  });

  it("a killed run's finished files are reused by the next run, not sent again", () => {
    const big = "releases/41/big.bin";
    fs.writeFileSync(path.join(upstream.root, big), crypto.randomBytes(4 << 20));
    try {
      const root = path.join(dir, "resume");
      const first = runJob("single", { root });
      assert.equal(first.code, 0, first.out);
      // What a killed --delay-updates run leaves: the finished file in .~tmp~, not yet in place.
      const tmp = path.join(first.m.dest, "releases/41/.~tmp~");
      fs.mkdirSync(tmp, { recursive: true });
      fs.renameSync(path.join(first.m.dest, big), path.join(tmp, "big.bin"));
      const next = runJob("single", { root });
      assert.equal(next.code, 0, next.out);
      assert.equal(sh("diff", ["-r", upstream.root, next.m.dest]).code, 0, "the tree equals upstream, no .~tmp~ left");
      const status = JSON.parse(fs.readFileSync(path.join(next.m.stateDir, "status.json"), "utf8")) as Record<string, number>;
      assert.ok(status.bytesReceived < 256 << 10, `the 4 MiB file was not sent again (${status.bytesReceived} bytes received)`);
    } finally {
      fs.rmSync(path.join(upstream.root, big));
    }
  });

  it("holds off while upstream shows Archive-Update-in-Progress-*, a bounded number of times, then defers", () => {
    const marker = path.join(upstream.root, "Archive-Update-in-Progress-tier0.example.org");
    fs.writeFileSync(marker, "");
    const root = path.join(dir, "busy");
    try {
      const r = runJob("single", { root, job: { upstreamBusyRetries: 2, upstreamBusyWaitSeconds: 1 } });
      assert.equal(r.code, 0, r.out);
      assert.equal(r.out.match(/upstream archive update in progress; looking again in 1s/g)?.length, 2, r.out);
      assert.deepEqual(r.calls, [], "nothing transferred");
      const status = JSON.parse(fs.readFileSync(path.join(r.m.stateDir, "status.json"), "utf8")) as Record<string, string>;
      assert.equal(status.result, "deferred");
      assert.match(status.detail, /upstream is being updated \(Archive-Update-in-Progress\); deferred/);
      assert.match(fs.readFileSync(r.m.metricsFile, "utf8"), /^mirrorkit_sync_success\{module="fedora",project="fedora"\} 0$/m, "deferred is not fresh");
    } finally {
      fs.rmSync(marker);
    }
    const after = runJob("single", { root, job: { upstreamBusyRetries: 2, upstreamBusyWaitSeconds: 1 } });
    assert.equal(after.code, 0, after.out);
    assert.equal(JSON.parse(fs.readFileSync(path.join(after.m.stateDir, "status.json"), "utf8")).result, "success");
    assert.ok(!fs.existsSync(path.join(after.m.dest, "Archive-Update-in-Progress-tier0.example.org")));
  });

  it("a Debian-layout job marks its own update in progress, writes an ftpsync-style trace and _traces, and leaves upstream's files as they are", () => {
    const traceDir = path.join(upstream.root, "project/trace");
    fs.mkdirSync(traceDir, { recursive: true });
    fs.writeFileSync(path.join(traceDir, "master"), "Mon Nov 24 06:00:00 UTC 2026\nArchive serial: 2026112401\n");
    try {
      const root = path.join(dir, "trace");
      const atHook = path.join(dir, "trace-at-hook");
      const r = runJob("debian", { root, checkFile: "lastupdate", job: { trace: true, postHook: `ls -A ${path.join(root, "fedora")} > ${atHook}` } });
      assert.equal(r.code, 0, r.out);
      const host = sh("sh", ["-c", "hostname -f 2>/dev/null || hostname"]).out.trim();
      // The tree is complete before the hook and the pushes run: they see no marker.
      assert.doesNotMatch(fs.readFileSync(atHook, "utf8"), /Archive-Update-in-Progress/);
      const seen = fs.readFileSync(path.join(root, "markers-seen"), "utf8").trim().split("\n");
      assert.deepEqual([...new Set(seen)], [`Archive-Update-in-Progress-${host}`], "the marker stood during both stages");
      assert.ok(!fs.existsSync(path.join(r.m.dest, `Archive-Update-in-Progress-${host}`)), "and is gone after the run");
      const trace = fs.readFileSync(path.join(r.m.dest, "project/trace", host), "utf8");
      for (const field of [/^Date: /m, /^Date-Started: /m, /^Archive serial: 2026112401$/m, /^Creator: mirrorkit /m, /^Running on host: /m, /^Upstream-mirror: rsync:\/\//m, /^Total bytes received in rsync: \d+$/m]) {
        assert.match(trace, field);
      }
      assert.deepEqual(fs.readFileSync(path.join(r.m.dest, "project/trace/_traces"), "utf8").trim().split("\n"), [host, "master"].sort());
      // The distribution's own freshness files reach the tree unchanged.
      for (const f of ["lastupdate", "project/trace/master"]) {
        assert.equal(fs.readFileSync(path.join(r.m.dest, f), "utf8"), fs.readFileSync(path.join(upstream.root, f), "utf8"), f);
      }
      // A later run keeps this node's trace list (upstream has none: it is not deleted).
      upstream.touchLastupdate();
      const again = runJob("debian", { root, checkFile: "lastupdate", job: { trace: true } });
      assert.equal(again.code, 0, again.out);
      assert.ok(fs.existsSync(path.join(r.m.dest, "project/trace/_traces")));
    } finally {
      fs.rmSync(path.join(upstream.root, "project"), { recursive: true });
    }
  });

  it("modules finishing at once never race on the shared status page", async () => {
    // Two modules' scripts sharing one status directory write their status
    // (ExecStopPost's --after) 40 times each, at the same time.
    const root = path.join(dir, "race");
    const statusDir = path.join(root, "status");
    fs.mkdirSync(statusDir, { recursive: true });
    const scripts = ["alpha", "beta"].map((name) => {
      const node = nodeConfig({ mirrorRoot: path.join(root, "tree"), sync: [{ name, upstream: "rsync://x.example.org/m/", path: name, trace: false }] });
      const m: SyncModel = { ...syncModel(node, node.sync[0]), stateDir: path.join(root, name), metricsFile: path.join(root, `${name}.prom`), statusDir };
      fs.mkdirSync(m.stateDir, { recursive: true });
      const script = path.join(root, `${name}.sh`);
      fs.writeFileSync(script, renderSyncScript(m), { mode: 0o755 });
      return script;
    });
    const loop = (script: string) =>
      new Promise<string>((resolve) => {
        const child = spawn("sh", ["-c", `for i in $(seq 40); do SERVICE_RESULT=signal ${script} --after || echo "exit $?"; done 2>&1`]);
        let out = "";
        child.stdout.on("data", (d: Buffer) => (out += d.toString()));
        child.on("close", () => resolve(out));
      });
    const outs = await Promise.all(scripts.map(loop));
    for (const out of outs) {
      assert.doesNotMatch(out, /cannot stat|No such file|exit [1-9]/, out.split("\n").filter((l) => !/stopped by signal/.test(l)).join("\n"));
    }
    const page = fs.readFileSync(path.join(statusDir, "index.html"), "utf8");
    assert.match(page, /<td>alpha<\/td>[\s\S]*<td>beta<\/td>[\s\S]*<\/html>\n$/, "the page is whole and has both modules");
    assert.deepEqual(fs.readdirSync(statusDir).filter((f) => f.endsWith(".new")), [], "no temp file left behind");
  });

  it("a push that arrives during a run starts another run at its end, at most three in a row", () => {
    const once = runJob("single", { pushesDuringRun: 1 });
    assert.equal(once.code, 0, once.out);
    assert.equal(once.out.match(/a push arrived during this run; running again/g)?.length, 1, once.out);
    assert.equal(once.calls.length, 2, "the run's transfer, then the second run's");
    assert.equal(once.out.match(/sync complete/g)?.length, 2);
    // No push during the run: one run only.
    const quiet = runJob("single", { pushesDuringRun: 0 });
    assert.equal(quiet.code, 0, quiet.out);
    assert.doesNotMatch(quiet.out, /running again/);
    assert.equal(quiet.calls.length, 1);
    // Pushes that never stop: bounded.
    const storm = runJob("single", { pushesDuringRun: 100 });
    assert.equal(storm.code, 0, storm.out);
    assert.equal(storm.out.match(/running again/g)?.length, 3, storm.out);
    assert.equal(storm.calls.length, 4);
  });
});
