// The plugins the engine runs are the released Pulumi builds, never a
// project-made imitation: the language host the CLI finds on PATH and the
// `command` provider in the plugin cache are upstream's Go main packages,
// report the pinned versions over the plugin protocol, and, where setup.sh
// built them here, come from the release source in ../shared/upstream as it
// is now. Fails if a stand-in comes back.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { PROJECT_DIR } from "../../scripts/lib/pulumi";

const env = process.env as Record<string, string>;
const PULUMI_VERSION = "3.259.0";
const COMMAND_VERSION = "1.2.1";

function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: "utf8", cwd: PROJECT_DIR, maxBuffer: 64 << 20 });
}

/** The main package named in a Go binary's build info. */
function goMainPackage(binary: string): string | undefined {
  return /^\tpath\t(\S+)$/m.exec(run("go", ["version", "-m", binary]))?.[1];
}

/** The version a plugin reports about itself (GetPluginInfo), as the engine asks it. */
function reportedVersion(binary: string): string {
  return run("node", [path.join(PROJECT_DIR, "toolchain", "plugin-version.js"), binary]).trim();
}

function onPath(name: string): string[] {
  return env.PATH.split(":")
    .map((dir) => path.join(dir, name))
    .filter((file) => fs.existsSync(file));
}

/** The same tree hash setup.sh records (sha256 of the sorted per-file sha256sum lines). */
function treeHash(dir: string): string {
  return run("bash", ["-c", 'cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-64', "_", dir]).trim();
}

/**
 * A provenance file, when setup.sh built the binary here: it matches the
 * binary, and the source it was built from hashes the same as today's release
 * source (the tree under MIRRORKIT_UPSTREAM_SRC). The hash, not the path, is
 * what setup.sh reuses a build by: a cache built from another checkout of the
 * same source is the same build.
 */
function checkProvenance(binary: string, sourceUnderUpstream: string) {
  const file = `${binary}.provenance`;
  if (!fs.existsSync(file)) return;
  const fields = Object.fromEntries(
    fs.readFileSync(file, "utf8").trim().split("\n").map((l) => l.split("=", 2) as [string, string]),
  );
  assert.equal(fields["binary-sha256"], createHash("sha256").update(fs.readFileSync(binary)).digest("hex"), `${binary} is the binary that was built`);
  assert.ok(fields["built-from"].endsWith(`/${sourceUnderUpstream}`), `built from ${fields["built-from"]}`);
  const source = path.join(env.MIRRORKIT_UPSTREAM_SRC, sourceUnderUpstream);
  assert.equal(fields["source-sha256"], treeHash(source), `built from the release source in ${source} as it is now`);
}

describe("the released Pulumi plugins", () => {
  it("the language host on PATH is upstream's pulumi-language-nodejs, version 3.259.0", () => {
    const found = onPath("pulumi-language-nodejs");
    assert.ok(found.length > 0, "a language host on PATH");
    const host = fs.realpathSync(found[0]);
    assert.equal(fs.readFileSync(host).subarray(0, 4).toString("latin1"), "\x7fELF");
    assert.equal(goMainPackage(host), "github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3");
    assert.equal(reportedVersion(host), `v${PULUMI_VERSION}`);
    checkProvenance(host, "pulumi-language-nodejs/sdk/nodejs/cmd/pulumi-language-nodejs");
  });

  it("the command provider in the plugin cache is upstream's pulumi-resource-command 1.2.1, and none shadows it on PATH", () => {
    const plugins = JSON.parse(run("pulumi", ["plugin", "ls", "--json"])) as { name: string; kind: string; version: string }[];
    assert.ok(plugins.some((p) => p.name === "command" && p.kind === "resource" && p.version === COMMAND_VERSION), JSON.stringify(plugins));
    const binary = path.join(env.PULUMI_HOME, "plugins", `resource-command-v${COMMAND_VERSION}`, "pulumi-resource-command");
    assert.equal(fs.readFileSync(binary).subarray(0, 4).toString("latin1"), "\x7fELF");
    assert.equal(goMainPackage(binary), "github.com/pulumi/pulumi-command/provider/cmd/pulumi-resource-command");
    assert.equal(reportedVersion(binary), COMMAND_VERSION);
    checkProvenance(binary, "pulumi-command/provider");
    // An "ambient" plugin on PATH would win over the cache, whatever its version.
    assert.deepEqual(onPath("pulumi-resource-command"), []);
  });

  it("the engine runs the program through that language host (About answers, plugins listed)", () => {
    const r = spawnSync("pulumi", ["about", "--json"], { encoding: "utf8", cwd: PROJECT_DIR, timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    const about = JSON.parse(r.stdout) as { plugins: { name: string; version: string }[]; runtime: { language: string } };
    assert.equal(about.runtime.language, "nodejs");
    assert.ok(about.plugins.some((p) => p.name === "command" && p.version === COMMAND_VERSION), JSON.stringify(about.plugins));
    assert.ok(about.plugins.some((p) => p.name === "nodejs" && p.version === PULUMI_VERSION), JSON.stringify(about.plugins));
  });

  it("sourcing toolchain/env.sh (as the README says) keeps Pulumi's confirmation prompts", () => {
    const out = run("env", ["-i", `HOME=${env.HOME}`, `PATH=${env.PATH}`, "bash", "-c", `. toolchain/env.sh && echo "\${PULUMI_SKIP_CONFIRMATIONS-unset}"`]);
    assert.equal(out.trim(), "unset");
  });

  it("no file of the project imitates a Pulumi plugin", () => {
    const tracked = run("git", ["ls-files"]).trim().split("\n");
    assert.ok(!tracked.some((f) => f.startsWith("toolchain/command-provider/")), "the command stand-in is gone");
    assert.deepEqual(tracked.filter((f) => f.endsWith(".go")), [], "no Go source: the plugins are built from upstream's");
    const imitations = tracked
      .filter((f) => /\.(ts|js)$/.test(f) && fs.existsSync(path.join(PROJECT_DIR, f)))
      .filter((f) => /@pulumi\/pulumi\/provider"|provider\.main\(|LanguageRuntimeService|ResourceProviderService/.test(fs.readFileSync(path.join(PROJECT_DIR, f), "utf8")))
      .filter((f) => f !== "test/unit/toolchain.test.ts");
    assert.deepEqual(imitations, [], "no plugin server in the project");
  });
});
