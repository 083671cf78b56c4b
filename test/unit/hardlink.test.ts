// The hardlink pass (Fedora's guide: weekly): the project config that turns
// it on, its units checked by systemd's own tool, and the rendered script run
// for real with util-linux hardlink on a scratch tree.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { DEFAULT_HARDLINK_SCHEDULE } from "../../components/config";
import { hardlinkModel, renderHardlinkScript, renderHardlinkService, renderHardlinkTimer, type HardlinkModel } from "../../components/render/hardlink";
import { syncModel } from "../../components/render/sync";
import { planNode } from "../../plan/node";
import { KIT_TEMPLATES } from "../../components/render/templates";
import { nodeConfig } from "../lib/fixtures";
import { exposure, sh, tmpDir } from "../lib/tools";

const fedora = (extra: Record<string, unknown> = {}) =>
  nodeConfig({ projects: [{ preset: "fedora", upstream: "rsync://t1.example.org", modules: ["fedora", "epel"], ...extra }, { preset: "debian", upstream: "rsync://t1.example.org" }] });

describe("hardlink pass: config and units", () => {
  it("a Fedora project gets a weekly pass over each of its trees, another project none; false turns it off, a schedule moves it", () => {
    assert.deepEqual(fedora().sync.map((j) => [j.name, j.hardlinkSchedule]), [["fedora", DEFAULT_HARDLINK_SCHEDULE], ["epel", DEFAULT_HARDLINK_SCHEDULE], ["debian", undefined]]);
    assert.deepEqual(fedora({ hardlink: false }).sync.map((j) => j.hardlinkSchedule), [undefined, undefined, undefined]);
    assert.equal(fedora({ hardlink: { schedule: "Sat 02:00" } }).sync[0].hardlinkSchedule, "Sat 02:00");
    const units = planNode(fedora(), KIT_TEMPLATES).units.map((u) => u.unitName).filter((u) => u.includes("hardlink"));
    assert.deepEqual(units, ["mirrorkit-hardlink-fedora.service", "mirrorkit-hardlink-fedora.timer", "mirrorkit-hardlink-epel.service", "mirrorkit-hardlink-epel.timer"]);
  });

  it("service and timer pass systemd-analyze verify; the service is sandboxed (exposure <= 2.5) at idle priority", () => {
    const node = fedora();
    const h = hardlinkModel(syncModel(node, node.sync[0]), node.sync[0].hardlinkSchedule!);
    const dir = tmpDir("hardlink-units");
    const script = path.join(dir, "hardlink.sh");
    fs.writeFileSync(script, renderHardlinkScript(h), { mode: 0o755 });
    assert.equal(sh("sh", ["-n", script]).code, 0);
    const service = path.join(dir, h.unitName);
    fs.writeFileSync(service, renderHardlinkService({ ...h, scriptPath: script }));
    const timer = path.join(dir, h.timerName);
    fs.writeFileSync(timer, renderHardlinkTimer(h));
    const r = sh("systemd-analyze", ["verify", service, timer]);
    assert.equal(r.code, 0, r.out);
    assert.ok(exposure(service) <= 2.5, String(exposure(service)));
    const text = fs.readFileSync(service, "utf8");
    for (const line of ["Nice=19", "IOSchedulingClass=idle", "CPUSchedulingPolicy=idle", "User=mirror", "PrivateNetwork=yes"]) assert.match(text, new RegExp(`^${line}$`, "m"));
    assert.match(fs.readFileSync(timer, "utf8"), /^OnCalendar=Sun \*-\*-\* 03:30:00 UTC$/m);
  });
});

