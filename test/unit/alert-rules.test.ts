// The alert rules (monitoring/mirrorkit.rules.yml) under promtool, against
// the metrics the kit really writes.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { renderSyncScript, syncModel } from "../../components/render/sync";
import { planVolumeMetrics } from "../../plan/volume";
import { acmeModel, renderAcmeScript } from "../../components/render/acme";
import { PROJECT_DIR } from "../../scripts/lib/pulumi";
import { nodeConfig } from "../lib/fixtures";
import { sh, tmpDir } from "../lib/tools";

const DIR = path.join(PROJECT_DIR, "monitoring");
const promtool = (args: string[], input?: string) => sh("promtool", args, input);

describe("alert rules (promtool)", () => {
  it("promtool checks the rules and passes their tests (stale by the node's own threshold, failing, the data volume nearly full, an unreadable metrics file, a certificate expiring, ACME failing)", () => {
    const check = promtool(["check", "rules", path.join(DIR, "mirrorkit.rules.yml")]);
    assert.equal(check.code, 0, check.out);
    assert.match(check.out, /SUCCESS: 6 rules found/);
    const test = promtool(["test", "rules", path.join(DIR, "mirrorkit.rules.test.yml")]);
    assert.equal(test.code, 0, test.out);
  });

  it("the tests can fail: a rule that waits longer than its test expects is caught", () => {
    const dir = tmpDir("alert-rules");
    fs.writeFileSync(path.join(dir, "mirrorkit.rules.yml"), fs.readFileSync(path.join(DIR, "mirrorkit.rules.yml"), "utf8").replace("for: 10m", "for: 60m"));
    fs.copyFileSync(path.join(DIR, "mirrorkit.rules.test.yml"), path.join(dir, "mirrorkit.rules.test.yml"));
    const test = promtool(["test", "rules", path.join(dir, "mirrorkit.rules.test.yml")]);
    assert.notEqual(test.code, 0, test.out);
    assert.match(test.out, /MirrorkitSyncStale/);
  });

  it("every metric the rules read from the kit is one the kit writes, in a form promtool accepts", () => {
    const rules = fs.readFileSync(path.join(DIR, "mirrorkit.rules.yml"), "utf8");
    const used = [...new Set(rules.match(/\bmirrorkit_[a-z_]+/g) ?? [])].sort();
    assert.ok(used.length >= 4, used.join(" "));
    const node = nodeConfig({ tier: 1, sync: [{ name: "fedora", upstream: "rsync://up.example.org/fedora/", path: "fedora" }], volumes: [{ name: "data", device: "/dev/vdb", mountPoint: "/srv/mirror" }] });
    const script = renderSyncScript(syncModel(node, node.sync[0]));
    const volumes = planVolumeMetrics(node.volumes, node.accounts.mirror);
    assert.ok(volumes);
    const acmeNode = nodeConfig({ web: { acme: { contact: "ops@example.org", names: ["mirror.example.org"] } } });
    const acme = renderAcmeScript(acmeModel(acmeNode.web.acme!, acmeNode.accounts));
    for (const metric of used) {
      assert.ok([script, volumes.content, acme].some((text) => text.includes(`${metric}{`)), `${metric} is written by the sync script, the ACME script or the plan`);
    }
    assert.match(script, /^mirrorkit_sync_stale_after_seconds\{module=\$JOB_LABEL,project=\$PROJECT_LABEL\} 7200$/m, "tier 1: stale after 2 h");
    const lint = promtool(["check", "metrics"], volumes.content);
    assert.equal(lint.code, 0, lint.out);
    assert.match(volumes.content, /^mirrorkit_data_volume_info\{volume="data",mountpoint="\/srv\/mirror"\} 1$/m);
  });
});
