// The complete node through the real CLI on a VM: a data volume, the three
// identities, nginx, the public rsync daemon, the private tier module, a sync
// started by its timer from a local tier-0 fixture, and a scheduled bitflip.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { spawn } from "node:child_process";
import { bootNode, changeSummary, forcedLogRotation, vmHost, waitFor, writeStackFile, type E2eNode } from "../lib/e2e";
import { PROJECT_DIR, pulumi } from "../../scripts/lib/pulumi";
import { startUpstream, type Upstream } from "../lib/upstream";
import { startPrometheus } from "../lib/prometheus";
import { startPebble, type Pebble } from "../lib/pebble";
import { freePort } from "../../vm/vm";
import { keepaliveReuse, perAddressLimit, rsyncClient, rsyncListedPaths } from "../../scripts/lib/probes";
import { sh, tmpDir } from "../lib/tools";

const MINUTES = 60_000;
const TIER_PASSWORD = "tier2-secret-pass";
const STAGED = "fedora/releases/42/Everything/x86_64/os/STAGED-SECRET";
const ACME_NAMES = ["mirror.test", "www.mirror.test"];

describe("complete node on a VM (real pulumi up)", { timeout: 40 * MINUTES }, () => {
  let node: E2eNode;
  let upstream: Upstream;
  let pebble: Pebble;
  let flipAt = "";
  let config: (vmHostCfg: Record<string, unknown>) => Record<string, unknown>;

  before(async () => {
    upstream = await startUpstream("fedora");
    // pebble, the test CA, validates http-01 on the node's port 80 as this
    // machine sees it (a fixed forward); the node reaches pebble at 10.0.2.101.
    const http = await freePort("127.0.0.1");
    pebble = await startPebble({ httpPort: http, nodeAddress: "127.0.0.1", directoryHost: "10.0.2.101", directoryPort: 14000 });
    config = (host) => ({
      name: "full",
      tier: 1,
      host,
      diskNeedGiB: 100,
      volumes: [{ name: "data", device: "/dev/vdb", fsType: "ext4", mountPoint: "/srv/mirror" }],
      rsync: {
        modules: [{ name: "fedora", path: "fedora", comment: "Fedora" }],
        private: {
          port: 874,
          modules: [{ name: "fedora-tier", path: "fedora", comment: "pre-release" }],
          // Slirp presents every client of the forwarded ports as 10.0.2.2.
          hostsAllow: ["10.0.2.2"],
          users: [{ name: "tier2", password: TIER_PASSWORD }],
        },
      },
      sync: [
        {
          name: "fedora",
          upstream: "rsync://10.0.2.100/fedora/",
          path: "fedora",
          schedule: "*:*:0/15",
          randomizedDelaySeconds: 0,
          checkFile: "lastupdate",
          excludes: ["*.tmp"],
        },
      ],
      bitflips: flipAt ? [{ name: "f42", paths: ["fedora/releases/42"], at: flipAt }] : [],
      monitoring: { nodeExporter: { listen: ":9100" } },
      web: { acme: { contact: "ops@mirror.test", names: ACME_NAMES, directoryUrl: pebble.directoryUrl, directoryCaCertificate: pebble.directoryCa } },
    });
    node = await bootNode("full", (vm) => config(vmHost(vm)), {
      forwards: { 80: http, 443: 0, 873: 0, 874: 0, 9100: 0 },
      guestForwards: { "10.0.2.100:873": `127.0.0.1:${upstream.port}`, "10.0.2.101:14000": `127.0.0.1:${pebble.port}` },
    });
  });
  after(async () => {
    await node?.cleanup();
    await upstream?.stop();
    pebble?.stop();
  });

  /** The certificate the node serves on HTTPS, as `openssl x509` prints it (serial, dates, names), and the body of `urlPath` fetched by a client that trusts only pebble's root. */
  async function httpsView(urlPath: string): Promise<{ cert: string; body: string; verified: boolean }> {
    const dir = tmpDir("acme-client");
    const root = path.join(dir, "root.pem");
    fs.writeFileSync(root, await pebble.issuingRoot());
    const port = node.vm.ports[443];
    const cert = sh("sh", ["-c", `openssl s_client -connect 127.0.0.1:${port} -servername ${ACME_NAMES[0]} </dev/null 2>/dev/null | openssl x509 -noout -serial -enddate -issuer -ext subjectAltName`]).out;
    const get = sh("curl", ["-sS", "--max-time", "30", "--cacert", root, "--resolve", `${ACME_NAMES[0]}:${port}:127.0.0.1`, `https://${ACME_NAMES[0]}:${port}${urlPath}`]);
    return { cert, body: get.out, verified: get.code === 0 };
  }

  it("pulumi up brings the whole node up", async () => {
    const up = await node.up();
    assert.equal(up.code, 0, up.stdout + up.stderr);
    assert.match(up.stdout + up.stderr, /has \d+ GiB; the mirrored distro needs about 100 GiB/, "size warning shown");
    const units = await node.vm.ssh(
      "systemctl is-active mirrorkit-web.service mirrorkit-rsyncd-public.service mirrorkit-rsyncd-private.service mirrorkit-sync-fedora.timer srv-mirror.mount mirrorkit-acme.timer mirrorkit-acme-start.timer",
    );
    assert.deepEqual(units.stdout.trim().split("\n"), Array(7).fill("active"));
    const fs = await node.vm.ssh("findmnt -n -o SOURCE,FSTYPE /srv/mirror");
    assert.match(fs.stdout, /\/dev\/vdb\s+ext4/);
  });

  it("the web server's logs rotate (logrotate forced) and nginx writes the next request to the new file; time sync is on", async () => {
    const rotation = await forcedLogRotation(node, node.url(80, ""));
    assert.ok(rotation.rotated && rotation.newLogHasRequest, rotation.detail);
    const ntp = await node.vm.ssh("systemctl is-enabled systemd-timesyncd.service; systemctl is-active systemd-timesyncd.service");
    assert.deepEqual(ntp.stdout.trim().split("\n"), ["enabled", "active"]);
  });

  it("a tier-2 stack takes host, private module and credentials from this tier 1 by StackReference", async () => {
    const t2 = "e2e-full-t2";
    await writeStackFile(t2, {
      name: "full-t2",
      tier: 2,
      // Preview only: TEST-NET-1 is never contacted.
      host: { address: "192.0.2.10", privateKey: "unused" },
      distro: { preset: "fedora" },
      upstreamStack: { name: `organization/mirrorkit/${node.stack}`, user: "tier2" },
    });
    try {
      await pulumi(["stack", "init", t2], { check: false });
      const r = await pulumi(["preview", "--stack", t2, "--json"], { check: false });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.doesNotMatch(r.stdout, /placeholder upstream/);
      const steps = (JSON.parse(r.stdout) as { steps: { urn: string; newState?: { inputs?: Record<string, any> } }[] }).steps;
      const args = steps.find((s) => s.urn.endsWith("mirrorkit:node:MirrorNode::full-t2"))?.newState?.inputs;
      assert.ok(args, "MirrorNode step in the preview");
      assert.equal(args.sync[0].upstream, "rsync://127.0.0.1:874/fedora-tier/", "tier 1's private daemon and module");
      assert.equal(args.sync[0].user, "tier2");
      assert.equal(args.sync[0].password, "[secret]", "a password arrived (redacted in args)");
    } finally {
      await pulumi(["stack", "rm", t2, "--yes", "--force"], { check: false });
    }
  });

  it("the timer starts the sync, which mirrors the tree with staged permissions intact", async () => {
    const ok = await waitFor("the timer-started sync", 180, async () => {
      const r = await node.vm.ssh("test -f /var/lib/mirrorkit-sync/fedora/last-success && echo yes", { allowFailure: true });
      return r.stdout.includes("yes") ? true : undefined;
    });
    assert.ok(ok);
    // last-success is written inside the run; systemd logs the unit's end
    // only after its ExecStopPost status step, a moment later.
    const journal = await waitFor("systemd's record of the run's end", 60, async () => {
      const r = await node.vm.ssh("journalctl -u mirrorkit-sync-fedora.service --no-pager -o cat");
      return /Finished mirrorkit-sync-fedora.service|Started mirrorkit-sync-fedora.service/.test(r.stdout) ? r.stdout : undefined;
    });
    assert.match(journal, /sync complete/);
    assert.doesNotMatch(journal, /Failed to start mirrorkit-sync-fedora.service|mirrorkit-sync-fedora.service: Failed/);
    const perms = await node.vm.ssh("stat -c '%a %U:%G' /srv/mirror/fedora/releases/41 /srv/mirror/fedora/releases/42 /srv/mirror/" + STAGED);
    assert.deepEqual(perms.stdout.trim().split("\n"), ["755 mirror:mirror", "750 mirror:mirror", "644 mirror:mirror"]);
    const runAs = await node.vm.ssh("systemctl show -p User,Nice mirrorkit-sync-fedora.service");
    assert.match(runAs.stdout, /User=mirror/);
    assert.match(runAs.stdout, /Nice=10/);
  });

  it("ACME: pebble issues the certificate by http-01 through the node's nginx; HTTPS serves it to a client that trusts pebble's root; the metrics say so", async () => {
    // The start timer runs the renewal seconds after up; lego on this VM takes a while.
    const metrics = await waitFor("the first issuance", 300, async () => {
      const r = await node.vm.ssh("cat /var/lib/mirrorkit-sync/metrics/mirrorkit-acme.prom 2>/dev/null", { allowFailure: true });
      return /^mirrorkit_acme_success\{name="mirror.test"\} 1$/m.test(r.stdout) ? r.stdout : undefined;
    });
    assert.match(metrics, /^mirrorkit_tls_certificate_placeholder\{name="mirror.test"\} 0$/m);
    assert.match(metrics, /^mirrorkit_tls_certificate_names_match\{name="mirror.test"\} 1$/m);
    const view = await httpsView("/fedora/releases/41/README");
    assert.ok(view.verified, view.body);
    assert.equal(view.body, "Fedora 41 is released\n");
    assert.match(view.cert, /DNS:mirror\.test, DNS:www\.mirror\.test/);
    assert.match(view.cert, /issuer=.*Pebble Intermediate/i);
    // npm run doctor judges it as an operator would: chain, name, days left.
    const root = path.join(tmpDir("acme-doctor"), "root.pem");
    fs.writeFileSync(root, await pebble.issuingRoot());
    const doctor = (...extra: string[]) =>
      sh(process.execPath, ["--import", "tsx", path.join(PROJECT_DIR, "scripts", "doctor.ts"), "--url", node.url(80, ""), "--https", `https://127.0.0.1:${node.vm.ports[443]}`, "--name", ACME_NAMES[1], "--ca", root, ...extra]);
    const healthy = doctor();
    assert.equal(healthy.code, 0, healthy.out);
    assert.match(healthy.out, /the certificate is valid for www\.mirror\.test/);
    // pebble's certificates last five years: asking for ten fails the days-left probe.
    const tooShort = doctor("--cert-min-days", "3650");
    assert.equal(tooShort.code, 1, tooShort.out);
    assert.match(tooShort.out, /FAIL\s+https: the certificate has at least 3650 days left/);
    // The key is the web server's group's to read, no one else's.
    const key = await node.vm.ssh("stat -c '%a %U:%G' /etc/mirrorkit/tls/privkey.pem");
    assert.equal(key.stdout.trim(), "640 root:mirror-http");
    // Plain HTTP still serves (apt and mirror checkers build http:// URLs).
    assert.equal((await fetch(node.url(80, "/fedora/releases/41/README"))).status, 200);
  });

  it("ACME: a forced renewal is installed and the server reloaded without dropping a download in flight", async () => {
    const before = await httpsView("/");
    const port = node.vm.ports[443];
    const dir = tmpDir("acme-download");
    const root = path.join(dir, "root.pem");
    fs.writeFileSync(root, await pebble.issuingRoot());
    // A slow download over HTTPS (4 MiB at 50 kB/s: over a minute) that spans the renewal and the reload.
    const ISO = "fedora/releases/41/Everything/x86_64/iso/Fedora-41-netinst.iso";
    const download = spawn("curl", ["-fsS", "--limit-rate", "50k", "--max-time", "300", "--cacert", root, "--resolve", `${ACME_NAMES[0]}:${port}:127.0.0.1`, "-o", path.join(dir, "big.iso"), "-w", "%{http_code} %{size_download}", `https://${ACME_NAMES[0]}:${port}/${ISO}`]);
    let out = "";
    download.stdout.on("data", (d: Buffer) => (out += d.toString()));
    const done = new Promise<number>((resolve) => download.on("exit", (code) => resolve(code ?? -1)));
    const renew = await node.vm.ssh("/usr/local/lib/mirrorkit/acme-renew --force 2>&1");
    assert.match(renew.stdout, /new certificate for mirror\.test www\.mirror\.test installed and the web server reloaded/);
    assert.equal(download.exitCode, null, "the download was still in flight when the server reloaded");
    const after = await httpsView("/");
    assert.ok(after.verified);
    assert.notEqual(after.cert.match(/serial=\S+/)?.[0], before.cert.match(/serial=\S+/)?.[0], "the new certificate is served");
    assert.equal(await done, 0, out);
    const size = (await node.vm.ssh(`stat -c %s /srv/mirror/${ISO}`)).stdout.trim();
    assert.equal(out, `200 ${size}`, "the download finished whole");
  });

  it("a real Prometheus scrapes the node's node_exporter: the sync's metrics, the data volume, no unreadable file, and the kit's rules load with no alert firing", async () => {
    const prometheus = await startPrometheus([`${node.vm.address}:${node.vm.ports[9100]}`]);
    try {
      const synced = await prometheus.waitFor('mirrorkit_sync_success{module="fedora",project="fedora"} == 1');
      assert.equal(synced.length, 1, "the sync's success metric, through node_exporter's textfile collector");
      const stale = await prometheus.query('mirrorkit_sync_stale_after_seconds{module="fedora",project="fedora"}');
      assert.equal(stale[0]?.value[1], "7200", "tier 1: stale after 2 h");
      const volume = await prometheus.query('mirrorkit_data_volume_info{mountpoint="/srv/mirror"}');
      assert.equal(volume.length, 1);
      // The join the volume alert makes finds the data volume's filesystem.
      const free = await prometheus.query("(node_filesystem_avail_bytes / node_filesystem_size_bytes) * on (instance, mountpoint) group_left (volume) mirrorkit_data_volume_info");
      assert.equal(free.length, 1, JSON.stringify(free));
      assert.deepEqual(await prometheus.query("node_textfile_scrape_error == 1"), []);
      const rules = (await (await fetch(`${prometheus.url}/api/v1/rules`)).json()) as { data: { groups: { rules: { name: string; health: string }[] }[] } };
      const loaded = rules.data.groups.flatMap((g) => g.rules);
      assert.deepEqual(loaded.map((r) => r.name).sort(), ["MirrorkitAcmeFailing", "MirrorkitCertificateExpiring", "MirrorkitMetricsUnreadable", "MirrorkitSyncFailing", "MirrorkitSyncStale", "MirrorkitVolumeNearlyFull"]);
      // The served certificate, issued by pebble, is weeks from expiry.
      const left = await prometheus.query('mirrorkit_tls_certificate_expiry_timestamp_seconds{name="mirror.test"} - time()');
      assert.ok(Number(left[0]?.value[1]) > 14 * 86400, JSON.stringify(left));
      assert.deepEqual(await prometheus.query("ALERTS"), [], "nothing fires on a healthy node");
    } finally {
      prometheus.stop();
    }
  });

  it("an unchanged upstream lastupdate skips the rsync", async () => {
    const before = (await node.vm.ssh("journalctl -u mirrorkit-sync-fedora.service --no-pager -o cat | grep -c 'no sync needed' || true")).stdout.trim();
    await waitFor("a skipped run", 90, async () => {
      const now = (await node.vm.ssh("journalctl -u mirrorkit-sync-fedora.service --no-pager -o cat | grep -c 'no sync needed' || true")).stdout.trim();
      return Number(now) > Number(before) ? true : undefined;
    });
  });

  it("serves released content over HTTP and hides staged content", async () => {
    const readme = await fetch(node.url(80, "/fedora/releases/41/README"));
    assert.equal(readme.status, 200);
    assert.equal(await readme.text(), "Fedora 41 is released\n");
    assert.equal((await fetch(node.url(80, `/${STAGED}`))).status, 403);
    assert.equal((await fetch(node.url(80, "/fedora/releases/42/"))).status, 403);
  });

  it("public rsync lists released modules and cannot see staged content", () => {
    const url = `rsync://${node.vm.address}:${node.vm.ports[873]}`;
    const modules = rsyncClient([`${url}/`]);
    assert.equal(modules.code, 0, modules.out);
    assert.match(modules.out, /^fedora\s+Fedora$/m);
    assert.doesNotMatch(modules.out, /fedora-tier/, "the private module is not listed publicly");
    const listing = rsyncClient(["-r", `${url}/fedora/releases/`]);
    assert.equal(listing.code, 0, listing.out);
    const paths = rsyncListedPaths(listing.out);
    assert.ok(paths.includes("41/README"), listing.out);
    assert.deepEqual(paths.filter((p) => p.split("/")[0] === "42"), [], "ignore nonreadable hides the staged tree");
    const fetchStaged = rsyncClient([`${url}/${STAGED}`, tmpDir("pub")]);
    assert.notEqual(fetchStaged.code, 0);
  });

  it("the private module serves staged content only with the right credentials", () => {
    const base = `rsync://tier2@${node.vm.address}:${node.vm.ports[874]}`;
    const anonymousList = rsyncClient([`rsync://${node.vm.address}:${node.vm.ports[874]}/`]);
    assert.doesNotMatch(anonymousList.out, /fedora-tier/, "list = no");
    const wrong = rsyncClient([`${base}/fedora-tier/releases/42/`], { password: "not-the-password" });
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.out, /auth failed/);
    const dest = tmpDir("tier");
    const right = rsyncClient(["-rtp", `${base}/fedora-tier/releases/42/`, dest], { password: TIER_PASSWORD });
    assert.equal(right.code, 0, right.out);
    assert.equal(fs.readFileSync(path.join(dest, "Everything/x86_64/os/STAGED-SECRET"), "utf8"), "unreleased\n");
  });

  it("the scheduled bitflip opens the staged release at its time", async () => {
    // Scheduled on the VM's clock, a minute ahead, and added by an `up` of its own.
    const vmNow = Number((await node.vm.ssh("date -u +%s")).stdout.trim());
    flipAt = new Date((vmNow + 60) * 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
    await writeStackFile(node.stack, config(vmHost(node.vm)));
    const up = await node.up();
    assert.equal(up.code, 0, up.stdout + up.stderr);
    assert.equal((await node.vm.ssh("systemctl is-active mirrorkit-bitflip-f42.timer")).stdout.trim(), "active");
    assert.equal((await node.vm.ssh("stat -c %a /srv/mirror/fedora/releases/42")).stdout.trim(), "750", "not before its time");
    await waitFor(`the bitflip at ${flipAt}`, 360, async () => {
      const r = await node.vm.ssh("stat -c %a /srv/mirror/fedora/releases/42");
      return r.stdout.trim() === "755" ? true : undefined;
    });
    const res = await fetch(node.url(80, `/${STAGED}`));
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "unreleased\n");
  });

  it("the nginx node: keepalive reuses, and the connection past the per-address ISO limit is refused", async () => {
    await node.vm.ssh("runuser -u mirror -- truncate -s 512M /srv/mirror/fedora/releases/41/big.iso");
    const ka = await keepaliveReuse(node.vm.address, node.vm.ports[80], ["/fedora/releases/41/README", "/fedora/lastupdate"]);
    assert.deepEqual(ka.statuses, [200, 200]);
    // HTTP/1.1 connections persist unless the server says "close" (Apache sends no Connection header then).
    assert.doesNotMatch(ka.connection, /close/i);
    const probe = await perAddressLimit(node.url(80, "/fedora/releases/41/big.iso"), 6);
    assert.deepEqual(probe.held, [200, 200, 200, 200, 200, 200]);
    assert.equal(probe.extra, 429);
    assert.equal((await fetch(node.url(80, "/fedora/releases/41/README"))).status, 200, "other files are not limited");
  });

  it("a second pulumi up changes nothing", async () => {
    const again = await node.up(["--expect-no-changes"]);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.deepEqual(changeSummary(again.stdout), {});
  });

  it("npm run drift: none after up; hand edits, a stopped daemon and a stray file are named (exit 1); put back, none again", async () => {
    const drift = () => sh(process.execPath, ["--import", "tsx", path.join(PROJECT_DIR, "scripts", "drift.ts"), "--stack", node.stack]);
    const clean = drift();
    assert.equal(clean.code, 0, clean.out);
    assert.match(clean.out, /^no drift: \d+ files and \d+ units/m);
    const conf = "/etc/mirrorkit/nginx/nginx.conf";
    await node.vm.ssh(
      `cp -p ${conf} /root/drift.bak && echo '# hand edit' >> ${conf} && chmod 0666 /etc/mirrorkit/rsyncd-public.conf` +
        " && cp -p /etc/mirrorkit/rsyncd-private.secrets /root/secrets.bak && echo 'tier2:wrong' > /etc/mirrorkit/rsyncd-private.secrets" +
        " && systemctl stop mirrorkit-rsyncd-public.service && echo x > /etc/mirrorkit/stray.conf",
    );
    try {
      const drifted = drift();
      assert.equal(drifted.code, 1, drifted.out);
      for (const line of [
        `${conf}: content differs`,
        "-# hand edit",
        "/etc/mirrorkit/rsyncd-public.conf: mode 0666, planned 0644",
        "/etc/mirrorkit/rsyncd-private.secrets: content differs (a secret file: not shown)",
        "mirrorkit-rsyncd-public.service: unit is inactive, planned active",
        "/etc/mirrorkit/stray.conf: on the host, not in the plan",
      ]) {
        assert.ok(drifted.out.includes(line), `${line}\n---\n${drifted.out}`);
      }
      assert.doesNotMatch(drifted.out, new RegExp(TIER_PASSWORD), "a secret is never printed");
    } finally {
      await node.vm.ssh(
        `cp -p /root/drift.bak ${conf} && cp -p /root/secrets.bak /etc/mirrorkit/rsyncd-private.secrets && chmod 0644 /etc/mirrorkit/rsyncd-public.conf` +
          " && rm -f /etc/mirrorkit/stray.conf && systemctl start mirrorkit-rsyncd-public.service",
      );
    }
    const back = drift();
    assert.equal(back.code, 0, back.out);
  });

  it("secrets stay encrypted in the state and out of the command output", async () => {
    const key = fs.readFileSync(node.vm.privateKeyPath, "utf8");
    const keyBody = key.split("\n")[1];
    const state = await pulumi(["stack", "export", "--stack", node.stack]);
    assert.match(state.stdout, /"ciphertext"/, "the state has encrypted values");
    assert.ok(!state.stdout.includes(TIER_PASSWORD), "the tier password is not in the state in plain text");
    assert.ok(!state.stdout.includes(keyBody), "the SSH key is not in the state in plain text");
    // The provider keeps every command's stdout and stderr unencrypted and
    // shows them live: no command of the kit prints a secret.
    const outputs = JSON.parse(state.stdout).deployment.resources
      .filter((r: { type: string }) => r.type === "command:remote:Command")
      .map((r: { outputs: { stdout?: unknown; stderr?: unknown } }) => JSON.stringify([r.outputs.stdout, r.outputs.stderr]))
      .join("\n");
    assert.ok(!outputs.includes(TIER_PASSWORD));
  });

  it("a new SSH key and a new address for the same host re-run commands but restart nothing", async () => {
    // What must not move: the data mount and every daemon's process.
    const probe = "systemctl show -p ActiveEnterTimestampMonotonic,MainPID srv-mirror.mount mirrorkit-web.service mirrorkit-rsyncd-public.service mirrorkit-rsyncd-private.service mirrorkit-sync-fedora.timer";
    const before = (await node.vm.ssh(probe)).stdout;
    const dir = tmpDir("rotated-key");
    const newKey = path.join(dir, "id_ed25519");
    assert.equal(sh("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", newKey]).code, 0);
    await node.vm.ssh(`cat >> /root/.ssh/authorized_keys`, { input: fs.readFileSync(`${newKey}.pub`, "utf8") });
    const rotated = { ...vmHost(node.vm), privateKeyPath: newKey, address: node.vm.address === "127.0.0.1" ? "localhost" : node.vm.address };
    await writeStackFile(node.stack, config(rotated));
    try {
      const preview = await node.preview(["--diff"]);
      assert.equal(preview.code, 0, preview.stdout + preview.stderr);
      assert.match(preview.stdout, /~ connection|connection\s*:/, "the connection is the change");
      const up = await node.up();
      assert.equal(up.code, 0, up.stdout + up.stderr);
      assert.ok((changeSummary(up.stdout).updated ?? 0) > 0, "the remote resources were updated for the new connection");
      assert.equal((await node.vm.ssh(probe)).stdout, before, "no mount or daemon was restarted");
      const again = await node.up(["--expect-no-changes"]);
      assert.equal(again.code, 0, again.stdout + again.stderr);
    } finally {
      // Back to the harness's connection for the tests that follow.
      await writeStackFile(node.stack, config(vmHost(node.vm)));
      const back = await node.up();
      assert.equal(back.code, 0, back.stdout + back.stderr);
      assert.equal((await node.vm.ssh(probe)).stdout, before, "nor on the way back");
    }
  });

  it("a config that fails validation on the host leaves the working config in place", async () => {
    // An OnCalendar expression zod accepts but systemd rejects: the timer's
    // staged file fails systemd-analyze verify and is never moved into place.
    const before = (await node.vm.ssh("cat /etc/systemd/system/mirrorkit-sync-fedora.timer")).stdout;
    const broken = config(vmHost(node.vm));
    (broken.sync as Record<string, unknown>[])[0].schedule = "not-a-calendar";
    await writeStackFile(node.stack, broken);
    const up = await node.up();
    assert.notEqual(up.code, 0);
    assert.match(up.stdout + up.stderr, /validation failed for \/etc\/systemd\/system\/mirrorkit-sync-fedora.timer/);
    const after = (await node.vm.ssh("cat /etc/systemd/system/mirrorkit-sync-fedora.timer")).stdout;
    assert.equal(after, before);
    assert.equal((await node.vm.ssh("systemctl is-active mirrorkit-sync-fedora.timer")).stdout.trim(), "active");
    await writeStackFile(node.stack, config(vmHost(node.vm)));
  });

  it("pulumi destroy removes services, timers and users, and keeps the data", async () => {
    const destroy = await node.destroy();
    assert.equal(destroy.code, 0, destroy.stdout + destroy.stderr);
    // Every unit the kit installed (and its enable links) is gone; the test
    // VM's own mirrorkit-firstboot unit is not the kit's.
    const units = await node.vm.ssh(
      "find /etc/systemd/system \\( -name 'mirrorkit-*' -o -name 'srv-mirror.mount' \\) ! -name 'mirrorkit-firstboot*'; getent passwd mirror mirror-http mirror-tier || true",
    );
    assert.equal(units.stdout.trim(), "");
    assert.equal((await node.vm.ssh("systemctl is-active srv-mirror.mount", { allowFailure: true })).stdout.trim(), "inactive");
    const data = await node.vm.ssh("mount /dev/vdb /mnt && cat /mnt/fedora/releases/41/README; umount /mnt");
    assert.equal(data.stdout, "Fedora 41 is released\n");
  });
});
