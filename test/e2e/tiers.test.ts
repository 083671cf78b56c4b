// The mission end to end: a tier-0 upstream, a tier-1 node (nginx) and a
// tier-2 node (Apache) on two VMs, each from its own stack through the real
// CLI, on a network of their own (a namespace this test makes). Tier 2 takes
// its upstream, tier 1's private module, through a StackReference. Syncs run
// from the installed timers only. Clients probe both tiers with `npm run
// doctor` from a public address outside the private module's access list.
// Both tiers are many-project nodes: tier 1 takes Fedora, Debian and Arch
// from tier-0 servers of their own, tier 2 takes each from tier 1's private
// module for it; each is installed from, on both tiers, by its own client.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { bootNode, changeSummary, vmHost, waitFor, type E2eNode } from "../lib/e2e";
import { createLan, type Lan } from "../lib/lan";
import { makeSigningKey, type SigningKey } from "../../scripts/lib/repos";
import {
  DEBIAN_SERIAL,
  DEBIAN_STAGED_SUITE,
  DEBIAN_SUITE,
  PACMAN_DB,
  PACMAN_REPO,
  PACMAN_STAGED_DB,
  PACMAN_STAGED_REPO,
  RPM_REPO,
  STAGED_RPM_REPO,
  STAGED_VERSION,
  startDistroUpstream,
  startUpstream,
  type DistroUpstream,
  type Upstream,
} from "../lib/upstream";
import { tmpDir } from "../lib/tools";
import { PROJECT_DIR } from "../../scripts/lib/pulumi";

const MINUTES = 60_000;
const TIER_PASSWORD = "tier2-pass-0750";
const PUSH_PASSWORD = "arch-push-pass-1";
const TIER1_STACK = { name: "organization/mirrorkit/e2e-tier1", user: "tier2" };
const STAGED_DIR = "fedora/releases/42";
const STAGED_FILE = `${STAGED_DIR}/Everything/x86_64/os/STAGED-SECRET`;
const ISO = "fedora/releases/41/Everything/x86_64/iso/Fedora-41-netinst.iso";
const RPM = `fedora/${RPM_REPO}/Packages/m/mk-hello-1.0-1.noarch.rpm`;
const ISO_BYTES = 2.25 * 1024 ** 3; // past 2 GiB: offsets beyond 32-bit
const ISO_LIMIT = 3;
// Addresses on the test network.
const NET = "10.77.0";
const T1 = `${NET}.11`;
const T2 = `${NET}.12`;
const CLIENT = `${NET}.100`;
const OTHER_CLIENT = `${NET}.101`;
// A host of its own for the package managers, which cannot pick a source address.
const PACKAGE_CLIENT = `${NET}.102`;

interface Probe {
  probe: string;
  ok: boolean;
  detail: string;
}

const phases: [string, number][] = [];
async function phase<T>(name: string, run: () => Promise<T>): Promise<T> {
  const start = Date.now();
  try {
    return await run();
  } finally {
    phases.push([name, (Date.now() - start) / 1000]);
  }
}

