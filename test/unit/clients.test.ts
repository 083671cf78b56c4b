// The real package managers against the kit's own nginx config on loopback:
// the fixture's signed repositories (built here with each distribution's
// tools) install with apt, dnf, zypper and pacman through `npm run doctor`;
// a staged (0750) copy of each repository is refused to every client, and a
// wrong archive key fails every client. The same runner judges live nodes in
// test/e2e/tiers.test.ts.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { runClient, type ClientKind } from "../../scripts/lib/clients";
import { PROJECT_DIR } from "../../scripts/lib/pulumi";
import { serveTree } from "../lib/nginx";
import { makeSigningKey, publishDebianArchive, publishPacmanRepo, publishRpmRepo, type PackageSpec, type SigningKey } from "../../scripts/lib/repos";
import { tmpDir } from "../lib/tools";

const PACKAGES: PackageSpec[] = [
  { name: "mk-hello", version: "1.0" },
  { name: "mk-world", version: "1.0", requires: { name: "mk-hello", version: "1.0" } },
];

/** Each client and where its repository sits in the tree (released, and a staged copy). */
const REPOS: { kind: ClientKind; repo: string; staged: string; dist?: string }[] = [
  { kind: "dnf", repo: "fedora/releases/41/Everything/x86_64/os", staged: "fedora/releases/42/Everything/x86_64/os" },
  { kind: "zypper", repo: "opensuse/distribution/leap/15.6/repo/oss", staged: "opensuse/distribution/leap/16.0/repo/oss" },
  { kind: "apt", repo: "debian", staged: "debian-staged", dist: "stable-mk" },
  { kind: "pacman", repo: "archlinux/mk/os/x86_64", staged: "archlinux/mk-staged/os/x86_64", dist: "mk" },
];

function publish(kind: ClientKind, dir: string, key: SigningKey, dist?: string): void {
  if (kind === "apt") publishDebianArchive(dir, dist!, PACKAGES, key);
  else if (kind === "pacman") publishPacmanRepo(dir, dist!, PACKAGES, key);
  else publishRpmRepo(dir, PACKAGES, key);
}

/** Stages a published repository as upstream does: its top directory 0750. */
function stage(dir: string): void {
  fs.chmodSync(dir, 0o750);
}

describe("real package managers against the kit's nginx", { timeout: 300_000 }, () => {
  let key: SigningKey;
  let otherKey: SigningKey;
  let dir: string;
  let nginx: ChildProcess;
  let base: string;

  before(async () => {
    key = makeSigningKey();
    otherKey = makeSigningKey();
    dir = tmpDir("clients");
    const root = path.join(dir, "tree");
    for (const r of REPOS) {
      publish(r.kind, path.join(root, r.repo), key, r.dist);
      publish(r.kind, path.join(root, r.staged), key, r.dist);
      stage(path.join(root, r.staged));
    }
    // Debian's trace directory as ftpsync leaves it: the master's trace, this mirror's, and _traces.
    const traces = path.join(root, "debian", "project", "trace");
    fs.mkdirSync(traces, { recursive: true });
    fs.writeFileSync(path.join(traces, "master"), "Mon Nov 23 00:00:00 UTC 2026\nArchive serial: 2026112301\n");
    fs.writeFileSync(path.join(traces, "_traces"), "master\nmirror.example.org\n");
    const trace = (serial: string) =>
      `Mon Nov 23 01:00:00 UTC 2026\nDate: Mon, 23 Nov 2026 01:00:00 +0000\nArchive serial: ${serial}\nCreator: mirrorkit test\nRunning on host: mirror.example.org\n`;
    fs.writeFileSync(path.join(traces, "mirror.example.org"), trace("2026112301"));
    fs.mkdirSync(path.join(root, "debian-behind", "project", "trace"), { recursive: true });
    for (const f of ["master", "_traces"]) fs.copyFileSync(path.join(traces, f), path.join(root, "debian-behind", "project", "trace", f));
    fs.writeFileSync(path.join(root, "debian-behind", "project", "trace", "mirror.example.org"), trace("2026112201"));
    const served = await serveTree(dir, root);
    nginx = served.nginx;
    base = `http://127.0.0.1:${served.port}`;
    for (let i = 0; i < 50; i++) {
      const up = await fetch(`${base}/`).then((r) => r.ok, () => false);
      if (up) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  after(() => {
    nginx?.kill();
    key?.close();
    otherKey?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** `npm run doctor` against the server (not as a test process: node --test marks its children). */
  function doctor(args: string[]) {
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT;
    return spawnSync(process.execPath, ["--import", "tsx", "scripts/doctor.ts", "--url", base, ...args], { cwd: PROJECT_DIR, env, encoding: "utf8", timeout: 180_000 });
  }

  for (const r of REPOS) {
    const distArgs = r.dist ? ["--dist", r.dist] : [];
    it(`${r.kind}: \`npm run doctor -- --client ${r.kind}\` installs the package and its dependency, signatures checked`, () => {
      const d = doctor(["--client", r.kind, "--repo", r.repo, "--key", key.armored, ...distArgs]);
      assert.equal(d.status, 0, d.stdout + d.stderr);
      assert.match(d.stdout, new RegExp(`^ok  \\s+${r.kind}: mk-world installs from /${r.repo}: installed mk-world-1\\.0`, "m"));
    });

    it(`${r.kind}: the staged copy is refused by the server (doctor --expect refused)`, () => {
      const d = doctor(["--client", r.kind, "--repo", r.staged, "--key", key.armored, "--expect", "refused", ...distArgs]);
      assert.equal(d.status, 0, d.stdout + d.stderr);
      assert.match(d.stdout, /^ok  \s+\S+: mk-world is refused from \S+: refused: /m);
    });

    it(`${r.kind}: a repository signed by another key is not installed from`, () => {
      const run = runClient(r.kind, { url: `${base}/${r.repo}`, dist: r.dist, pkg: "mk-world", key: otherKey.armored });
      assert.equal(run.installed, false, run.transcript);
      assert.match(run.error, /signature|NO_PUBKEY|not signed|unknown|GPG/i, run.transcript);
    });
  }

  it("doctor --traces: the trace directory as Debian's checker reads it, and a trace behind its master is named", () => {
    const ok = doctor(["--traces", "debian/project/trace"]);
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /^ok  \s+http: debian\/project\/trace\/ lists _traces .*: traces: master, mirror\.example\.org$/m);
    const behind = doctor(["--traces", "debian-behind/project/trace"]);
    assert.equal(behind.status, 1, behind.stdout + behind.stderr);
    assert.match(behind.stdout, /^FAIL .*mirror\.example\.org: Archive serial 2026112201, master's 2026112301$/m);
  });

  it("doctor refuses a --client run without --key, naming the option", () => {
    const d = doctor(["--client", "dnf", "--repo", "x"]);
    assert.equal(d.status, 2);
    assert.match(d.stderr, /--client needs --key/);
  });
});
