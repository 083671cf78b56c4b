// The unit activation script, run by sh against a recording `systemctl`: the
// released command provider runs it again on any input change, the
// connection included, so what it does must follow from what changed.
import { describe, it, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { activationScript } from "../../components/systemd-unit";

/** A scratch host: a `systemctl` that logs its arguments and a unit that is active or not. */
function scratchHost(t: TestContext) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mirrorkit-activate-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const bin = path.join(dir, "bin");
  fs.mkdirSync(bin);
  const log = path.join(dir, "calls");
  const active = path.join(dir, "active");
  const loaded = path.join(dir, "loaded");
  const changed = path.join(dir, "changed");
  fs.writeFileSync(
    path.join(bin, "systemctl"),
    // `show -p NeedDaemonReload`: "yes" once the unit has been loaded (started or reloaded) and its file has changed since.
    `#!/bin/sh\necho "$*" >> ${log}\ncase "$1" in\n  is-active) [ -e ${active} ];;\n  restart|daemon-reload) touch ${loaded} ${active}; [ "$1" = restart ] || rm -f ${active};;\n  show) if [ -e ${loaded} ] && [ -e ${changed} ]; then echo yes; else echo no; fi;;\nesac\n`,
    { mode: 0o755 },
  );
  return {
    hashFile: path.join(dir, "state", "units", "web.service.hash"),
    stop: () => fs.rmSync(active, { force: true }),
    /** Systemd loaded the unit earlier (as after a boot). */
    load: () => fs.writeFileSync(loaded, ""),
    /** Runs one activation; returns the systemctl calls other than the read-only is-active and show. A new unit hash stands for a changed file on disk. */
    run(unitHash: string, configHashes: string, activation: "start" | "install" = "start"): string[] {
      fs.rmSync(log, { force: true });
      const previous = fs.existsSync(path.join(dir, "state", "units", "web.service.hash")) ? fs.readFileSync(path.join(dir, "state", "units", "web.service.hash"), "utf8").split(" ")[0] : undefined;
      if (previous !== undefined && previous !== unitHash) fs.writeFileSync(changed, "");
      else fs.rmSync(changed, { force: true });
      const text = activationScript({
        unit: "web.service",
        hashFile: path.join(dir, "state", "units", "web.service.hash"),
        unitHash,
        configHashes,
        activation,
        apply: "systemctl reload web.service",
        masks: "",
      });
      execFileSync("sh", ["-c", text], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
      const calls = fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : [];
      if (calls.includes("daemon-reload") || calls.some((c) => c.startsWith("restart"))) fs.rmSync(changed, { force: true });
      return calls.filter((c) => !c.startsWith("is-active") && !c.startsWith("show"));
    },
  };
}

describe("unit activation script", () => {
  it("first run: enables and starts the unit without a daemon-reload (systemd reads a new unit when it is first used), and records what it applied", (t) => {
    const host = scratchHost(t);
    assert.deepEqual(host.run("u1", "c1 c2"), ["enable --quiet --no-reload web.service", "restart web.service"]);
    assert.equal(fs.readFileSync(host.hashFile, "utf8"), "u1 c1 c2\n");
  });

  it("a re-run with nothing changed (a new address or key) touches nothing", (t) => {
    const host = scratchHost(t);
    host.run("u1", "c1 c2");
    const before = fs.statSync(host.hashFile).mtimeMs;
    assert.deepEqual(host.run("u1", "c1 c2"), ["enable --quiet --no-reload web.service"]);
    assert.equal(fs.statSync(host.hashFile).mtimeMs, before, "the record is not rewritten");
  });

  it("new config alone is applied the unit's way (reload), without a restart", (t) => {
    const host = scratchHost(t);
    host.run("u1", "c1 c2");
    assert.deepEqual(host.run("u1", "c1 c3"), ["enable --quiet --no-reload web.service", "reload web.service"]);
    assert.equal(fs.readFileSync(host.hashFile, "utf8"), "u1 c1 c3\n");
  });

  it("a new unit file is loaded (systemd holds the old one: a daemon-reload) and the unit restarted", (t) => {
    const host = scratchHost(t);
    host.run("u1", "c1");
    assert.deepEqual(host.run("u2", "c1"), ["daemon-reload", "enable --quiet --no-reload web.service", "restart web.service"]);
  });

  it("a stopped unit is started even when nothing changed", (t) => {
    const host = scratchHost(t);
    host.run("u1", "c1");
    host.stop();
    assert.deepEqual(host.run("u1", "c1"), ["enable --quiet --no-reload web.service", "restart web.service"]);
  });

  it("an install-only unit (a timer's service) is never started; a changed file systemd has loaded is reloaded, a new one is not", (t) => {
    const host = scratchHost(t);
    assert.deepEqual(host.run("u1", "", "install"), []);
    assert.deepEqual(host.run("u1", "", "install"), []);
    // Its timer ran it: systemd holds this file now.
    host.load();
    assert.deepEqual(host.run("u2", "", "install"), ["daemon-reload"]);
  });

  it("the hashes travel in the script text, not in SSH environment requests", () => {
    const text = activationScript({ unit: "a.service", hashFile: "/x/a.hash", unitHash: "abc", configHashes: "def", activation: "start", apply: "true", masks: "" });
    assert.match(text, /^want='abc def'$/m);
    assert.doesNotMatch(text, /UNIT_HASH/);
  });
});
