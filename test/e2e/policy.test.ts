// The policy pack through the real CLI and the released command provider:
// `pulumi preview --policy-pack` passes a safe stack and refuses unsafe ones
// (template overrides that drop rsync's -p, run public rsync as the mirror
// account, put the web server in the mirror group), naming exactly the
// policies that fire. Preview only: no host is contacted.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { PROJECT_DIR, pulumi, stackNames } from "../../scripts/lib/pulumi";
import { writeStackFile } from "../lib/e2e";
import { UNSAFE_OVERRIDES } from "../lib/fixtures";
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
  await writeStackFile(stack, node);
  if (!(await stackNames()).includes(stack)) await pulumi(["stack", "init", stack]);
  return pulumi(["preview", "--stack", stack, "--policy-pack", path.join(PROJECT_DIR, "policies")], { check: false });
}

/** The names of the policies a preview reports at a level ("mandatory" or "advisory"). */
function reported(output: string, level: string): Set<string> {
  return new Set([...output.matchAll(new RegExp(`\\[${level}\\]\\s+(\\S+)`, "g"))].map((m) => m[1]));
}

describe("policy pack through the real CLI", { timeout: 10 * MINUTES }, () => {
  const unsafe: [string, string, string[], RegExp][] = [
    // [template override, what it breaks, the exact set of mandatory policies that fire, a message]
    [UNSAFE_OVERRIDES.syncWithoutPerms(), "the sync drops -p", ["mirrorkit-sync-preserves-permissions"], /without -p\/--perms/],
    [UNSAFE_OVERRIDES.rsyncAsMirror(), "public rsync runs as the mirror account", ["mirrorkit-rsyncd-public-module-unprivileged"], /public module runs as uid mirror/],
    [UNSAFE_OVERRIDES.webInMirrorGroup(), "the web server joins the mirror group", ["mirrorkit-web-server-unprivileged"], /the web server runs in group mirror/],
  ];
  const stacks = ["e2e-policy-safe", ...unsafe.map((_, i) => `e2e-policy-unsafe${i}`)];
  after(async () => {
    for (const s of stacks) {
      await pulumi(["stack", "rm", s, "--yes", "--force"], { check: false });
      fs.rmSync(path.join(PROJECT_DIR, "stacks", `Pulumi.${s}.yaml`), { force: true });
    }
  });

  it("a safe stack passes preview, every mandatory policy ran, and advisory guidance is shown", async () => {
    // Without HTTPS: allowed, but the tier guidance (read from the node's config) says so.
    const { web: _tls, ...node } = safeNode();
    const r = await preview("e2e-policy-safe", node);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /mirrorkit@v/, "the pack ran");
    assert.doesNotMatch(r.stdout, /mandatory/);
    // With the released provider a copy's asset is unknown in a preview; no
    // policy may fall back to the SDK's advisory "can't run during preview".
    assert.doesNotMatch(r.stdout + r.stderr, /can't run|can't see/);
    assert.deepEqual([...reported(r.stdout, "advisory")], ["mirrorkit-tier-requirements"]);
    assert.match(r.stdout, /\[advisory\]\s+mirrorkit-tier-requirements\s+\(mirrorkit:node:MirrorNode: policy-check\)/);
    assert.match(r.stdout, /tier-2 mirrors serve HTTPS as well as HTTP; set web\.tls/);
  });

  unsafe.forEach(([templateDir, what, expected, message], i) => {
    it(`an unsafe stack (${what}) is refused by exactly ${expected.join(", ")}`, async () => {
      const r = await preview(`e2e-policy-unsafe${i}`, { ...safeNode(), templateDir });
      const out = r.stdout + r.stderr;
      assert.notEqual(r.code, 0, out);
      assert.deepEqual([...reported(out, "mandatory")].sort(), expected, out);
      assert.match(out, message);
      assert.doesNotMatch(out, /can't run|can't see/);
    });
  });
});
