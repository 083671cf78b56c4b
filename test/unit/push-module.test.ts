// openSUSE-style push (guide 002): the upstream writes into a project's tree
// through a writable module of the node's push daemon. The rendered config is
// run by rsync's own daemon on loopback and pushed into by rsync's client:
// writes land as the daemon's account with permissions kept, deletions
// allowed, nothing readable, only with a password and only from the listed
// address; each push is recorded in the project's status.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { ConfigError, parseNodeConfig } from "../../components/config";
import { pushModules, renderPushReceivedScript, renderRsyncdConf, renderRsyncdSecrets, renderRsyncdUnit, rsyncdModels, type RsyncdModel } from "../../components/render/rsync";
import { PUSH_RECEIVED_SCRIPT } from "../../plan/paths";
import { freePort } from "../../vm/vm";
import { minimalRawConfig, nodeConfig } from "../lib/fixtures";
import { sh, tmpDir } from "../lib/tools";

const PASSWORD = "push-secret-0750";

describe("push daemon: config", () => {
  it("a project with push gets a write-only module per tree on the push daemon, in its tree only, with its hosts and users", () => {
    const node = nodeConfig({ projects: [{ preset: "archlinux", upstream: "rsync://t1.example.org", push: { hostsAllow: ["192.0.2.7"], users: [{ name: "arch-up", password: PASSWORD }] } }, { preset: "debian", upstream: "rsync://t1.example.org" }] });
    assert.deepEqual(pushModules(node).map((m) => [m.name, m.path, m.project, m.hostsAllow, m.authUsers]), [["archlinux-push", "/srv/mirror/archlinux", "archlinux", ["192.0.2.7"], ["arch-up"]]]);
    const push = rsyncdModels(node).find((m) => m.instance === "push")!;
    assert.equal(push.port, 8873);
    assert.equal(push.user, "mirror");
    const conf = renderRsyncdConf(push);
    for (const line of ["read only = no", "write only = yes", "list = no", "    hosts allow = 192.0.2.7", "    hosts deny = *", "    auth users = arch-up", `    post-xfer exec = ${PUSH_RECEIVED_SCRIPT} archlinux`]) {
      assert.ok(conf.split("\n").includes(line), `missing "${line}" in\n${conf}`);
    }
    assert.doesNotMatch(conf, /refuse options = delete/, "the pusher mirrors deletions too");
    // The public and private daemons stay read only.
    for (const m of rsyncdModels(node).filter((x) => x.instance !== "push")) assert.match(renderRsyncdConf(m), /^read only = yes$/m);
    // Its writable paths exist before its sandbox is set up (a new node has synced nothing yet), and the unit verifies.
    const unit = renderRsyncdUnit(push);
    assert.match(unit, /^ExecStartPre=\+\/usr\/bin\/install -d -o mirror -g mirror -m 0755 \/srv\/mirror\/archlinux \/var\/lib\/mirrorkit-sync\/status \/var\/lib\/mirrorkit-sync\/metrics$/m);
    assert.match(unit, /^ReadWritePaths=-\/srv\/mirror\/archlinux -\/var\/lib\/mirrorkit-sync\/status -\/var\/lib\/mirrorkit-sync\/metrics$/m);
    const file = path.join(tmpDir("push-unit"), push.unitName);
    fs.writeFileSync(file, unit);
    const verify = sh("systemd-analyze", ["verify", file]);
    assert.equal(verify.code, 0, verify.out);
  });

  const refused: [string, Record<string, unknown>, string, RegExp][] = [
    ["no upstream address", { hostsAllow: [], users: [{ name: "u", password: PASSWORD }] }, "mirrorkit:node.projects[0].push.hostsAllow", /never open to all/],
    ["an address list open to all", { hostsAllow: ["0.0.0.0/0"], users: [{ name: "u", password: PASSWORD }] }, "mirrorkit:node.projects[0].push.hostsAllow[0]", /lets everyone write/],
    ["no user", { hostsAllow: ["192.0.2.7"], users: [] }, "mirrorkit:node.projects[0].push.users", /always asks for a password/],
  ];
  for (const [title, push, at, message] of refused) {
    it(`refuses a push module with ${title}, naming ${at}`, () => {
      assert.throws(
        () => parseNodeConfig({ ...minimalRawConfig(), projects: [{ preset: "archlinux", upstream: "rsync://t1.example.org", push }] }),
        (e: unknown) => e instanceof ConfigError && e.problems.some((p) => p.path === at && message.test(p.message)),
      );
    });
  }
});

