// One describe per plan module (plan/*.ts): what each part of a node holds,
// with the tool that checks each file on the host.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { bitflipModel } from "../../components/render/bitflip";
import { pushModel } from "../../components/render/push";
import { rsyncdModels } from "../../components/render/rsync";
import { syncModel } from "../../components/render/sync";
import { KIT_TEMPLATES } from "../../components/render/templates";
import { planBitflip } from "../../plan/bitflip";
import { SECRET_PLACEHOLDER, unitFile } from "../../plan/files";
import * as paths from "../../plan/paths";
import { planPushTrigger } from "../../plan/push";
import { planRsyncDaemon } from "../../plan/rsyncd";
import { planSyncJob } from "../../plan/sync";
import { planVolume } from "../../plan/volume";
import { planWebServer } from "../../plan/web";
import { PROJECT_DIR } from "../../scripts/lib/pulumi";
import { nodeConfig } from "../lib/fixtures";
import { planNode } from "../../plan/node";
import { exposure, sh, tmpDir } from "../lib/tools";

const t = KIT_TEMPLATES;
const PUSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKc0Yh9o0v6sCkq3YdW0Xq4l1n7c2f1JxVbq0rS5mPpE upstream";
const webInput = (server: "nginx" | "apache") => {
  const n = nodeConfig({ web: { server }, volumes: [{ name: "d", device: "/dev/vdb", mountPoint: "/srv/mirror" }] });
  return { web: n.web, accounts: n.accounts, mirrorRoot: n.mirrorRoot, serverName: "m.example.org", volumes: n.volumes };
};

describe("plan/web.ts", () => {
  it("nginx: the listing filter (checked by njs) before the config (checked by nginx -t after its run dirs exist); the unit reloads and masks the stock units", () => {
    const p = planWebServer(webInput("nginx"), t);
    assert.deepEqual(p.support.map((f) => [f.key, f.path]), [["listing-filter", paths.NGINX_LISTING_FILTER]]);
    assert.equal(p.config.path, paths.WEB_CONFIG.nginx);
    assert.match(p.config.check ?? "", /^install -d -m 0755 \/run\/mirrorkit-web \/var\/log\/mirrorkit-web && nginx -t /);
    assert.deepEqual([p.unit.unitName, p.unit.activation, p.unit.onConfigChange, p.unit.masks], [paths.WEB_UNIT, "start", "reload", ["nginx.service", "apache2.service"]]);
    assert.match(p.unit.content, /^WantedBy=multi-user\.target srv-mirror\.mount$/m);
  });
  it("apache: no support files; apache2 -t checks the config, which names the server", () => {
    const p = planWebServer(webInput("apache"), t);
    assert.deepEqual(p.support, []);
    assert.equal(p.config.key, "apache-conf");
    assert.match(p.config.check ?? "", /apache2 -t -f "\$STAGED"$/);
    assert.match(p.config.content, /^ServerName m\.example\.org$/m);
  });
});

