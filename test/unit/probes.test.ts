// The doctor's listing parser, fed by the real rsync client listing a local
// tree whose timestamps contain the staged directory's name ("42").
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { rsyncListedPaths } from "../../scripts/lib/probes";
import { tmpDir } from "../lib/tools";

describe("rsync listing parser", () => {
  it("yields the entry names, not digits from sizes or times", () => {
    const dir = tmpDir("listing");
    fs.mkdirSync(path.join(dir, "41"));
    fs.writeFileSync(path.join(dir, "41", "README"), "x".repeat(4242));
    fs.writeFileSync(path.join(dir, "41", "a b -> c.txt"), "");
    fs.symlinkSync("41", path.join(dir, "latest"));
    const at = new Date("2026-11-23T05:42:15Z");
    for (const p of ["41/README", "41/a b -> c.txt", "41", "."]) fs.utimesSync(path.join(dir, p), at, at);
    // A local listing has the daemon's line format.
    const run = spawnSync("rsync", ["-r", "--list-only", `${dir}/`], { encoding: "utf8", env: { ...process.env, TZ: "UTC" }, timeout: 30_000 });
    const listing = { code: run.status, out: `${run.stdout}${run.stderr}` };
    assert.equal(listing.code, 0, listing.out);
    assert.match(listing.out, /42:15/, "the fixture's listing does carry 42 in its times");
    assert.match(listing.out, /4,242/, "and in a size");
    const paths = rsyncListedPaths(listing.out);
    assert.deepEqual(paths.sort(), [".", "41", "41/README", "41/a b -> c.txt", "latest"].sort());
    assert.equal(paths.filter((p) => p.split("/").includes("42")).length, 0);
  });
});
