// `npm run recover` against a throwaway file backend with the real Pulumi CLI:
// it leaves a lock alone while its owner runs, and one from another machine
// unless forced; it removes a lock whose owner is gone.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PROJECT_DIR, stackLockDir } from "../../scripts/lib/pulumi";
import { tmpDir } from "../lib/tools";

const STACK = "recover-test";

describe("npm run recover", () => {
  const backend = tmpDir("recover-backend");
  const env = { ...process.env, PULUMI_BACKEND_URL: `file://${backend}` };
  const lockDir = stackLockDir(STACK, env.PULUMI_BACKEND_URL)!;
  let owner: ChildProcess;

  const run = (...args: string[]) => {
    const r = spawnSync("bash", ["toolchain/run.sh", "scripts/recover.ts", "--stack", STACK, ...args], { cwd: PROJECT_DIR, env, encoding: "utf8", timeout: 120_000 });
    return { code: r.status, out: `${r.stdout}${r.stderr}` };
  };
  const lock = (pid: number, hostname = os.hostname()) => {
    fs.mkdirSync(lockDir, { recursive: true });
    fs.writeFileSync(path.join(lockDir, "0b1f-test.json"), JSON.stringify({ pid, username: "root", hostname, timestamp: "2026-11-23T06:24:01Z" }));
  };

  before(() => {
    const init = spawnSync("pulumi", ["stack", "init", STACK, "--non-interactive"], { cwd: PROJECT_DIR, env, encoding: "utf8", timeout: 60_000 });
    assert.equal(init.status, 0, init.stderr);
    // A live process whose command line names pulumi, as an update in progress would.
    owner = spawn("bash", ["-c", "exec -a pulumi-up-in-progress sleep 300"], { stdio: "ignore" });
  });
  after(() => {
    owner?.kill();
    fs.rmSync(backend, { recursive: true, force: true });
    // `stack init` wrote nothing into stacks/ (no config given), but be sure.
    fs.rmSync(path.join(PROJECT_DIR, "stacks", `Pulumi.${STACK}.yaml`), { force: true });
  });

  it("refuses while the lock's owner still runs here", () => {
    lock(owner.pid!);
    const r = run();
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /an update is still running: root@.*\(pid \d+/);
    assert.equal(fs.readdirSync(lockDir).filter((f) => f.endsWith(".json")).length, 1, "lock kept");
  });

  it("refuses a lock from another machine unless forced", () => {
    lock(1, "operator-laptop");
    const r = run();
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /locked from another machine: root@operator-laptop .*--force/);
    const forced = run("--force");
    assert.equal(forced.code, 0, forced.out);
    assert.equal(fs.readdirSync(lockDir).filter((f) => f.endsWith(".json")).length, 0, "lock removed");
  });

  it("removes the lock of a run that is gone, and says when there is nothing to do", () => {
    const gone = spawnSync("true");
    lock(gone.pid);
    const r = run();
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /lock of a run that is gone/);
    assert.equal(fs.readdirSync(lockDir).filter((f) => f.endsWith(".json")).length, 0);
    const again = run();
    assert.equal(again.code, 0, again.out);
    assert.match(again.out, /the stack is not locked[\s\S]*no pending operations/);
  });
});