describe("push daemon, run by rsync on loopback", () => {
  let dir: string;
  let daemon: ChildProcess;
  let port: number;
  let model: RsyncdModel;
  let tree: string;
  const statusDir = () => path.join(dir, "status");

  before(async () => {
    dir = tmpDir("push-daemon");
    fs.chmodSync(dir, 0o755);
    const root = path.join(dir, "mirror");
    // The daemon's account is nobody here (the node's is the mirror account).
    const node = nodeConfig({
      mirrorRoot: root,
      accounts: { mirror: { user: "nobody", group: "nogroup" }, rsync: { user: "daemon", group: "daemon" } },
      projects: [{ preset: "archlinux", upstream: "rsync://t1.example.org", push: { hostsAllow: ["127.0.0.1"], users: [{ name: "arch-up", password: PASSWORD }] } }],
    });
    model = rsyncdModels(node).find((m) => m.instance === "push")!;
    tree = model.modules[0].path;
    fs.mkdirSync(tree, { recursive: true });
    fs.writeFileSync(path.join(tree, "old-file"), "from an earlier push\n");
    sh("chown", ["-R", "nobody:nogroup", root]);
    // The mirror account's, as on a node (the hook drops to it).
    for (const d of [statusDir(), path.join(dir, "metrics")]) {
      fs.mkdirSync(d, { recursive: true });
      sh("chown", ["nobody:nogroup", d]);
    }
    const hook = path.join(dir, "push-received");
    fs.writeFileSync(hook, renderPushReceivedScript(model, { statusDir: statusDir(), metricsDir: path.join(dir, "metrics") }), { mode: 0o755 });
    const secrets = path.join(dir, "secrets");
    fs.writeFileSync(secrets, renderRsyncdSecrets([{ name: "arch-up", password: PASSWORD }]), { mode: 0o600 });
    const conf = path.join(dir, "rsyncd.conf");
    // The host paths of the hook and secrets file, pointed at this scratch dir.
    fs.writeFileSync(conf, renderRsyncdConf(model).replace(PUSH_RECEIVED_SCRIPT, hook).replace(model.secretsPath, secrets));
    port = await freePort("127.0.0.1");
    daemon = spawn("rsync", ["--daemon", "--no-detach", `--config=${conf}`, "--address=127.0.0.1", `--port=${port}`, "-M", `pid file=${dir}/pid`, "-M", `lock file=${dir}/lock`, `--log-file=${dir}/log`], { stdio: "ignore" });
    for (let i = 0; i < 50 && sh("rsync", [`rsync://127.0.0.1:${port}/`]).code !== 0; i++) await new Promise((r) => setTimeout(r, 100));
  });
  after(() => {
    daemon?.kill();
  });

  /** The upstream's push: a tree with a staged (0750) release, mirrored with -p and --delete. */
  const push = (password: string, extra: string[] = []) => {
    const src = path.join(dir, "upstream");
    fs.mkdirSync(path.join(src, "core/os/x86_64"), { recursive: true });
    fs.writeFileSync(path.join(src, "core/os/x86_64/core.db"), "db\n");
    fs.mkdirSync(path.join(src, "staged"), { recursive: true });
    fs.writeFileSync(path.join(src, "staged/next.pkg"), "unreleased\n");
    fs.chmodSync(path.join(src, "staged"), 0o750);
    fs.writeFileSync(path.join(src, "lastupdate"), "1795500000\n");
    return sh("env", [`RSYNC_PASSWORD=${password}`, "rsync", "-rtlp", "--delete", "--delay-updates", ...extra, `${src}/`, `rsync://arch-up@127.0.0.1:${port}/archlinux-push/`]);
  };

  it("a push with the password writes the tree as the daemon's account, keeps permissions, mirrors deletions and is recorded in the project's status", async () => {
    const r = push(PASSWORD);
    assert.equal(r.code, 0, r.out);
    const st = (rel: string) => sh("stat", ["-c", "%a %U:%G", path.join(tree, rel)]).out.trim();
    assert.equal(st("core/os/x86_64/core.db"), "644 nobody:nogroup");
    assert.equal(st("staged"), "750 nobody:nogroup", "-p kept the staged directory closed");
    assert.ok(!fs.existsSync(path.join(tree, "old-file")), "the pusher's deletion was applied");
    // The daemon runs its post-xfer hook once the transfer has ended, after the client may have returned.
    const file = path.join(statusDir(), "push", "archlinux-push.json");
    for (let i = 0; i < 50 && !fs.existsSync(file); i++) await new Promise((res) => setTimeout(res, 100));
    const status = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
    // Written as the mirror account (here nobody): the daemon runs the hook as root, with too few capabilities to write there on a node.
    assert.equal(sh("stat", ["-c", "%U", file]).out.trim(), "nobody");
    assert.deepEqual([status.module, status.project, status.result, status.from, status.user], ["archlinux-push", "archlinux", "success", "127.0.0.1", "arch-up"]);
    assert.ok((status.lastSuccess as number) > 1_700_000_000);
    assert.match(fs.readFileSync(path.join(dir, "metrics", "push-archlinux-push.prom"), "utf8"), /^mirrorkit_push_success\{module="archlinux-push",project="archlinux"\} 1$/m);
  });

  it("a wrong password is refused and nothing is written", () => {
    fs.writeFileSync(path.join(dir, "upstream", "lastupdate"), "1795599999\n");
    const r = push("not-the-password");
    assert.notEqual(r.code, 0);
    assert.match(r.out, /auth failed/);
    assert.equal(fs.readFileSync(path.join(tree, "lastupdate"), "utf8"), "1795500000\n");
  });

  it("nothing can be read through it: listing and fetching are refused", () => {
    const r = sh("env", [`RSYNC_PASSWORD=${PASSWORD}`, "rsync", `rsync://arch-up@127.0.0.1:${port}/archlinux-push/lastupdate`, path.join(dir, "fetched")]);
    assert.notEqual(r.code, 0, r.out);
    assert.ok(!fs.existsSync(path.join(dir, "fetched")));
    assert.doesNotMatch(sh("rsync", [`rsync://127.0.0.1:${port}/`]).out, /archlinux-push/, "not listed");
  });

  it("an address not in its list is refused", () => {
    // The same daemon reached from another loopback address.
    const r = sh("env", [`RSYNC_PASSWORD=${PASSWORD}`, "rsync", "--address=127.0.0.2", "-r", `${path.join(dir, "upstream")}/`, `rsync://arch-up@127.0.0.1:${port}/archlinux-push/`]);
    assert.notEqual(r.code, 0);
    assert.match(r.out, /access denied|@ERROR/);
  });
});
