// A sync that survives faults, on a VM provisioned by the real `pulumi up`:
// concurrent runs, a run killed mid-transfer, an emptied upstream, an
// unreachable upstream, a mass deletion upstream, an unmounted data disk and
// a reboot. Each leaves the public tree consistent and says what happened in
// the module's status JSON and metrics.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { bootNode, vmHost, waitFor, type E2eNode } from "../lib/e2e";
import { PROJECT_DIR } from "../../scripts/lib/pulumi";
import { startUpstream, type Upstream } from "../lib/upstream";

const MINUTES = 60_000;
const SCRIPT = "/usr/local/lib/mirrorkit/sync-fedora.sh";
const STATE = "/var/lib/mirrorkit-sync/fedora";

interface Status {
  result: string;
  detail: string;
  lastSuccess: number;
  bytesReceived: number;
}

describe("sync faults on a VM (real pulumi up)", { timeout: 55 * MINUTES }, () => {
  let node: E2eNode;
  let upstream: Upstream;
  const status = async (): Promise<Status> => JSON.parse((await node.vm.ssh(`cat ${STATE}/status.json`)).stdout) as Status;
  // `systemctl start` waits for a oneshot service; its exit tells success.
  const runSync = async () => (await node.vm.ssh("systemctl start mirrorkit-sync-fedora.service", { allowFailure: true })).code;
  const journal = async () => (await node.vm.ssh("journalctl -u mirrorkit-sync-fedora.service --no-pager -o cat")).stdout;

  before(async () => {
    upstream = await startUpstream("fedora");
    node = await bootNode(
      "faults",
      (vm) => ({
        name: "faults",
        host: vmHost(vm),
        volumes: [{ name: "data", device: "/dev/vdb", fsType: "xfs", mountPoint: "/srv/mirror" }],
        sync: [
          {
            name: "fedora",
            upstream: "rsync://10.0.2.100/fedora/",
            path: "fedora",
            // The timer stays out of the way: these runs are started by hand.
            schedule: "2099-01-01",
            maxDelete: 10,
            retries: 1,
            retryDelaySeconds: 2,
            // Slow enough to catch a run mid-transfer.
            bandwidthLimitKiB: 1024,
          },
        ],
      }),
      { guestForwards: { "10.0.2.100:873": `127.0.0.1:${upstream.port}` } },
    );
  });
  after(async () => {
    await node?.cleanup();
    await upstream?.stop();
  });

  it("pulumi up, then a first sync with status, metrics and a trace file", async () => {
    const up = await node.up();
    assert.equal(up.code, 0, up.stdout + up.stderr);
    assert.match((await node.vm.ssh("findmnt -n -o FSTYPE /srv/mirror")).stdout, /xfs/, "formatted xfs on first up");
    assert.equal(await runSync(), 0, await journal());
    const s = await status();
    assert.equal(s.result, "success");
    assert.ok(s.lastSuccess > 0 && s.bytesReceived > 0);
    const metrics = (await node.vm.ssh("cat /var/lib/mirrorkit-sync/metrics/fedora.prom")).stdout;
    assert.match(metrics, /^mirrorkit_sync_success\{module="fedora",project="fedora"\} 1$/m);
    assert.match(metrics, /^mirrorkit_sync_last_success_timestamp_seconds\{module="fedora",project="fedora"\} \d{10}$/m);
    const trace = await fetch(node.url(80, "/fedora/project/trace/faults"));
    assert.equal(trace.status, 200, "the trace file is served with the tree");
    assert.match(await trace.text(), /^Running on host: faults$/m);
  });

  it("a second run while one is going exits cleanly; a killed run leaves the public tree unchanged", async () => {
    // 12 MiB at 1 MiB/s: a run in progress for several seconds.
    fs.writeFileSync(path.join(upstream.root, "releases/41/new-big.img"), Buffer.alloc(12 * 1024 * 1024, 7));
    await node.vm.ssh("systemctl start --no-block mirrorkit-sync-fedora.service");
    // In progress: rsync's temp file (.new-big.img.XXXXXX) or its --delay-updates holding dir.
    await node.vm.ssh(
      "for i in $(seq 1 120); do ls -a /srv/mirror/fedora/releases/41 | grep -qE '^[.]new-big[.]img[.]|^[.]~tmp~$' && exit 0; sleep 0.25; done; exit 1",
    );
    const second = await node.vm.ssh(`runuser -u mirror -- ${SCRIPT}`, { allowFailure: true });
    assert.equal(second.code, 0);
    assert.match(second.stdout, /another run holds the lock; exiting/);

    await node.vm.ssh("systemctl kill -s KILL mirrorkit-sync-fedora.service");
    await node.vm.ssh("for i in $(seq 1 20); do systemctl is-active -q mirrorkit-sync-fedora.service || exit 0; sleep 0.5; done; exit 1");
    // dash runs no EXIT trap on a kill: ExecStopPost wrote what systemd saw.
    const killed = await status();
    assert.equal(killed.result, "failed");
    assert.match(killed.detail, /stopped by signal KILL/);
    // --delay-updates: nothing of the interrupted run is visible.
    assert.equal((await fetch(node.url(80, "/fedora/releases/41/new-big.img"), { method: "HEAD" })).status, 404);
    assert.equal((await fetch(node.url(80, "/fedora/releases/41/README"))).status, 200);

    assert.equal(await runSync(), 0, await journal());
    const head = await fetch(node.url(80, "/fedora/releases/41/new-big.img"), { method: "HEAD" });
    assert.equal(head.headers.get("content-length"), String(12 * 1024 * 1024));
    const leftovers = await node.vm.ssh("find /srv/mirror \\( -name .~tmp~ -o -name '.new-big.img.*' \\) | wc -l");
    assert.equal(leftovers.stdout.trim(), "0", "temp files of the killed run cleaned up");
  });

  // Every way a run can end leaves a true status, through systemd: stopped,
  // an operator's time limit, the OOM killer (SIGKILL is the test above).
  // A run that cannot write its status itself gets it from ExecStopPost.
  const UNIT = "mirrorkit-sync-fedora.service";
  const dropIn = `/run/systemd/system/${UNIT}.d`;
  const endings: [string, { before?: string; end?: string }, RegExp, string][] = [
    ["systemctl stop", { end: `systemctl stop ${UNIT}` }, /stopped by signal TERM/, "signal"],
    // timeoutSeconds, here a runtime drop-in of 5 s: the run is still going then.
    ["the time limit", { before: `mkdir -p ${dropIn} && printf '[Service]\\nTimeoutStartSec=5\\n' > ${dropIn}/limit.conf && systemctl daemon-reload` }, /stopped at its time limit/, "timeout"],
    // A process of the unit outgrows the unit's memory limit: the kernel kills
    // it and systemd stops the unit (OOMPolicy=stop); the status script itself
    // runs well within the limit.
    [
      "the OOM killer",
      {
        before: `systemctl set-property --runtime ${UNIT} MemoryMax=96M MemorySwapMax=0`,
        end: `perl -e 'sleep 1; $x = "a" x (400 * 1024 * 1024); sleep 30' & echo $! > /sys/fs/cgroup/system.slice/${UNIT}/cgroup.procs`,
      },
      /out of memory/,
      "oom-kill",
    ],
  ];
  for (const [i, [how, steps, detail, result]] of endings.entries()) {
    it(`a run ended by ${how} leaves status "failed" with its reason (through systemd)`, async () => {
      // Incompressible: 16 s at the job's 1 MiB/s, so the run is still going when it is ended.
      fs.writeFileSync(path.join(upstream.root, "releases/41", `ending-${i}.img`), crypto.randomBytes(16 * 1024 * 1024));
      try {
        if (steps.before) await node.vm.ssh(steps.before);
        const invocation = (await node.vm.ssh(`systemctl show -p InvocationID --value ${UNIT}`)).stdout.trim();
        await node.vm.ssh(`systemctl start --no-block ${UNIT}`);
        if (steps.end) {
          // A transfer under way: the run's rsync with --stats.
          await node.vm.ssh("for i in $(seq 1 240); do pgrep -u mirror -f 'rsync .*--stats' >/dev/null && exit 0; sleep 0.25; done; exit 1");
          await node.vm.ssh(steps.end);
        }
        // This run has ended, ExecStopPost included: a new invocation, inactive or failed
        // (is-active alone also says "no" while a oneshot is still activating).
        await node.vm.ssh(
          `for i in $(seq 1 240); do [ "$(systemctl show -p InvocationID --value ${UNIT})" != '${invocation}' ] && ` +
            `case "$(systemctl show -p ActiveState --value ${UNIT})" in inactive|failed) exit 0;; esac; sleep 0.5; done; exit 1`,
        );
        const s = await status();
        assert.equal(s.result, "failed", `${how}: ${JSON.stringify(s)}\n${await journal()}`);
        assert.match(s.detail, detail);
        assert.equal((await node.vm.ssh(`systemctl show -p Result --value ${UNIT}`)).stdout.trim(), result);
        assert.match((await node.vm.ssh("cat /var/lib/mirrorkit-sync/metrics/fedora.prom")).stdout, /^mirrorkit_sync_success\{module="fedora",project="fedora"\} 0$/m);
      } finally {
        // Back to normal, whatever happened (set-property --runtime writes under system.control).
        await node.vm.ssh(`pkill -x perl || true; rm -rf ${dropIn} /run/systemd/system.control/${UNIT}.d && systemctl daemon-reload && systemctl reset-failed ${UNIT} || true`);
      }
      // The next run completes the tree and says so.
      assert.equal(await runSync(), 0, await journal());
      assert.equal((await status()).result, "success", `after ${how}`);
    });
  }

  it("an emptied upstream is refused and nothing is deleted", async () => {
    upstream.emptyTree();
    try {
      assert.notEqual(await runSync(), 0);
      const s = await status();
      assert.equal(s.result, "failed");
      assert.match(s.detail, /upstream module is empty; refusing to sync/);
      assert.equal((await fetch(node.url(80, "/fedora/releases/41/README"))).status, 200);
    } finally {
      upstream.restoreTree();
    }
  });

  it("a mass deletion upstream stops at --max-delete", async () => {
    const many = path.join(upstream.root, "releases/41/many");
    fs.mkdirSync(many);
    for (let i = 0; i < 30; i++) fs.writeFileSync(path.join(many, `f${i}`), `${i}\n`);
    assert.equal(await runSync(), 0, await journal());
    fs.rmSync(many, { recursive: true });
    try {
      assert.notEqual(await runSync(), 0);
      assert.match((await status()).detail, /more than 10 deletions; guard stopped the run/);
      const left = Number((await node.vm.ssh("ls /srv/mirror/fedora/releases/41/many | wc -l")).stdout.trim());
      assert.ok(left >= 20, `only ${left} of 30 files left: the guard let through more than 10 deletions`);
    } finally {
      // The upstream's mistake is fixed; the next run restores what went.
      fs.mkdirSync(many);
      for (let i = 0; i < 30; i++) fs.writeFileSync(path.join(many, `f${i}`), `${i}\n`);
    }
  });

  it("an unreachable upstream fails with a clear status and deletes nothing", async () => {
    await upstream.stopDaemon();
    try {
      const before = (await node.vm.ssh("find /srv/mirror/fedora -type f | wc -l")).stdout.trim();
      assert.notEqual(await runSync(), 0);
      const s = await status();
      assert.equal(s.result, "failed");
      assert.match(s.detail, /upstream unreachable \(rsync exit \d+\)/);
      assert.match((await node.vm.ssh("cat /var/lib/mirrorkit-sync/metrics/fedora.prom")).stdout, /^mirrorkit_sync_success\{module="fedora",project="fedora"\} 0$/m);
      assert.equal((await node.vm.ssh("find /srv/mirror/fedora -type f | wc -l")).stdout.trim(), before);
    } finally {
      await upstream.start();
    }
    assert.equal(await runSync(), 0, "the next run succeeds once the upstream is back");
  });

  it("with the data disk unmounted the sync refuses", async () => {
    // The disk is gone: a runtime drop-in points the mount at something that cannot mount.
    await node.vm.ssh(
      "mkdir -p /run/systemd/system/srv-mirror.mount.d && printf '[Mount]\\nWhat=/dev/null\\n' > /run/systemd/system/srv-mirror.mount.d/gone.conf && systemctl daemon-reload && systemctl stop srv-mirror.mount",
    );
    try {
      assert.notEqual(await runSync(), 0, "systemd refuses: RequiresMountsFor= on a mount that fails");
      assert.match((await node.vm.ssh("systemctl is-active srv-mirror.mount", { allowFailure: true })).stdout, /failed|inactive/);
      const direct = await node.vm.ssh(`install -d -o mirror /srv/mirror/fedora && runuser -u mirror -- ${SCRIPT}`, { allowFailure: true });
      assert.notEqual(direct.code, 0);
      assert.match(direct.stdout, /data volume not mounted at \/srv\/mirror; refusing to sync/);
      assert.equal((await node.vm.ssh("find /srv/mirror -type f | wc -l")).stdout.trim(), "0", "nothing written to the bare mount point");
    } finally {
      await node.vm.ssh("rmdir /srv/mirror/fedora 2>/dev/null; rm -rf /run/systemd/system/srv-mirror.mount.d && systemctl daemon-reload && systemctl reset-failed srv-mirror.mount; systemctl start srv-mirror.mount");
    }
    // The web server stopped with the disk (RequiresMountsFor=) and, wanted by the mount, comes back with it.
    const back = await node.vm.ssh("for i in $(seq 1 60); do systemctl is-active -q mirrorkit-web.service && exit 0; sleep 1; done; systemctl status mirrorkit-web.service --no-pager; exit 1", { allowFailure: true });
    assert.equal(back.code, 0, back.stdout);
    // Active (exec'd) comes a moment before listening: poll, bounded.
    await waitFor("the README over HTTP", 30, async () => {
      const status = await fetch(node.url(80, "/fedora/releases/41/README")).then((r) => r.status, () => 0);
      return status === 200 ? true : undefined;
    });
  });

  it("a full data disk fails the run loudly, and the served tree stays whole", async () => {
    // Leave 4 MiB free, then publish a 16 MiB image upstream.
    const avail = Number((await node.vm.ssh("df --output=avail -B1 /srv/mirror | tail -n 1")).stdout.trim());
    await node.vm.ssh(`fallocate -l ${avail - 4 * 1024 * 1024} /srv/mirror/filler`);
    fs.writeFileSync(path.join(upstream.root, "releases/41/too-big.img"), Buffer.alloc(16 * 1024 * 1024, 9));
    try {
      assert.notEqual(await runSync(), 0);
      const s = await status();
      assert.equal(s.result, "failed");
      assert.match(s.detail, /No space left on device/);
      assert.match((await node.vm.ssh("cat /var/lib/mirrorkit-sync/metrics/fedora.prom")).stdout, /^mirrorkit_sync_success\{module="fedora",project="fedora"\} 0$/m);
      // Nothing half-written is served: the image is absent, the rest intact.
      assert.equal((await fetch(node.url(80, "/fedora/releases/41/too-big.img"), { method: "HEAD" })).status, 404);
      assert.equal(await (await fetch(node.url(80, "/fedora/releases/41/README"))).text(), "Fedora 41 is released\n");
    } finally {
      await node.vm.ssh("rm -f /srv/mirror/filler");
    }
    assert.equal(await runSync(), 0, await journal());
    const head = await fetch(node.url(80, "/fedora/releases/41/too-big.img"), { method: "HEAD" });
    assert.equal(head.headers.get("content-length"), String(16 * 1024 * 1024), "with space back, the next run completes");
    assert.equal((await node.vm.ssh("find /srv/mirror \\( -name .~tmp~ -o -name '.too-big.img.*' \\) | wc -l")).stdout.trim(), "0");
  });

  it("the status page and per-module JSON are served, with the next run", async () => {
    const page = await fetch(node.url(80, "/mirror-status/"));
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<tr class="success"><td>fedora<\/td><td>fedora<\/td>/);
    const json = (await (await fetch(node.url(80, "/mirror-status/fedora.json"))).json()) as { result: string; nextRun: number };
    assert.equal(json.result, "success");
    // Scheduled for 2099: the next run is that far away.
    assert.ok(json.nextRun > Date.UTC(2098, 0, 1) / 1000, `nextRun ${json.nextRun}`);
  });

  it("after a reboot the mount, services and timers are back", async () => {
    await node.vm.ssh("systemctl reboot", { allowFailure: true });
    await new Promise((r) => setTimeout(r, 10_000));
    const deadline = Date.now() + 4 * MINUTES;
    for (;;) {
      const r = await node.vm.ssh("systemctl is-system-running --wait", { allowFailure: true });
      if (r.code === 0 || /running|degraded/.test(r.stdout)) break;
      if (Date.now() > deadline) throw new Error("VM did not come back");
      await new Promise((res) => setTimeout(res, 3000));
    }
    const units = await node.vm.ssh("systemctl is-active srv-mirror.mount mirrorkit-web.service mirrorkit-sync-fedora.timer");
    assert.deepEqual(units.stdout.trim().split("\n"), ["active", "active", "active"]);
    assert.equal((await fetch(node.url(80, "/fedora/releases/41/README"))).status, 200);
  });

  /** The next `pulumi up` builds the full node, a second changes nothing, and the kept data is served. */
  const upConverges = async () => {
    const up = await node.up();
    assert.equal(up.code, 0, up.stdout + up.stderr);
    const again = await node.up(["--expect-no-changes"]);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    const units = await node.vm.ssh("systemctl is-active srv-mirror.mount mirrorkit-web.service mirrorkit-sync-fedora.timer");
    assert.deepEqual(units.stdout.trim().split("\n"), ["active", "active", "active"]);
    assert.equal(await (await fetch(node.url(80, "/fedora/releases/41/README"))).text(), "Fedora 41 is released\n", "the kept data is served again");
  };

  it("a pulumi up interrupted half-way: the next pulumi up converges to the full node", async () => {
    const destroy = await node.destroy();
    assert.equal(destroy.code, 0, destroy.stdout + destroy.stderr);
    const cut = await node.upInterrupted(12);
    assert.notEqual(cut.code, 0, "the interrupted up reports failure");
    assert.ok(cut.createdBeforeInterrupt >= 12, cut.stdout);
    assert.notEqual((await node.vm.ssh("systemctl is-active mirrorkit-web.service", { allowFailure: true })).stdout.trim(), "active", "interrupted before the web server");
    await upConverges();
  });

  it("a pulumi up killed outright: npm run recover clears the lock and pending steps, then pulumi up converges", async (t) => {
    const destroy = await node.destroy();
    assert.equal(destroy.code, 0, destroy.stdout + destroy.stderr);
    const cut = await node.upInterrupted(8, "SIGKILL");
    assert.ok(cut.createdBeforeInterrupt >= 8, cut.stdout);
    const locked = await node.up();
    assert.notEqual(locked.code, 0, "the dead run's lock refuses the next up");
    assert.match(locked.stderr, /currently locked/);
    const recover = () => spawnSync("npm", ["run", "-s", "recover", "--", "--stack", node.stack], { cwd: PROJECT_DIR, encoding: "utf8", timeout: 10 * MINUTES });
    const r = recover();
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /lock of a run that is gone: .*\(pid \d+/);
    for (const line of r.stdout.split("\n").filter((l) => l.startsWith("[recover]"))) t.diagnostic(line);
    await upConverges();
    const clean = recover();
    assert.equal(clean.status, 0, clean.stdout + clean.stderr);
    assert.match(clean.stdout, /the stack is not locked[\s\S]*no pending operations/, "nothing to do on a healthy stack");
  });
});
