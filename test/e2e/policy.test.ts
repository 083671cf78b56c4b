// The policy pack through the real CLI: `pulumi preview --policy-pack` passes
// a safe stack and rejects an unsafe one (a template override that drops
// rsync's -p), naming the policy. Preview only: no host is contacted.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { PROJECT_DIR, pulumi, stackNames } from "../../scripts/lib/pulumi";
import { writeStackFile } from "../lib/e2e";
import * as fs from "node:fs";

const MINUTES = 60_000;

function safeNode(): Record<string, unknown> {
  return {
    name: "policy-check",
    tier: 2,
    // TEST-NET-1: documentation address; a preview never connects.
    host: { address: "192.0.2.10", privateKey: "not-a-real-key" },
    volumes: [{ name: "data", device: "/dev/vdb", mountPoint: "/srv/mirror" }],
    web: { tls: { certificatePath: "/etc/ssl/mirror.pem", keyPath: "/etc/ssl/mirror.key" } },
    rsync: {
      modules: [{ name: "fedora", path: "fedora" }],
      private: { modules: [{ name: "fedora-tier", path: "fedora" }], hostsAllow: ["198.51.100.7"], users: [{ name: "tier2", password: "long-enough-secret" }] },
    },
    sync: [{ name: "fedora", upstream: "rsync://tier1.example.org/fedora/", path: "fedora", checkFile: "lastupdate" }],
  };
}

async function preview(stack: string, node: Record<string, unknown>) {
  writeStackFile(stack, node);
  if (!(await stackNames()).includes(stack)) await pulumi(["stack", "init", stack]);
  return pulumi(["preview", "--stack", stack, "--policy-pack", path.join(PROJECT_DIR, "policies")], { check: false });
}

describe("policy pack through the real CLI", { timeout: 10 * MINUTES }, () => {
  const stacks = ["e2e-policy-safe", "e2e-policy-unsafe"];
  after(async () => {
    for (const s of stacks) {
      await pulumi(["stack", "rm", s, "--yes", "--force"], { check: false });
      fs.rmSync(path.join(PROJECT_DIR, "stacks", `Pulumi.${s}.yaml`), { force: true });
    }
  });

  it("a safe stack passes preview; advisory guidance on the node's config is shown", async () => {
    // Without HTTPS: allowed, but the tier guidance (read from the node's config) says so.
    const { web: _tls, ...node } = safeNode();
    const r = await preview("e2e-policy-safe", node);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /mirrorkit@v/, "the pack ran");
    assert.doesNotMatch(r.stdout, /mandatory/);
    assert.match(r.stdout, /\[advisory\]\s+mirrorkit-tier-requirements\s+\(mirrorkit:node:MirrorNode: policy-check\)/);
    assert.match(r.stdout, /tier-2 mirrors serve HTTPS as well as HTTP; set web\.tls/);
  });

  it("an unsafe stack (template override without -p) is rejected, naming the policy", async () => {
    const r = await preview("e2e-policy-unsafe", { ...safeNode(), templateDir: "test/fixtures/unsafe-templates" });
    assert.notEqual(r.code, 0);
    const out = r.stdout + r.stderr;
    assert.match(out, /mandatory/);
    assert.match(out, /mirrorkit-sync-preserves-permissions/);
    assert.match(out, /without -p\/--perms/);
    assert.doesNotMatch(out, /mirrorkit-sync-safety-flags.*\n.*mandatory/, "only the broken rule fires");
  });
});