describe("tier 0 -> tier 1 -> tier 2 on VMs in a private network", { timeout: 75 * MINUTES }, () => {
  let lan: Lan;
  let upstream: Upstream;
  let debianUpstream: DistroUpstream;
  let archUpstream: DistroUpstream;
  let t1: E2eNode;
  let t2: E2eNode;
  let archiveKey: SigningKey;
  let packageClient: Pick<Lan, "run">;

  // Every project's timer fires every 20 s, so the test waits on syncs, not on schedules.
  const often = { schedule: "*:*:0/20", randomizedDelaySeconds: 0 };
  const tier1Config = (host: Record<string, unknown>) => ({
    name: "tier1",
    tier: 1,
    region: "e2e",
    host,
    publicName: T1,
    // Three projects from three tier-0 servers, each handed on to tier 2 by a private module of its own (<module>-tier).
    projects: [
      { preset: "fedora", upstream: `rsync://${lan.gateway}`, ...often },
      { preset: "debian", upstream: debianUpstream.url, ...often },
      { preset: "archlinux", upstream: archUpstream.url, ...often },
    ],
    diskNeedGiB: 10,
    volumes: [{ name: "data", device: "/dev/vdb", fsType: "xfs", mountPoint: "/srv/mirror" }],
    web: { server: "nginx", isoConnectionsPerIp: ISO_LIMIT },
    // report_mirror after each sync (a stand-in program on the VM: MirrorManager is not reachable here).
    reportMirror: { site: "e2e-site", sitePassword: "e2e-site-secret", host: T1, categories: { "Fedora Linux": "fedora" } },
    // After each sync, start tier 2's (its stack trusts this node's push key by StackReference).
    push: { downstreams: [{ host: T2 }] },
    rsync: {
      private: {
        hostsAllow: [T2],
        users: [{ name: "tier2", password: TIER_PASSWORD }],
      },
    },
  });
  const tier2Config = (host: Record<string, unknown>) => ({
    name: "tier2",
    tier: 2,
    region: "e2e",
    host,
    publicName: T2,
    // The same three projects, each from tier 1's private module by StackReference, each served over HTTP and public rsync under its own name.
    projects: [
      { preset: "fedora", upstreamStack: TIER1_STACK, ...often },
      // Tier 1 marks its Debian tree while it syncs it (Archive-Update-in-Progress): look again in 10 s, not ftpsync's 20 min.
      { preset: "debian", upstreamStack: TIER1_STACK, ...often, upstreamBusyWaitSeconds: 10, upstreamBusyRetries: 10 },
      // Arch's upstream may also push into tier 2 (openSUSE style), from the tier-0 side only.
      { preset: "archlinux", upstreamStack: TIER1_STACK, ...often, push: { hostsAllow: [lan.gateway], users: [{ name: "arch-up", password: PUSH_PASSWORD }] } },
    ],
    diskNeedGiB: 10,
    volumes: [{ name: "data", device: "/dev/vdb", fsType: "ext4", mountPoint: "/srv/mirror" }],
    web: { server: "apache", isoConnectionsPerIp: ISO_LIMIT },
  });

  /** dnf and zypper, from the package client's host, against `repo` on `address`. */
  const packageManagers = (address: string, repo: string, expect: "installed" | "refused") =>
    doctor(["--url", `http://${address}`, "--client", "dnf", "--client", "zypper", "--repo", `fedora/${repo}`, "--key", archiveKey.armored, "--expect", expect], packageClient);

  /** apt against the Debian project's `suite` on `address`, from the package client's host. */
  const apt = (address: string, suite: string, expect: "installed" | "refused") =>
    doctor(["--url", `http://${address}`, "--client", "apt", "--repo", "debian", "--dist", suite, "--key", archiveKey.armored, "--expect", expect], packageClient);
  /** pacman against the Arch project's database `db` (in `repo`) on `address`. */
  const pacman = (address: string, repo: string, db: string, expect: "installed" | "refused") =>
    doctor(["--url", `http://${address}`, "--client", "pacman", "--repo", `archlinux/${repo}`, "--dist", db, "--key", archiveKey.armored, "--expect", expect], packageClient);

  /** `npm run doctor` from a client address on the test network (by default the lan's own side, with --from). */
  function doctor(args: string[], on: Pick<Lan, "run"> = lan): Probe[] {
    // Not as a test process: node --test marks its children through NODE_TEST_CONTEXT.
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT;
    const r = on.run(process.execPath, ["--import", "tsx", "scripts/doctor.ts", "--json", ...args], { cwd: PROJECT_DIR, env, timeoutMs: 240_000 });
    assert.ok(r.code === 0 || r.code === 1, `doctor ran: exit ${r.code}\n${r.out}`);
    return JSON.parse(r.out.slice(r.out.indexOf("["))) as Probe[];
  }

  const synced = (node: E2eNode, job = "fedora") =>
    waitFor(`the timer-started sync of ${job} on ${node.vm.name}`, 900, async () => {
      const r = await node.vm.ssh(`cat /var/lib/mirrorkit-sync/${job}/status.json 2>/dev/null`, { allowFailure: true });
      // A later run may already say "unchanged"; a success time means one completed.
      return /"lastSuccess": [1-9]/.test(r.stdout) ? r.stdout : undefined;
    });

  before(async () => {
    fs.mkdirSync(path.join(PROJECT_DIR, ".work"), { recursive: true });
    await phase("network and tier-0 fixture", async () => {
      lan = createLan("mirrorkit-e2e", NET);
      lan.addClient(CLIENT);
      lan.addClient(OTHER_CLIENT);
      packageClient = lan.addHost("client", PACKAGE_CLIENT);
      archiveKey = makeSigningKey();
      upstream = await startUpstream("fedora-enchilada", { lan, isoBytes: ISO_BYTES, repoKey: archiveKey });
      debianUpstream = await startDistroUpstream("debian", lan, 8873, archiveKey);
      archUpstream = await startDistroUpstream("archlinux", lan, 8874, archiveKey);
    });
    await phase("boot both VMs", async () => {
      [t1, t2] = await Promise.all([
        bootNode("tier1", (vm) => tier1Config(vmHost(vm)), { forwards: {}, lan: { netns: lan.netns, bridge: lan.bridge, address: `${T1}/24` } }),
        bootNode("tier2", (vm) => tier2Config(vmHost(vm)), { forwards: {}, lan: { netns: lan.netns, bridge: lan.bridge, address: `${T2}/24` } }),
      ]);
    });
  });

  after(async () => {
    if (phases.length > 0) {
      const table = phases.map(([name, s]) => `| ${name} | ${s.toFixed(0)} s |`).join("\n");
      const text = `| phase | wall time |\n|---|---|\n${table}\n`;
      fs.writeFileSync(path.join(PROJECT_DIR, ".work", "e2e-tiers-phases.md"), text);
      console.log(`tier scenario phases:\n${text}`);
    }
    await t2?.cleanup();
    await t1?.cleanup();
    await upstream?.stop();
    await debianUpstream?.stop();
    await archUpstream?.stop();
    archiveKey?.close();
    lan?.destroy();
  });

  it("the VMs reach each other and the tier-0 upstream on their own addresses", async () => {
    // TCP, not ping: the image has no ping. tier 1's sshd and tier 0's rsync daemon answer.
    const tcp = (host: string, port: number) => `timeout 5 bash -c 'exec 3<>/dev/tcp/${host}/${port}'`;
    const r = await t2.vm.ssh(`${tcp(T1, 22)} && ${tcp(lan.gateway, 873)} && ip -4 -o addr show eth1`);
    assert.match(r.stdout, new RegExp(`inet ${T2.replace(/\./g, "\\.")}/24`));
  });

  it("pulumi up of the tier-1 stack, then its timer syncs from tier 0", async () => {
    // The stand-in report_mirror: records how it was called and the config it read.
    await t1.vm.ssh(
      `printf '%s\\n' '#!/bin/sh' 'echo "$@" > /var/lib/mirrorkit-sync/fedora/report_mirror.args' 'cp "$2" /var/lib/mirrorkit-sync/fedora/report_mirror.read' > /usr/local/bin/report_mirror && chmod 0755 /usr/local/bin/report_mirror`,
    );
    const up = await phase("tier 1: pulumi up", () => t1.up());
    assert.equal(up.code, 0, up.stdout + up.stderr);
    const status = await phase("tier 1: first timer-started sync", () => synced(t1));
    assert.match(status, /"sizeBytes": [1-9]/);
    const perms = await t1.vm.ssh(`stat -c '%a %U:%G' /srv/mirror/fedora/releases/41 /srv/mirror/${STAGED_DIR} && stat -c %s /srv/mirror/${ISO}`);
    assert.deepEqual(perms.stdout.trim().split("\n"), ["755 mirror:mirror", "750 mirror:mirror", String(ISO_BYTES)]);
    const report = await t1.vm.ssh(
      "stat -c '%a %U:%G' /etc/mirrormanager-client/report_mirror.conf; cat /var/lib/mirrorkit-sync/fedora/report_mirror.args /var/lib/mirrorkit-sync/fedora/report_mirror.read",
    );
    assert.match(report.stdout, /^640 root:mirror$/m, "the site password is readable by the mirror account only");
    assert.match(report.stdout, /^-c \/etc\/mirrormanager-client\/report_mirror\.conf$/m, "run as the post-sync hook");
    assert.match(report.stdout, /^\[Fedora Linux\]\nenabled=1\npath=\/srv\/mirror\/fedora$/m);
    assert.match(report.stdout, /^password=e2e-site-secret$/m);
  });

  it("pulumi up of the tier-2 stack takes tier 1's private module by StackReference, and its timer syncs from it", async () => {
    const up = await phase("tier 2: pulumi up", () => t2.up());
    assert.equal(up.code, 0, up.stdout + up.stderr);
    const script = await t2.vm.ssh("grep -h 'rsync://' /usr/local/lib/mirrorkit/sync-fedora.sh");
    assert.match(script.stdout, new RegExp(`rsync://(tier2@)?${T1.replace(/\./g, "\\.")}:874/fedora-tier/`));
    await phase("tier 2: first timer-started sync", () => synced(t2));
    // The staged release arrived through the private module with 0750 intact.
    const perms = await t2.vm.ssh(`stat -c '%a %U:%G' /srv/mirror/${STAGED_DIR} /srv/mirror/${STAGED_FILE} && cat /srv/mirror/${STAGED_FILE}`);
    assert.deepEqual(perms.stdout.trim().split("\n"), ["750 mirror:mirror", "644 mirror:mirror", "unreleased"]);
  });

  for (const [tier, address, server] of [
    ["tier 1", T1, "nginx"],
    ["tier 2", T2, "Apache"],
  ] as const) {
    it(`${tier} (${server}) passes the client probes: staged content hidden everywhere, HTTP rules hold`, async () => {
      const probes = await phase(`${tier}: doctor probes`, async () =>
        doctor([
          `--url=http://${address}`,
          `--staged=${STAGED_DIR}`,
          `--staged-file=${STAGED_FILE}`,
          `--iso=${ISO}`,
          `--rpm=${RPM}`,
          "--file=fedora/releases/41/README",
          `--min-iso-bytes=${ISO_BYTES}`,
          `--iso-bytes=${ISO_BYTES}`,
          "--category=fedora",
          "--traces=fedora/project/trace",
          `--iso-limit=${ISO_LIMIT}`,
          `--from=${CLIENT}`,
          `--other-from=${OTHER_CLIENT}`,
          "--status-module=fedora",
        ]),
      );
      assert.deepEqual(probes.filter((p) => !p.ok), [], JSON.stringify(probes, null, 2));
      assert.equal(probes.length, 17, JSON.stringify(probes.map((p) => p.probe)));
    });

    it(`${tier} (${server}): dnf and zypper install from the released repository; the staged release is refused to both`, async () => {
      const released = await phase(`${tier}: package managers`, async () => packageManagers(address, RPM_REPO, "installed"));
      assert.deepEqual(released.filter((p) => !p.ok), [], JSON.stringify(released, null, 2));
      assert.deepEqual(released.map((p) => p.detail), ["installed mk-world-1.0", "installed mk-world-1.0"]);
      const staged = packageManagers(address, STAGED_RPM_REPO, "refused");
      assert.equal(staged.length, 2);
      assert.deepEqual(staged.filter((p) => !p.ok), [], JSON.stringify(staged, null, 2));
    });
  }

  it("Debian and Arch go through the chain: tier 1 syncs them from their own tier-0 servers, tier 2 from tier 1's private modules; apt and pacman install from both tiers; each project has its status", async () => {
    await phase("Debian and Arch through tier 1 to tier 2", async () => {
      const t1Scripts = await t1.vm.ssh("grep -h '^UPSTREAM=' /usr/local/lib/mirrorkit/sync-debian.sh /usr/local/lib/mirrorkit/sync-archlinux.sh");
      assert.deepEqual(t1Scripts.stdout.trim().split("\n"), [`UPSTREAM='${debianUpstream.url}/debian/'`, `UPSTREAM='${archUpstream.url}/archlinux/'`]);
      await synced(t1, "debian");
      await synced(t1, "archlinux");
      await synced(t2, "debian");
      await synced(t2, "archlinux");
    });
    const scripts = await t2.vm.ssh("grep -h '^UPSTREAM=' /usr/local/lib/mirrorkit/sync-debian.sh /usr/local/lib/mirrorkit/sync-archlinux.sh");
    const t1Private = T1.replace(/\./g, "\\.");
    assert.match(scripts.stdout, new RegExp(`^UPSTREAM='rsync://(tier2@)?${t1Private}:874/debian-tier/'$`, "m"));
    assert.match(scripts.stdout, new RegExp(`^UPSTREAM='rsync://(tier2@)?${t1Private}:874/archlinux-tier/'$`, "m"));
    const clients = await phase("apt and pacman from both tiers", async () =>
      [T1, T2].flatMap((address) => [...apt(address, DEBIAN_SUITE, "installed"), ...pacman(address, PACMAN_REPO, PACMAN_DB, "installed")]),
    );
    assert.deepEqual(clients.filter((p) => !p.ok), [], JSON.stringify(clients, null, 2));
    // pacman names the version with its release (pkgrel).
    assert.deepEqual(clients.map((p) => p.detail), ["installed mk-world-1.0", "installed mk-world-1.0-1", "installed mk-world-1.0", "installed mk-world-1.0-1"]);
    // Each one's staged next release (0750 at tier 0) arrived closed and is refused by the server to both clients, on both tiers.
    const staged = [T1, T2].flatMap((address) => [...apt(address, DEBIAN_STAGED_SUITE, "refused"), ...pacman(address, PACMAN_STAGED_REPO, PACMAN_STAGED_DB, "refused")]);
    assert.equal(staged.length, 4);
    assert.deepEqual(staged.filter((p) => !p.ok), [], JSON.stringify(staged, null, 2));
    for (const node of [t1, t2]) {
      const modes = await node.vm.ssh(`stat -c %a /srv/mirror/debian/dists/${DEBIAN_STAGED_SUITE} /srv/mirror/debian/pool/${DEBIAN_STAGED_SUITE} /srv/mirror/archlinux/${PACMAN_STAGED_DB}`);
      assert.deepEqual(modes.stdout.trim().split("\n"), ["750", "750", "750"], node.vm.name);
    }
    // Each project's status document, served beside the page, names its modules.
    for (const project of ["fedora", "debian", "archlinux"]) {
      const r = lan.run("curl", ["-fsS", `http://${T2}/mirror-status/projects/${project}.json`]);
      assert.equal(r.code, 0, r.out);
      const status = JSON.parse(r.out) as { project: string; modules: { module: string; project: string; result: string }[] };
      assert.equal(status.project, project);
      assert.deepEqual(status.modules.map((m) => [m.module, m.project]), [[project, project]]);
      assert.match(status.modules[0].result, /^(success|unchanged)$/);
    }
    const metrics = await t2.vm.ssh("cat /var/lib/mirrorkit-sync/metrics/debian.prom");
    assert.match(metrics.stdout, /^mirrorkit_sync_success\{module="debian",project="debian"\} 1$/m);
  });

  it("Arch's upstream pushes into tier 2's push module: written as the mirror account, recorded in the project's push status and metric; a wrong password writes nothing", async () => {
    // Published upstream first, so tier 2's own pulls agree with the push.
    fs.writeFileSync(path.join(archUpstream.root, "pushed-by-upstream"), "pushed\n");
    const push = (password: string) => lan.run("env", [`RSYNC_PASSWORD=${password}`, "rsync", "-rtlp", "--delay-updates", `${archUpstream.root}/`, `rsync://arch-up@${T2}:8873/archlinux-push/`]);
    const wrong = push("not-the-password");
    assert.notEqual(wrong.code, 0, wrong.out);
    assert.match(wrong.out, /auth failed/);
    const ok = push(PUSH_PASSWORD);
    assert.equal(ok.code, 0, ok.out);
    // The hook runs after the transfer, as the daemon finishes the session.
    const status = await waitFor("the push status", 60, async () => {
      const r = lan.run("curl", ["-fsS", `http://${T2}/mirror-status/push/archlinux-push.json`]);
      return r.code === 0 ? (JSON.parse(r.out) as Record<string, unknown>) : undefined;
    });
    assert.deepEqual([status.module, status.project, status.result, status.from, status.user], ["archlinux-push", "archlinux", "success", lan.gateway, "arch-up"]);
    const owner = await t2.vm.ssh("stat -c '%U:%G %a' /srv/mirror/archlinux/pushed-by-upstream");
    assert.equal(owner.stdout.trim(), "mirror:mirror 644");
    const metric = await t2.vm.ssh("cat /var/lib/mirrorkit-sync/metrics/push-archlinux-push.prom");
    assert.match(metric.stdout, /^mirrorkit_push_success\{module="archlinux-push",project="archlinux"\} 1$/m);
  });

  it("the hardlink pass over tier 2's Fedora tree links identical files under the sync's lock and records it", async () => {
    // Two identical files, as a sync leaves them (owner, mode and content equal).
    await t2.vm.ssh("runuser -u mirror -- sh -c 'cd /srv/mirror/fedora && head -c 65536 /dev/zero > dup-a.bin && cp dup-a.bin dup-b.bin'");
    await t2.vm.ssh("systemctl start mirrorkit-hardlink-fedora.service");
    const inodes = await t2.vm.ssh("stat -c %i /srv/mirror/fedora/dup-a.bin /srv/mirror/fedora/dup-b.bin");
    const [a, b] = inodes.stdout.trim().split("\n");
    assert.equal(a, b, "one file now");
    const r = lan.run("curl", ["-fsS", `http://${T2}/mirror-status/hardlink/fedora.json`]);
    assert.equal(r.code, 0, r.out);
    const status = JSON.parse(r.out) as { result: string; linkedFiles: number; savedBytes: number };
    assert.equal(status.result, "success");
    assert.ok(status.linkedFiles >= 1 && status.savedBytes >= 65536, r.out);
    const ran = await t2.vm.ssh("systemctl show -p User,Nice mirrorkit-hardlink-fedora.service");
    assert.match(ran.stdout, /User=mirror/);
    assert.match(ran.stdout, /Nice=19/);
    await t2.vm.ssh("rm -f /srv/mirror/fedora/dup-a.bin /srv/mirror/fedora/dup-b.bin");
  });

  it("the checkers' files on tier 2: Arch's lastsync byte-equal to upstream's over HTTP and public rsync; Debian's traces in ftpsync format with the master's serial, listed", () => {
    const upstreamLastsync = fs.readFileSync(path.join(archUpstream.root, "lastsync"), "utf8");
    const http = lan.run("curl", ["-fsS", `http://${T2}/archlinux/lastsync`]);
    assert.equal(http.code, 0, http.out);
    assert.equal(http.out, upstreamLastsync);
    const copy = path.join(tmpDir("lastsync"), "lastsync");
    const rsync = lan.run("rsync", ["--contimeout=10", `rsync://${T2}/archlinux/lastsync`, copy]);
    assert.equal(rsync.code, 0, rsync.out);
    assert.equal(fs.readFileSync(copy, "utf8"), upstreamLastsync);
    const traces = doctor([`--url=http://${T2}`, "--traces=debian/project/trace", `--from=${CLIENT}`]);
    assert.deepEqual(traces.filter((p) => !p.ok), [], JSON.stringify(traces, null, 2));
    // The doctor holds each trace's serial to the master's (DEBIAN_SERIAL, from tier 0).
    const master = lan.run("curl", ["-fsS", `http://${T2}/debian/project/trace/master`]);
    assert.match(master.out, new RegExp(`^Archive serial: ${DEBIAN_SERIAL}$`, "m"));
  });

  it("tier 1's private module refuses the public client's address, even with the right password", () => {
    const pw = path.join(fs.mkdtempSync("/tmp/mirrorkit-pw-"), "pw");
    fs.writeFileSync(pw, `${TIER_PASSWORD}\n`, { mode: 0o600 });
    const [probe] = doctor([`--url=http://${T1}`, `--private=rsync://tier2@${T1}:874/fedora-tier`, `--private-password-file=${pw}`, "--expect-private=refused", `--from=${CLIENT}`]);
    assert.ok(probe.ok, probe.detail);
    // The same module serves tier 2's address (next test): this is the address rule.
    assert.match(probe.detail, /access denied|Unknown module/);
  });

  it("from tier 2's address it serves staged content with the right password, and refuses a wrong one", async () => {
    const rsync = (password: string) =>
      t2.vm.ssh(`RSYNC_PASSWORD='${password}' rsync --contimeout=10 --list-only -r rsync://tier2@${T1}:874/fedora-tier/releases/42/ 2>&1`, { allowFailure: true });
    const right = await rsync(TIER_PASSWORD);
    assert.equal(right.code, 0, right.stdout + right.stderr);
    assert.match(right.stdout, /STAGED-SECRET/);
    const wrong = await rsync("not-the-password");
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stdout, /auth failed/);
  });

  it("the upstream's bitflip reaches both tiers through their timers: dnf, zypper, apt and pacman then install each staged release", async () => {
    upstream.flip("releases/42");
    upstream.touchLastupdate();
    debianUpstream.flip();
    archUpstream.flip();
    await phase("bitflip: public on both tiers", async () => {
      for (const [node, address] of [
        [t1, T1],
        [t2, T2],
      ] as const) {
        await waitFor(`the release on ${node.vm.name}`, 600, async () => {
          const r = lan.run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--interface", CLIENT, `http://${address}/${STAGED_FILE}`]);
          return r.out === "200" ? true : undefined;
        });
        const listing = lan.run("curl", ["-s", "--interface", CLIENT, `http://${address}/fedora/releases/`]);
        assert.match(listing.out, /href="42\/"/, `${node.vm.name} now lists the release`);
        assert.equal((await node.vm.ssh(`stat -c %a /srv/mirror/${STAGED_DIR}`)).stdout.trim(), "755");
        // The release's repository now installs, with its own (newer) packages.
        const flipped = packageManagers(address, STAGED_RPM_REPO, "installed");
        assert.deepEqual(flipped.filter((p) => !p.ok), [], JSON.stringify(flipped, null, 2));
        assert.deepEqual(flipped.map((p) => p.detail), ["installed mk-world-42.0", "installed mk-world-42.0"]);
      }
      // Debian's and Arch's staged releases, by the same timers (each project's own change check).
      for (const address of [T1, T2]) {
        const opened = await waitFor(`apt and pacman install the flipped releases from ${address}`, 600, async () => {
          const runs = [...apt(address, DEBIAN_STAGED_SUITE, "installed"), ...pacman(address, PACMAN_STAGED_REPO, PACMAN_STAGED_DB, "installed")];
          return runs.every((p) => p.ok) ? runs : undefined;
        });
        assert.deepEqual(opened.map((p) => p.detail), [`installed mk-world-${STAGED_VERSION}`, `installed mk-world-${STAGED_VERSION}-1`]);
      }
    });
  });

  it("a push from tier 1 starts tier 2's sync at once, and the push key can do nothing else", async () => {
    // Only a push can start tier 2's sync now.
    await t2.vm.ssh("systemctl stop mirrorkit-sync-fedora.timer");
    try {
      fs.writeFileSync(path.join(upstream.root, "releases/41/PUSHED"), "pushed\n");
      upstream.touchLastupdate();
      await phase("push: tier 1 syncs, then pushes tier 2", () =>
        waitFor("the pushed change on tier 2", 300, async () => {
          const r = await t2.vm.ssh("cat /srv/mirror/fedora/releases/41/PUSHED", { allowFailure: true });
          return r.stdout === "pushed\n" ? true : undefined;
        }),
      );
      const t1log = await t1.vm.ssh("journalctl -u mirrorkit-sync-fedora.service --no-pager -o cat");
      assert.match(t1log.stdout, new RegExp(`pushed ${T2.replace(/\./g, "\\.")}`));
      const shell = await t1.vm.ssh(
        `runuser -u mirror -- ssh -i /etc/mirrorkit/push/id_ed25519 -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null mirror-push@${T2} 'cat /etc/passwd' 2>&1`,
        { allowFailure: true },
      );
      assert.match(shell.stdout, /sync started on tier2 by push/);
      assert.doesNotMatch(shell.stdout, /root:/, "the forced command runs instead of the one asked for");
    } finally {
      await t2.vm.ssh("systemctl start mirrorkit-sync-fedora.timer");
    }
  });

  /** The during-sync loop's client runs, for the test after it. */
  type LoopRun = { tier: string; client: string; ok: boolean; detail: string; duringSync: boolean };
  const loopRuns: LoopRun[] = [];

  it("while both tiers sync new versions of the Fedora, Debian and Arch repositories, dnf, zypper, apt and pacman keep installing, and every tier comes to serve each version (counts reported)", async () => {
    // Tier 0 publishes two new versions of each repository one after the
    // other (each with its packages and signed indices, the previous packages
    // gone, 48 MiB beside the Fedora one and 12 MiB beside each other, so the
    // syncs take a while); the clients run in a loop while both tiers sync them.
    const tiers = [
      ["tier 1", T1, t1],
      ["tier 2", T2, t2],
    ] as const;
    // Each client, the project it reads (whose sync may be running) and what it installed.
    const clients = [
      { project: "fedora", run: (address: string) => packageManagers(address, RPM_REPO, "installed"), release: "" },
      { project: "debian", run: (address: string) => apt(address, DEBIAN_SUITE, "installed"), release: "" },
      { project: "archlinux", run: (address: string) => pacman(address, PACMAN_REPO, PACMAN_DB, "installed"), release: "-1" },
    ];
    const served = new Map<string, number>();
    const deadline = Date.now() + 15 * MINUTES;
    const versions = ["2.0", "3.0"];
    await phase("during-sync client loop", async () => {
      for (const version of versions) {
        upstream.publishRpmUpdate(version, archiveKey, 48 * 1024 * 1024);
        debianUpstream.publishUpdate(version, 12 * 1024 * 1024);
        archUpstream.publishUpdate(version, 12 * 1024 * 1024);
        // Bounded: 15 minutes in all, 60 rounds a version; the next version once both tiers served this one to every client for 2 rounds.
        const rounds = new Map<string, number>();
        for (let round = 0; round < 60 && Date.now() < deadline; round++) {
          for (const [tier, address, node] of tiers) {
            let current = true;
            for (const client of clients) {
              const state = await node.vm.ssh(`systemctl show -p ActiveState --value mirrorkit-sync-${client.project}.service`);
              const probes = client.run(address);
              for (const p of probes) loopRuns.push({ tier, client: p.probe.split(":")[0], ok: p.ok, detail: p.detail, duringSync: state.stdout.trim() !== "inactive" });
              current &&= probes.every((p) => p.detail === `installed mk-world-${version}${client.release}`);
            }
            if (current) rounds.set(tier, (rounds.get(tier) ?? 0) + 1);
          }
          if (tiers.every(([tier]) => (rounds.get(tier) ?? 0) >= 2)) break;
        }
        for (const [tier] of tiers) if ((rounds.get(tier) ?? 0) >= 2) served.set(tier, (served.get(tier) ?? 0) + 1);
      }
    });
    const count = (f: (r: LoopRun) => boolean, of: LoopRun[] = loopRuns) => of.filter(f).length;
    const last = versions.at(-1)!;
    const rows = tiers.flatMap(([tier]) =>
      ["dnf", "zypper", "apt", "pacman"].map((client) => {
        const mine = loopRuns.filter((r) => r.tier === tier && r.client === client);
        const installedLast = (r: LoopRun) => r.ok && new RegExp(`-${last.replace(".", "\\.")}(-1)?$`).test(r.detail);
        const cells = [mine.length, count((r) => r.duringSync, mine), count((r) => r.ok && !installedLast(r), mine), count(installedLast, mine), count((r) => !r.ok, mine)];
        return `| ${tier} | ${client} | ${cells.join(" | ")} |`;
      }),
    );
    const table = `| tier | client | runs | started during its project's sync | installed an earlier version | installed the last (${last}) | failures |\n|---|---|---|---|---|---|---|\n${rows.join("\n")}\n`;
    fs.writeFileSync(path.join(PROJECT_DIR, ".work", "e2e-client-loop.md"), table);
    console.log(`client runs while the tiers synced ${versions.length} new repository versions in turn:\n${table}`);
    assert.ok(count((r) => r.ok) >= loopRuns.length / 2, `most client runs install: ${table}`);
    for (const [tier] of tiers) assert.equal(served.get(tier), versions.length, `${tier} came to serve each version in turn: ${table}`);
    assert.ok(count((r) => r.duringSync) > 0, `some client runs overlapped a sync: ${table}`);
  });

  it("no client run fails, during a sync or between syncs: each sees the old repository or the new, never a broken one", () => {
    // rpm: packages, then the new hashed metadata, then repomd.xml, with what
    // the previous repomd.xml named kept one more run; Debian: the pool, then
    // the indices; nginx opens each index anew (no cached old copy beside a
    // new signature).
    assert.ok(loopRuns.length > 0, "the loop ran");
    assert.deepEqual(loopRuns.filter((r) => !r.ok), [], JSON.stringify(loopRuns.filter((r) => !r.ok), null, 2));
  });

  it("a second pulumi up of each stack changes nothing", async () => {
    for (const node of [t1, t2]) {
      const again = await phase(`${node.vm.name}: second pulumi up`, () => node.up(["--expect-no-changes"]));
      assert.equal(again.code, 0, again.stdout + again.stderr);
      assert.deepEqual(changeSummary(again.stdout), {});
    }
  });

  it("pulumi destroy removes services, timers and users on both, and keeps the mirror data", async () => {
    for (const node of [t2, t1]) {
      const destroy = await phase(`${node.vm.name}: pulumi destroy`, () => node.destroy());
      assert.equal(destroy.code, 0, destroy.stdout + destroy.stderr);
      const left = await node.vm.ssh(
        "find /etc/systemd/system \\( -name 'mirrorkit-*' -o -name 'srv-mirror.mount' \\) ! -name 'mirrorkit-firstboot*'; getent passwd mirror mirror-http mirror-tier mirror-push || true; ls /etc/ssh/sshd_config.d/mirrorkit-push.conf 2>/dev/null; systemctl list-timers --all --no-legend 'mirrorkit-*' | grep . || true",
      );
      assert.equal(left.stdout.trim(), "", `${node.vm.name}: nothing of the kit left`);
      const data = await node.vm.ssh(`mount /dev/vdb /mnt && cat /mnt/${STAGED_FILE}; umount /mnt`);
      assert.equal(data.stdout, "unreleased\n");
    }
  });
});