describe("hardlink pass, run locally with util-linux hardlink", () => {
  /** The pass's script rendered for a scratch tree, its state and results in the scratch dir too. */
  function scratch(): { h: HardlinkModel; script: string; tree: string } {
    const root = tmpDir("hardlink-run");
    const node = nodeConfig({ mirrorRoot: root, projects: [{ preset: "fedora", upstream: "rsync://t1.example.org" }] });
    const base = hardlinkModel(syncModel(node, node.sync[0]), node.sync[0].hardlinkSchedule!);
    const h: HardlinkModel = {
      ...base,
      sync: { ...base.sync, stateDir: path.join(root, "state"), mountPoint: "" },
      metricsFile: path.join(root, "metrics", "hardlink-fedora.prom"),
      statusFile: path.join(root, "status", "hardlink", "fedora.json"),
    };
    for (const d of [h.sync.stateDir, path.dirname(h.metricsFile), h.sync.dest]) fs.mkdirSync(d, { recursive: true });
    const script = path.join(root, "hardlink.sh");
    fs.writeFileSync(script, renderHardlinkScript(h), { mode: 0o755 });
    return { h, script, tree: h.sync.dest };
  }
  const status = (h: HardlinkModel) => JSON.parse(fs.readFileSync(h.statusFile, "utf8")) as { result: string; linkedFiles: number; savedBytes: number; project: string; detail: string };

  it("links identical files of one tree, never a file of another mode; reports the files and bytes in JSON and metrics; a second pass links none", () => {
    const { h, script, tree } = scratch();
    const body = Buffer.alloc(200_000, 7);
    for (const rel of ["releases/41/Packages/a.rpm", "updates/41/Packages/a.rpm", "development/Packages/a.rpm"]) {
      fs.mkdirSync(path.join(tree, path.dirname(rel)), { recursive: true });
      fs.writeFileSync(path.join(tree, rel), body, { mode: 0o644 });
    }
    // Same bytes, another mode: must stay apart.
    fs.writeFileSync(path.join(tree, "private.rpm"), body, { mode: 0o600 });
    fs.chmodSync(path.join(tree, "private.rpm"), 0o600);
    const r = sh(script, []);
    assert.equal(r.code, 0, r.out);
    const s = status(h);
    assert.equal(s.result, "success");
    assert.equal(s.project, "fedora");
    assert.equal(s.linkedFiles, 2);
    assert.ok(Math.abs(s.savedBytes - 400_000) < 1000, String(s.savedBytes));
    const ino = (rel: string) => fs.statSync(path.join(tree, rel)).ino;
    assert.equal(ino("updates/41/Packages/a.rpm"), ino("releases/41/Packages/a.rpm"));
    assert.equal(ino("development/Packages/a.rpm"), ino("releases/41/Packages/a.rpm"));
    assert.notEqual(ino("private.rpm"), ino("releases/41/Packages/a.rpm"));
    assert.equal(fs.statSync(path.join(tree, "private.rpm")).mode & 0o777, 0o600);
    const metrics = fs.readFileSync(h.metricsFile, "utf8");
    assert.match(metrics, /^mirrorkit_hardlink_success\{module="fedora",project="fedora"\} 1$/m);
    assert.match(metrics, /^mirrorkit_hardlink_saved_bytes\{module="fedora",project="fedora"\} (399|400)\d{3}$/m);
    assert.equal(sh(script, []).code, 0);
    assert.equal(status(h).linkedFiles, 0, "nothing left to link");
  });

  it("never runs while the tree syncs: with the sync's lock held it waits, and runs once the lock is free", async () => {
    const { h, script, tree } = scratch();
    fs.writeFileSync(path.join(tree, "a"), "same\n");
    fs.writeFileSync(path.join(tree, "b"), "same\n");
    // A sync run holding its lock for 3 s, as mirror-sync.sh does (flock on $STATE/lock).
    const sync = spawn("flock", [path.join(h.sync.stateDir, "lock"), "sleep", "3"], { stdio: "ignore" });
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    const pass = await new Promise<number>((resolve) => spawn(script, [], { stdio: "ignore" }).on("exit", (code) => resolve(code ?? -1)));
    assert.equal(pass, 0);
    assert.ok(Date.now() - started >= 2000, `the pass waited for the sync (${Date.now() - started} ms)`);
    await new Promise((r) => sync.exitCode === null ? sync.on("exit", r) : r(undefined));
    assert.equal(status(h).result, "success");
    assert.equal(fs.statSync(path.join(tree, "a")).ino, fs.statSync(path.join(tree, "b")).ino);
  });

  it("a pass over a tree not synced yet is skipped, and says so; a missing data volume is a failure", () => {
    const { h, script, tree } = scratch();
    fs.rmSync(tree, { recursive: true });
    assert.equal(sh(script, []).code, 0);
    assert.deepEqual([status(h).result, status(h).detail], ["skipped", "no tree yet (the first sync has not run)"]);
    const unmounted = path.join(path.dirname(h.statusFile), "..", "..", "not-a-mount");
    fs.mkdirSync(unmounted, { recursive: true });
    const script2 = script.replace(/\.sh$/, "-mounted.sh");
    fs.writeFileSync(script2, renderHardlinkScript({ ...h, sync: { ...h.sync, mountPoint: unmounted } }), { mode: 0o755 });
    assert.equal(sh(script2, []).code, 1);
    assert.equal(status(h).result, "failed");
    assert.match(fs.readFileSync(h.metricsFile, "utf8"), /^mirrorkit_hardlink_success\{module="fedora",project="fedora"\} 0$/m);
  });
});
