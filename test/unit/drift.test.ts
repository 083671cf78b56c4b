// The drift report's host script and comparison, run here against real
// files (the kit's directories do not exist on this machine, so only the
// planned files are found).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { PlannedFile, PlannedUnit } from "../../plan/files";
import { compareWithHost, hostFactsScript } from "../../scripts/lib/drift";
import { sh, tmpDir } from "../lib/tools";

describe("drift report (scripts/lib/drift.ts)", () => {
  const dir = tmpDir("drift");
  const me = os.userInfo().username;
  const group = sh("id", ["-gn"]).out.trim();
  const file = (name: string, content: string, mode = "0644", secret = false): PlannedFile => ({
    key: name,
    path: path.join(dir, name),
    content,
    mode,
    owner: me,
    group,
    ...(secret ? { secret: true as const } : {}),
  });
  const conf = file("web.conf", "listen 80;\n");
  const script = file("sync.sh", "#!/bin/sh\necho sync\n", "0755");
  const secret = file("rsyncd.secrets", "# placeholder\n", "0600", true);
  const files = [conf, script, secret];
  const secretText = "t2:hunter2\n";
  const expected = (f: PlannedFile) => (f.secret ? secretText : f.content);
  const units: PlannedUnit[] = [];
  const write = () => {
    for (const f of files) {
      fs.writeFileSync(f.path, expected(f));
      fs.chmodSync(f.path, parseInt(f.mode, 8));
    }
  };
  const facts = () => {
    const r = sh("sh", ["-c", hostFactsScript(files, units)]);
    assert.equal(r.code, 0, r.out);
    return r.out;
  };

  it("a host as planned shows no drift (the secret file compared with its real text)", () => {
    write();
    assert.deepEqual(compareWithHost(files, units, expected, facts()), []);
  });

  it("a hand edit, a changed mode, a missing file and a changed secret are each named; a secret's content is never shown", () => {
    write();
    fs.appendFileSync(conf.path, "# hand edit\n");
    fs.chmodSync(script.path, 0o777);
    fs.writeFileSync(secret.path, "t2:wrong\n");
    const drift = compareWithHost(files, units, expected, facts());
    assert.deepEqual(
      drift.map((d) => [path.basename(d.path), d.problem, d.diff ?? false]),
      [
        ["web.conf", "content differs", true],
        ["sync.sh", "mode 0777, planned 0755", false],
        ["rsyncd.secrets", "content differs (a secret file: not shown)", false],
      ],
    );
    fs.rmSync(conf.path);
    assert.deepEqual(compareWithHost(files, units, expected, facts())[0], { path: conf.path, problem: "missing on the host" });
  });

  it("units: a started unit must be enabled and active; a timer's service only installed", () => {
    const started: PlannedUnit = { key: "unit", unitName: "mirrorkit-web.service", content: "", activation: "start" };
    const service: PlannedUnit = { key: "service", unitName: "mirrorkit-sync-f.service", content: "", activation: "install" };
    const host = "unit\tmirrorkit-web.service\tenabled\tinactive\nunit\tmirrorkit-sync-f.service\tenabled\tinactive\n";
    assert.deepEqual(compareWithHost([], [started, service], expected, host), [{ path: "mirrorkit-web.service", problem: "unit is inactive, planned active" }]);
  });

  it("a file in the kit's directories that the plan does not have is named (the push key made on the host is not)", () => {
    const host = "found\t/etc/mirrorkit/sync/old-job.exclude\nfound\t/etc/mirrorkit/push/id_ed25519\n";
    assert.deepEqual(compareWithHost([], [], expected, host).map((d) => d.path), ["/etc/mirrorkit/sync/old-job.exclude"]);
  });
});
