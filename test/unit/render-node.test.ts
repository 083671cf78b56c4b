// Every file the node installs besides nginx's, checked by its own tool for a
// matrix of configs: rsync's daemon parser (a real daemon lists the modules),
// systemd-analyze verify and the sandbox exposure score, sh -n.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { renderBitflipService, renderBitflipTimer, bitflipModel } from "../../components/render/bitflip";
import { renderRsyncdConf, renderRsyncdUnit, rsyncdCheckCommand, rsyncdModels } from "../../components/render/rsync";
import { RSYNC_SYNC_FLAGS, syncFlags, renderSyncScript, renderSyncService, renderSyncTimer, syncModel } from "../../components/render/sync";
import { escapePath, mountUnitName, renderMountUnit } from "../../components/render/systemd";
import { formatScript } from "../../components/data-volume";
import { renderNginxUnit, webModel } from "../../components/render/nginx";
import { isDeleteFlag } from "../../policies/sync-safety-flags";
import { pushModel, renderPushAuthorizedKeys, renderPushPathUnit, renderPushTrigger, renderSshdPushDropIn } from "../../components/render/push";
import { renderReportMirrorConf, reportMirrorModel } from "../../components/render/report-mirror";
import { nodeConfig } from "../lib/fixtures";
import { exposure, sh, tmpDir } from "../lib/tools";

const matrix: [string, Record<string, unknown>][] = [
  [
    "tier 2, public module, one sync",
    {
      rsync: { modules: [{ name: "fedora", path: "fedora", comment: "Fedora Linux" }] },
      sync: [{ name: "fedora", upstream: "rsync://tier1.example.org/fedora/", path: "fedora", checkFile: "lastupdate" }],
      bitflips: [{ name: "f42", paths: ["fedora/releases/42"], at: "2030-04-15 14:00:00 UTC" }],
    },
  ],
  [
    "tier 1, private module on 8874, authenticated sync with hook",
    {
      tier: 1,
      rsync: {
        port: 10873,
        maxConnections: 200,
        modules: [
          { name: "opensuse", path: "opensuse" },
          { name: "opensuse-tumbleweed", path: "opensuse/tumbleweed" },
        ],
        private: {
          port: 8874,
          modules: [{ name: "opensuse-stage", path: "opensuse", comment: "staged" }],
          hostsAllow: ["192.0.2.0/24", "2001:db8::/32", "mirror2.example.org"],
          users: [{ name: "tier2a", password: "correct horse battery" }, { name: "tier2b", password: "staple staple" }],
        },
      },
      sync: [
        {
          name: "opensuse",
          upstream: "rsync://tier0.example.org/opensuse-full/",
          path: "opensuse",
          user: "mirror",
          password: "upstream-secret",
          schedule: "*-*-* 08,14:10",
          excludes: ["*.~tmp~", "/debug/"],
          postHook: "report_mirror -c /etc/mirrormanager-client/report_mirror.conf",
        },
      ],
      bitflips: [{ name: "leap-16", paths: ["opensuse/distribution/leap/16.0", "opensuse/tumbleweed/iso"], at: "2030-10-01 12:00:00 UTC" }],
    },
  ],
];