describe("plan/web.ts: log rotation", () => {
  for (const server of ["nginx", "apache"] as const) {
    it(`${server}: the logs under /var/log/mirrorkit-web rotated as configured, the server reloaded after; logrotate -d passes it and refuses a broken one`, () => {
      const input = webInput(server);
      // logrotate -d resolves the su account: one this machine has.
      const accounts = { ...input.accounts, http: { user: "nobody", group: "nogroup" } };
      const p = planWebServer({ ...input, accounts, web: { ...input.web, logRotation: { period: "weekly", keep: 8 } } }, t);
      const [rotation] = p.hostFiles;
      assert.deepEqual([rotation.key, rotation.path, rotation.mode, rotation.owner], ["logrotate", paths.LOGROTATE_CONF, "0644", "root"]);
      assert.match(rotation.content, /^\/var\/log\/mirrorkit-web\/\*\.log \{$/m);
      assert.match(rotation.content, /^\s+weekly$/m);
      assert.match(rotation.content, /^\s+rotate 8$/m);
      assert.match(rotation.content, /systemctl reload mirrorkit-web\.service/);
      assert.match(rotation.content, /^\s+su nobody nogroup$/m, "rotated as the account that owns the directory");
      const dir = tmpDir(`logrotate-${server}`);
      const check = (text: string) => {
        const staged = path.join(dir, "mirrorkit");
        fs.writeFileSync(staged, text);
        fs.chmodSync(staged, 0o644);
        return sh("sh", ["-c", `STAGED=${staged}\n${rotation.check}`]);
      };
      const ok = check(rotation.content);
      assert.equal(ok.code, 0, ok.out);
      const broken = check(rotation.content.replace(/^\s+rotate 8$/m, "    rotate eight"));
      assert.notEqual(broken.code, 0, broken.out);
    });
  }
});

describe("plan/rsyncd.ts", () => {
  const node = nodeConfig({
    rsync: { modules: [{ name: "pub", path: "pub" }], private: { modules: [{ name: "tier", path: "pub" }], hostsAllow: ["10.0.0.0/8"], users: [{ name: "t2", password: "tier-secret" }] } },
  });
  const [pub, priv] = rsyncdModels(node).map((m) => planRsyncDaemon(m, t));
  it("public: a config checked by a throwaway daemon, no secrets file, the stock rsync unit masked", () => {
    assert.equal(pub.secrets, undefined);
    assert.equal(pub.config.path, paths.rsyncdConfigPath("public"));
    assert.match(pub.config.check ?? "", /rsync --daemon --no-detach --config="\$STAGED"/);
    assert.deepEqual(pub.unit.masks, ["rsync.service"]);
  });
  it("private: a secrets file for root alone (0600), a placeholder in the plan; restart on a config change", () => {
    assert.ok(priv.secrets);
    assert.deepEqual([priv.secrets.path, priv.secrets.mode, priv.secrets.owner, priv.secrets.secret, priv.secrets.content], [paths.RSYNCD_PRIVATE_SECRETS, "0600", "root", true, SECRET_PLACEHOLDER]);
    assert.equal(priv.unit.onConfigChange, "restart");
    assert.equal(priv.unit.unitName, paths.rsyncdUnit("private"));
  });
});

describe("plan/sync.ts", () => {
  const node = nodeConfig({ sync: [{ name: "f", upstream: "rsync://up.example.org/f/", path: "f", password: "s3", user: "mirror" }] });
  const model = syncModel(node, node.sync[0]);
  it("a script checked by sh -n that writes its excludes, a password file the mirror account alone reads, the service started by its timer", () => {
    const p = planSyncJob(model, undefined, t);
    assert.deepEqual([p.script.path, p.script.mode, p.script.check], [paths.syncPaths("f").scriptPath, "0755", 'sh -n "$STAGED"']);
    assert.match(p.script.content, /^printf '%s\\n' '\.~tmp~\/' .* > "\$EXCLUDES"$/m);
    assert.ok(p.password);
    assert.deepEqual([p.password.mode, p.password.owner, p.password.secret], ["0600", node.accounts.mirror.user, true]);
    assert.deepEqual([p.service.activation, p.timer.activation], ["install", "start"]);
    assert.deepEqual(p.dest, { path: "/srv/mirror/f", owner: node.accounts.mirror.user, group: node.accounts.mirror.group, mode: "0755" });
    assert.equal(p.pushPath, undefined, "no path unit when nothing may push");
  });
  it("a job without a password has no password file; pushes add a path unit on the trigger", () => {
    const n = nodeConfig({ sync: [{ name: "f", upstream: "rsync://up.example.org/f/", path: "f" }], push: { authorizedKeys: [PUSH_KEY] } });
    const push = pushModel(n);
    const p = planSyncJob(syncModel(n, n.sync[0]), push, t);
    assert.equal(p.password, undefined);
    assert.ok(p.pushPath);
    assert.equal(p.pushPath.unitName, "mirrorkit-sync-f.path");
    assert.match(p.pushPath.content, new RegExp(`^PathModified=${paths.PUSH_TRIGGER_FILE}$`, "m"));
  });
});

describe("plan/push.ts", () => {
  it("the push account owns its trigger directory; the sshd drop-in is checked by sshd -t with the real config", () => {
    const n = nodeConfig({ push: { authorizedKeys: [PUSH_KEY] } });
    const push = pushModel(n);
    assert.ok(push);
    const p = planPushTrigger(push, t);
    assert.deepEqual([p.triggerDir.path, p.triggerDir.owner], [paths.PUSH_TRIGGER_DIR, n.accounts.push.user]);
    assert.match(p.sshd.check ?? "", /sshd -t -f "\$STAGED\.check"/);
    assert.match(p.keys.content, /upstream$/m);
    assert.equal(p.script.path, paths.PUSH_TRIGGER_SCRIPT);
  });
});

describe("plan/bitflip.ts and plan/volume.ts", () => {
  it("a bitflip: a oneshot service its timer starts", () => {
    const n = nodeConfig({ bitflips: [{ name: "f42", paths: ["pub/42"], at: "2030-01-01 00:00:00 UTC" }] });
    const p = planBitflip(bitflipModel(n, n.bitflips[0]), t);
    assert.deepEqual([p.service.unitName, p.service.activation, p.timer.unitName, p.timer.activation], [paths.bitflipUnits("f42").unitName, "install", paths.bitflipUnits("f42").timerName, "start"]);
    assert.match(p.service.content, /chmod -R a\+rX '\/srv\/mirror\/pub\/42'/);
  });
  it("a volume: its mount unit, named by systemd's escaping, restarted on change; its file checked by systemd-analyze", () => {
    const p = planVolume({ name: "d", device: "/dev/vdb", fsType: "xfs", mountPoint: "/srv/mirror-data" }, t);
    assert.equal(p.mount.unitName, "srv-mirror\\x2ddata.mount");
    assert.match(p.mount.content, /^Type=xfs$/m);
    const file = unitFile(p.mount);
    assert.equal(file.path, "/etc/systemd/system/srv-mirror\\x2ddata.mount");
    assert.match(file.check ?? "", /systemd-analyze verify "\$d\/srv-mirror\\x2ddata\.mount"/);
  });
});

describe("plan/paths.ts", () => {
  it("is the one place the kit spells its host paths and unit names: no other source file does", () => {
    const spelled = /["'`](\/etc\/mirrorkit|\/var\/lib\/mirrorkit|\/usr\/local\/lib\/mirrorkit|\/etc\/systemd\/system|\/etc\/ssh\/sshd_config\.d\/mirrorkit|\/etc\/mirrormanager-client)|mirrorkit-(web|acme|rsyncd-(public|private)|sync-\$\{|bitflip-\$\{|hardlink-\$\{|node-exporter)[^"'`]*\.(service|timer|path)/;
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(path.join(PROJECT_DIR, dir), { withFileTypes: true })) {
        const rel = path.join(dir, e.name);
        if (e.isDirectory()) walk(rel);
        else if (rel.endsWith(".ts") && rel !== path.join("plan", "paths.ts")) {
          fs.readFileSync(path.join(PROJECT_DIR, rel), "utf8")
            .split("\n")
            .forEach((line, i) => {
              if (!/^\s*(\/\/|\*|\/\*\*)/.test(line) && spelled.test(line)) offenders.push(`${rel}:${i + 1}: ${line.trim()}`);
            });
        }
      }
    };
    for (const dir of ["components", "plan", "policies", "scripts"]) walk(dir);
    // The program itself, too.
    fs.readFileSync(path.join(PROJECT_DIR, "index.ts"), "utf8").split("\n").forEach((line, i) => spelled.test(line) && offenders.push(`index.ts:${i + 1}`));
    // The check can fail: the old way of spelling a path is caught.
    assert.ok(spelled.test('    configPath: "/etc/mirrorkit/nginx/nginx.conf",') && spelled.test("unitName: `mirrorkit-sync-${job}.service`"));
    assert.deepEqual(offenders, []);
  });
});

