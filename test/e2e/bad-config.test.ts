// Bad input through the real CLI: `pulumi up` of an invalid stack config fails
// before any resource is registered (no remote command can run), and the
// error names each bad field and what is expected, without a stack trace.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { PROJECT_DIR, pulumi, stackNames } from "../../scripts/lib/pulumi";
import { changeSummary, writeStackFile } from "../lib/e2e";

const STACK = "e2e-bad-config";

describe("invalid stack config through the real CLI", { timeout: 5 * 60_000 }, () => {
  after(async () => {
    await pulumi(["stack", "rm", STACK, "--yes", "--force"], { check: false });
    fs.rmSync(path.join(PROJECT_DIR, "stacks", `Pulumi.${STACK}.yaml`), { force: true });
  });

  it("pulumi up fails before touching the host, naming every bad field", async () => {
    writeStackFile(STACK, {
      name: "bad",
      // Nothing may ever connect here: TEST-NET-1.
      host: { address: "192.0.2.10", privateKey: "unused" },
      accounts: { http: { user: "mirror", group: "mirror-http" } },
      rsync: {
        modules: [{ name: "fedora", path: "fedora" }],
        private: { modules: [{ name: "tier", path: "fedora" }], hostsAllow: ["*"], users: [{ name: "t2", password: "secret-secret" }] },
      },
      sync: [{ name: "fedora", upstream: "https://example.org/fedora/", path: "fedora" }],
    });
    if (!(await stackNames()).includes(STACK)) await pulumi(["stack", "init", STACK]);
    const r = await pulumi(["up", "--stack", STACK, "--yes", "--skip-preview"], { check: false });
    const out = r.stdout + r.stderr;
    assert.notEqual(r.code, 0);
    assert.match(out, /invalid stack config "mirrorkit:node"/);
    assert.match(out, /mirrorkit:node\.accounts\.http\.user: must differ from accounts\.mirror\.user/);
    assert.match(out, /mirrorkit:node\.rsync\.private\.hostsAllow\[0\]: "\*" opens the private module to everyone/);
    assert.match(out, /mirrorkit:node\.sync\[0\]\.upstream: an rsync:\/\/ URL/);
    assert.doesNotMatch(out, /at parseNodeConfig|\.ts:\d+:\d+/, "no stack trace");
    // Only the stack resource itself: no component, no command was registered.
    assert.doesNotMatch(out, /mirrorkit:node:MirrorNode|command:remote/);
    assert.ok((changeSummary(r.stdout).created ?? 0) <= 1, "nothing but the stack resource itself");
    const { stdout } = await pulumi(["stack", "export", "--stack", STACK]);
    const resources = (JSON.parse(stdout) as { deployment: { resources?: { type: string }[] } }).deployment.resources ?? [];
    assert.deepEqual(resources.filter((x) => x.type !== "pulumi:pulumi:Stack" && x.type !== "pulumi:providers:command"), []);
  });
});
