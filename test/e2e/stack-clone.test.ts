// Cloning a stack for another region through the real CLI (preview only).
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { cloneStack } from "../../scripts/stack-clone";
import { pulumi, stackNames } from "../../scripts/lib/pulumi";
import { stackFilePath } from "../../scripts/lib/stack-file";
import { UNSAFE_OVERRIDES } from "../lib/fixtures";

const MINUTES = 60_000;

describe("npm run stack:clone", { timeout: 10 * MINUTES }, () => {
  const made = ["e2e-clone-ap", "e2e-clone-bad", "e2e-clone-unsafe", "e2e-clone-taken"];
  after(async () => {
    for (const s of made) {
      await pulumi(["stack", "rm", s, "--yes", "--force"], { check: false });
      fs.rmSync(stackFilePath(s), { force: true });
    }
  });

  it("clones a tier-1 stack for another region, asking for its secrets again", async () => {
    await cloneStack({
      from: "fedora-t1-eu",
      to: "e2e-clone-ap",
      sets: [
        ["region", "ap-south"],
        ["host.address", "203.0.113.30"],
        ["rsync.private.hostsAllow[0]", "192.0.2.40"],
        ["rsync.private.users[0].name", "t2-ap"],
      ],
      secrets: ["a-fresh-tier-secret"],
    });
    const source = fs.readFileSync(stackFilePath("fedora-t1-eu"), "utf8");
    const clone = fs.readFileSync(stackFilePath("e2e-clone-ap"), "utf8");
    assert.match(clone, /name: e2e-clone-ap/);
    assert.match(clone, /region: ap-south/);
    assert.match(clone, /address: 203\.0\.113\.30/);
    assert.match(clone, /^# A Fedora tier-1 node/m, "comments kept");
    // No ciphertext or key material of the source is carried over.
    for (const m of source.matchAll(/(secure|encryptionsalt): (v1:\S+)/g)) assert.ok(!clone.includes(m[2]), `${m[1]} copied`);
    const { stdout } = await pulumi(["config", "get", "--stack", "e2e-clone-ap", "--path", "mirrorkit:node.rsync.private.users[0].password"]);
    assert.equal(stdout.trim(), "a-fresh-tier-secret");
  });

  it("refuses a clone that fails validation, writing nothing", async () => {
    await assert.rejects(
      cloneStack({ from: "fedora-t1-eu", to: "e2e-clone-bad", sets: [["rsync.private.hostsAllow[0]", "*"]], secrets: ["a-fresh-tier-secret"] }),
      /rsync\.private\.hostsAllow\[0\]: "\*" opens the private module to everyone/,
    );
    assert.ok(!fs.existsSync(stackFilePath("e2e-clone-bad")));
    assert.ok(!(await stackNames()).includes("e2e-clone-bad"));
  });

  it("refuses a name that a stack in the backend already has, and keeps that stack's state", async () => {
    // A stack with state and no file in stacks/ (deployed elsewhere, or its file not yet pulled).
    await pulumi(["stack", "init", "e2e-clone-taken"]);
    await pulumi(["config", "set", "--stack", "e2e-clone-taken", "marker", "keep-me"]);
    fs.rmSync(stackFilePath("e2e-clone-taken"), { force: true });
    const before = (await pulumi(["stack", "export", "--stack", "e2e-clone-taken"])).stdout;
    await assert.rejects(
      cloneStack({ from: "fedora-t1-eu", to: "e2e-clone-taken", sets: [], secrets: ["a-fresh-tier-secret"] }),
      /a stack "e2e-clone-taken" already exists in this backend; nothing was written/,
    );
    assert.ok((await stackNames()).includes("e2e-clone-taken"), "the existing stack is kept");
    assert.equal((await pulumi(["stack", "export", "--stack", "e2e-clone-taken"])).stdout, before, "its state is untouched");
    assert.ok(!fs.existsSync(stackFilePath("e2e-clone-taken")), "no stack file written");
  });

  it("refuses a clone the policy pack rejects, writing nothing", async () => {
    await assert.rejects(
      cloneStack({ from: "fedora-t1-eu", to: "e2e-clone-unsafe", sets: [["templateDir", UNSAFE_OVERRIDES.syncWithoutPerms()]], secrets: ["a-fresh-tier-secret"] }),
      /policy pack rejects the clone[\s\S]*mirrorkit-sync-preserves-permissions/,
    );
    assert.ok(!fs.existsSync(stackFilePath("e2e-clone-unsafe")));
    assert.ok(!(await stackNames()).includes("e2e-clone-unsafe"));
  });
});