function writeUnit(dir: string, name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

describe("node rendering", () => {
  it("the rsyncd check tries another port when its first is taken (a busy port is not a bad config); a bad config still fails", () => {
    const [model] = rsyncdModels(nodeConfig({ rsync: { modules: [{ name: "pub", path: "pub" }] } }));
    const dir = tmpDir("rsyncd-busy");
    const good = writeUnit(dir, "good.conf", renderRsyncdConf(model));
    const bad = writeUnit(dir, "bad.conf", `${renderRsyncdConf(model)}\n[broken\n`);
    // The check's first port, from the same shell's $$, held by a listener first.
    const holding = (conf: string) =>
      sh("sh", ["-c", `p=$(( 20000 + ($$ + 7919) % 20000 )); socat TCP-LISTEN:$p,bind=127.0.0.1,reuseaddr,fork /dev/null & l=$!; sleep 0.5\n(${rsyncdCheckCommand(`'${conf}'`)})\nr=$?; kill $l; exit $r`]);
    const ok = holding(good);
    assert.equal(ok.code, 0, ok.out);
    assert.match(ok.out, /^pub\b/m);
    const refused = holding(bad);
    assert.notEqual(refused.code, 0, refused.out);
  });

  for (const [title, overrides] of matrix) {
    const node = nodeConfig(overrides);

    it(`rsyncd configs are accepted by rsync's own daemon: ${title}`, () => {
      for (const model of rsyncdModels(node)) {
        const conf = writeUnit(tmpDir("rsyncd"), "rsyncd.conf", renderRsyncdConf(model));
        const check = sh("sh", ["-c", rsyncdCheckCommand(`'${conf}'`)]);
        assert.equal(check.code, 0, `${model.instance}: ${check.out}`);
      }
    });

    it(`rsyncd units verify and score <= 2.5: ${title}`, () => {
      for (const model of rsyncdModels(node)) {
        const unit = writeUnit(tmpDir("unit"), model.unitName, renderRsyncdUnit(model));
        const r = sh("systemd-analyze", ["verify", unit]);
        assert.equal(r.code, 0, r.out);
        assert.ok(exposure(unit) <= 2.5, `${model.unitName}: ${exposure(unit)}`);
      }
    });

    it(`sync script, service and timer pass sh -n and systemd-analyze: ${title}`, () => {
      for (const job of node.sync) {
        const dir = tmpDir("sync");
        const m = syncModel(node, job);
        const script = writeUnit(dir, "sync.sh", renderSyncScript(m));
        assert.equal(sh("sh", ["-n", script]).code, 0);
        fs.chmodSync(script, 0o755);
        // The unit names the script by its host path; verify it against this copy.
        const service = writeUnit(dir, m.unitName, renderSyncService({ ...m, scriptPath: script }));
        const timer = writeUnit(dir, m.timerName, renderSyncTimer(m));
        const r = sh("systemd-analyze", ["verify", service, timer]);
        assert.equal(r.code, 0, r.out);
        assert.ok(exposure(service) <= 2.5, `${m.unitName}: ${exposure(service)}`);
      }
    });

    it(`bitflip service and timer verify and score <= 2.5: ${title}`, () => {
      assert.ok(node.bitflips.length > 0, "every row of the matrix schedules a bitflip, so this check runs");
      for (const flip of node.bitflips) {
        const dir = tmpDir("flip");
        const m = bitflipModel(node, flip);
        const service = writeUnit(dir, m.unitName, renderBitflipService(m));
        const timer = writeUnit(dir, m.timerName, renderBitflipTimer(m));
        const r = sh("systemd-analyze", ["verify", service, timer]);
        assert.equal(r.code, 0, r.out);
        assert.ok(exposure(service) <= 2.5);
      }
    });
  }

  it("public daemon: read only, nobody/nogroup, unreadable entries hidden, listed", () => {
    const [pub] = rsyncdModels(nodeConfig(matrix[0][1]));
    const text = renderRsyncdConf(pub);
    for (const line of ["uid = nobody", "gid = nogroup", "read only = yes", "ignore nonreadable = yes", "list = yes", "max connections = 50", "exclude = .~tmp~/"]) {
      assert.match(text, new RegExp(`^${line.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`, "m"), line);
    }
    assert.doesNotMatch(text, /auth users|secrets file|hosts allow/);
  });

  it("private daemon: own port, hosts allow, auth users, secrets, not listed, mirror group", () => {
    const node = nodeConfig(matrix[1][1]);
    const priv = rsyncdModels(node).find((m) => m.instance === "private");
    assert.ok(priv);
    const text = renderRsyncdConf(priv);
    assert.match(text, /^port = 8874$/m);
    assert.match(text, /^list = no$/m);
    assert.match(text, /^hosts allow = 192\.0\.2\.0\/24 2001:db8::\/32 mirror2\.example\.org$/m);
    assert.match(text, /^hosts deny = \*$/m);
    assert.match(text, /^\s+auth users = tier2a, tier2b$/m);
    assert.match(text, /^gid = mirror$/m);
    assert.match(text, /^uid = mirror-tier$/m);
    assert.doesNotMatch(text, /correct horse/, "passwords live in the secrets file only");
    const unit = renderRsyncdUnit(priv);
    assert.match(unit, /^CapabilityBoundingSet=CAP_NET_BIND_SERVICE CAP_SETUID CAP_SETGID CAP_SYS_CHROOT$/m);
    assert.match(text, /^use chroot = yes$/m);
  });

  it("sync script carries the required rsync flags, lock, change gate and exit-24 handling", () => {
    const node = nodeConfig(matrix[0][1]);
    const text = renderSyncScript(syncModel(node, node.sync[0]));
    assert.match(text, new RegExp(RSYNC_SYNC_FLAGS.join(" ").replace(/[-]/g, "\\-")));
    for (const flag of ["-rtlpH", "--safe-links", "--numeric-ids", "--delete-after", "--delay-updates"]) assert.ok(text.includes(flag), flag);
    assert.match(text, /flock -n 9/);
    assert.match(text, /lastupdate/);
    assert.match(text, /"\$rc" -eq 24/);
    // rsync's temp dirs are never copied: the script writes them first in its exclude list.
    assert.match(text, /^printf '%s\\n' '\.~tmp~\/' /m);
  });

  it("sync guards: --max-delete, no-delete mode, bandwidth limit, mount check, status and metrics", () => {
    const base = { name: "f", upstream: "rsync://x.org/f/", path: "f" };
    const guarded = nodeConfig({ volumes: [{ name: "d", device: "/dev/vdb", mountPoint: "/srv/mirror" }], sync: [{ ...base, maxDelete: 50, bandwidthLimitKiB: 800 }] });
    const flags = syncFlags(guarded.sync[0]);
    assert.ok(flags.includes("--max-delete=50") && flags.includes("--bwlimit=800") && flags.includes("--delete-after"));
    const script = renderSyncScript(syncModel(guarded, guarded.sync[0]));
    assert.match(script, /if ! mountpoint -q '\/srv\/mirror'; then/);
    assert.match(script, /upstream module is empty; refusing to sync/);
    assert.match(script, /status\.json/);
    // The label value is escaped in TypeScript and reaches the metric through a variable.
    assert.match(script, /^JOB_LABEL='"f"'$/m);
    assert.match(script, /mirrorkit_sync_last_success_timestamp_seconds\{module=\$JOB_LABEL,project=\$PROJECT_LABEL\}/);
    assert.match(script, /find "\$DEST" -depth -type d -name \.~tmp~ -exec rm -rf/);
    const noDelete = nodeConfig({ sync: [{ ...base, noDelete: true }] });
    const nd = syncFlags(noDelete.sync[0]);
    assert.ok(!nd.some((f) => isDeleteFlag(f) || f.startsWith("--max-delete")), nd.join(" "));
    assert.ok(nd.includes("--delay-updates"));
    assert.doesNotMatch(renderSyncScript(syncModel(noDelete, noDelete.sync[0])), /mountpoint -q/, "no volume: no mount check");
  });

  it("servers come back when a data volume is mounted again (wanted by its mount unit)", () => {
    const node = nodeConfig({ volumes: [{ name: "d", device: "/dev/vdb", mountPoint: "/srv/mirror" }], rsync: { modules: [{ name: "f", path: "f" }] } });
    assert.match(renderNginxUnit(webModel(node)), /^WantedBy=multi-user\.target srv-mirror\.mount$/m);
    assert.match(renderRsyncdUnit(rsyncdModels(node)[0]), /^WantedBy=multi-user\.target srv-mirror\.mount$/m);
    assert.match(renderNginxUnit(webModel(nodeConfig({}))), /^WantedBy=multi-user\.target$/m);
  });

  it("sync service runs as the mirror account at low priority, after the mount", () => {
    const node = nodeConfig({ ...matrix[0][1], tier: 1 });
    const m = syncModel(node, node.sync[0]);
    const unit = renderSyncService(m);
    assert.match(unit, /^User=mirror$/m);
    assert.match(unit, /^Nice=10$/m);
    assert.match(unit, /^IOSchedulingClass=idle$/m);
    assert.match(unit, /^RequiresMountsFor=\/srv\/mirror\/fedora$/m);
    assert.match(renderSyncTimer(m), /^OnCalendar=\*:0\/15$/m, "tier 1 default: every 15 minutes");
    const tier2 = nodeConfig(matrix[0][1]);
    assert.match(renderSyncTimer(syncModel(tier2, tier2.sync[0])), /^OnCalendar=\*:05$/m, "tier 2 default: hourly");
  });

  it("an authenticated upstream puts the user in the URL and the password in a file", () => {
    const node = nodeConfig(matrix[1][1]);
    const text = renderSyncScript(syncModel(node, node.sync[0]));
    assert.match(text, /rsync:\/\/mirror@tier0\.example\.org\/opensuse-full\//);
    assert.match(text, /--password-file=\/etc\/mirrorkit\/sync\/opensuse\.password/);
    assert.doesNotMatch(text, /upstream-secret/);
  });

  it("mount units: name escaped as systemd does, unit verifies", () => {
    for (const p of ["/srv/mirror", "/srv/mirror/fedora-archive", "/data/mirror.d"]) {
      assert.equal(mountUnitName(p), `${sh("systemd-escape", ["--path", "--suffix=mount", p]).out.trim()}`);
    }
    assert.equal(escapePath("/"), "-");
    const dir = tmpDir("mount");
    const unit = writeUnit(dir, mountUnitName("/srv/mirror"), renderMountUnit({ device: "/dev/vdb", mountPoint: "/srv/mirror", fsType: "xfs" }));
    const r = sh("systemd-analyze", ["verify", unit]);
    assert.equal(r.code, 0, r.out);
  });

  it("the format script never formats a device that holds a filesystem or partitions", () => {
    const text = formatScript({ name: "data", device: "/dev/vdb", fsType: "xfs", mountPoint: "/srv/mirror" });
    assert.equal(sh("sh", ["-n", "-c", text]).code, 0);
    assert.match(text, /blkid -p -o value -s TYPE/);
    assert.match(text, /never reformatted/);
    assert.match(text, /partition table; refusing/);
    assert.ok(text.indexOf("mkfs.xfs") > text.indexOf('if [ -z "$have" ]'));
  });

  it("push: keys forced to the trigger, sshd confines the account, path units verify, the sync pushes its downstreams", () => {
    const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH8vA8Nx2mXe9c0f2Xg7q0t4bq2w8Qm3VYk1s6J4b9cE t1";
    const node = nodeConfig({
      push: { authorizedKeys: [key], downstreams: [{ host: "10.77.0.12" }] },
      sync: [{ name: "fedora", upstream: "rsync://t1.example.org/fedora/", path: "fedora" }],
    });
    const m = pushModel(node);
    assert.ok(m);
    assert.equal(renderPushAuthorizedKeys(m).split("\n")[1], `restrict,command="/usr/local/lib/mirrorkit/push-trigger" ${key}`);
    const dropIn = renderSshdPushDropIn(m);
    assert.match(dropIn, /^Match User mirror-push$/m);
    assert.match(dropIn, /^\s+ForceCommand \/usr\/local\/lib\/mirrorkit\/push-trigger$/m);
    assert.match(dropIn, /^Match all$/m, "the block ends: later global lines stay global");
    const dir = tmpDir("push");
    const trigger = writeUnit(dir, "push-trigger", renderPushTrigger(m));
    assert.equal(sh("sh", ["-n", trigger]).code, 0);
    const job = syncModel(node, node.sync[0]);
    const service = writeUnit(dir, job.unitName, renderSyncService({ ...job, scriptPath: "/bin/true" }));
    const pathUnit = writeUnit(dir, "mirrorkit-sync-fedora.path", renderPushPathUnit(m, { name: "fedora", unitName: job.unitName }));
    const r = sh("systemd-analyze", ["verify", pathUnit, service]);
    assert.equal(r.code, 0, r.out);
    const script = renderSyncScript(job);
    assert.match(script, /for target in 'mirror-push@10\.77\.0\.12:22'; do/);
    assert.match(script, /ssh -i '\/etc\/mirrorkit\/push\/id_ed25519'/);
    assert.equal(pushModel(nodeConfig({})), undefined, "no keys: no push account or trigger");
  });

  it("report_mirror.conf: site, host and each category's tree", () => {
    const node = nodeConfig({
      sync: [{ name: "fedora", upstream: "rsync://t1.example.org/fedora/", path: "pub/fedora" }],
      reportMirror: { site: "Example", sitePassword: "s3cret", host: "mirror.example.org", categories: { "Fedora Linux": "fedora" } },
    });
    const m = reportMirrorModel(node);
    assert.ok(m);
    const text = renderReportMirrorConf(m, "s3cret");
    assert.match(text, /^\[site\]\nenabled=1\nname=Example\npassword=s3cret$/m);
    assert.match(text, /^\[host\]\nenabled=1\nname=mirror\.example\.org$/m);
    assert.match(text, /^\[Fedora Linux\]\nenabled=1\npath=\/srv\/mirror\/pub\/fedora$/m);
    assert.equal(m.group, "mirror");
  });
});