describe("plan/ is pure", () => {
  it("nothing plan/ imports, however indirectly, is @pulumi (or touches a host)", () => {
    const seen = new Set<string>();
    const external = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = fs.readFileSync(file, "utf8");
      for (const m of text.matchAll(/^import\s[^;]*?from\s+"([^"]+)";/gms)) {
        const spec = m[1];
        if (!spec.startsWith(".")) {
          external.add(spec);
          continue;
        }
        if (spec.endsWith(".json")) continue;
        visit(`${path.resolve(path.dirname(file), spec)}.ts`);
      }
    };
    for (const f of fs.readdirSync(path.join(PROJECT_DIR, "plan"))) visit(path.join(PROJECT_DIR, "plan", f));
    assert.ok(seen.size > 10, `followed ${seen.size} files`);
    assert.deepEqual([...external].filter((spec) => spec.startsWith("@pulumi") || spec === "node:child_process").sort(), []);
    // It can fail: the host runtime's components do import @pulumi.
    assert.match(fs.readFileSync(path.join(PROJECT_DIR, "components", "web-server.ts"), "utf8"), /from "@pulumi\/pulumi"/);
  });
});

describe("plan/node.ts: monitoring.nodeExporter", () => {
  it("node_exporter under the kit's unit: the sync metrics as its textfile directory, the listen address given, Debian's unit masked; verifies and scores <= 2.5", () => {
    const node = nodeConfig({ monitoring: { nodeExporter: { listen: "10.0.0.5:9100" } } });
    const plan = planNode(node, t);
    assert.ok(plan.nodeExporter);
    assert.ok(plan.packages.includes("prometheus-node-exporter"));
    assert.deepEqual([plan.nodeExporter.unitName, plan.nodeExporter.activation, plan.nodeExporter.masks], [paths.NODE_EXPORTER_UNIT, "start", ["prometheus-node-exporter.service"]]);
    assert.match(plan.nodeExporter.content, new RegExp(`^ExecStart=/usr/bin/prometheus-node-exporter --web.listen-address=10\\.0\\.0\\.5:9100 --collector.textfile.directory=${paths.METRICS_DIR}$`, "m"));
    assert.ok(plan.files.some((f) => f.path === `${paths.SYSTEMD_DIR}/${paths.NODE_EXPORTER_UNIT}`), "its unit file is in the plan's files");
    const dir = tmpDir("node-exporter");
    const unit = path.join(dir, paths.NODE_EXPORTER_UNIT);
    fs.writeFileSync(unit, plan.nodeExporter.content);
    const r = sh("systemd-analyze", ["verify", unit]);
    assert.equal(r.code, 0, r.out);
    assert.ok(exposure(unit) <= 2.5, `exposure ${exposure(unit)}`);
    assert.equal(planNode(nodeConfig({}), t).nodeExporter, undefined, "none unless asked");
  });
  it("a listen address is required and checked; Docker nodes refuse it", () => {
    assert.throws(() => nodeConfig({ monitoring: { nodeExporter: {} } }), /monitoring\.nodeExporter\.listen/);
    assert.throws(() => nodeConfig({ monitoring: { nodeExporter: { listen: "everywhere" } } }), /monitoring\.nodeExporter\.listen: address:port/);
    assert.throws(() => nodeConfig({ runtime: "docker", monitoring: { nodeExporter: { listen: ":9100" } } }), /monitoring\.nodeExporter: not supported by runtime "docker"/);
  });
});
