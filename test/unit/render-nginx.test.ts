// Every rendered nginx file is checked by its own tool, for a matrix of configs.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { renderNginxConf, renderNginxUnit, runtimeDirName, webModel, type WebModel } from "../../components/render/nginx";
import { nodeConfig } from "../lib/fixtures";
import { exposure, sh, tmpDir } from "../lib/tools";

function model(web: Record<string, unknown>, mirrorRoot = "/srv/mirror"): WebModel {
  return webModel(nodeConfig({ web, mirrorRoot }));
}

const matrix: [string, Record<string, unknown>, string?][] = [
  ["defaults", {}],
  ["port 8080, long keepalive", { httpPort: 8080, keepaliveTimeoutSeconds: 65, keepaliveRequests: 1000 }],
  ["strict ISO limit", { isoConnectionsPerIp: 1 }, "/data/mirror"],
];

describe("nginx rendering", () => {
  for (const [title, web, root] of matrix) {
    it(`passes nginx -t: ${title}`, () => {
      const m = model(web, root);
      const dir = tmpDir("nginx");
      const conf = path.join(dir, "nginx.conf");
      fs.writeFileSync(conf, renderNginxConf(m));
      // The paths the unit's RuntimeDirectory/LogsDirectory provide on a host.
      const rt = runtimeDirName(m.unitName);
      fs.mkdirSync(`/run/${rt}`, { recursive: true });
      fs.mkdirSync(`/var/log/${rt}`, { recursive: true });
      const r = sh("nginx", ["-t", "-e", "stderr", "-c", conf]);
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, /test is successful/);
    });

    it(`unit passes systemd-analyze verify and scores <= 2.5: ${title}`, () => {
      const m = model(web, root);
      const unit = path.join(tmpDir("unit"), m.unitName);
      fs.writeFileSync(unit, renderNginxUnit(m));
      const r = sh("systemd-analyze", ["verify", unit]);
      assert.equal(r.code, 0, r.out);
      assert.ok(exposure(unit) <= 2.5, `exposure ${exposure(unit)} > 2.5`);
    });
  }

  it("carries the mirror guide's rules", () => {
    const text = renderNginxConf(model({}));
    assert.match(text, /keepalive_timeout 2s;/);
    assert.match(text, /keepalive_requests 100;/);
    assert.match(text, /limit_conn mirrorkit_iso 6;/);
    assert.match(text, /location ~\* \\\.iso\$ \{[^}]*if \(\$http_range\) \{\s*return 403;/s);
    assert.match(text, /\(rpm\|drpm\|deb\|udeb\|img\|qcow2/);
    assert.match(text, /root \/srv\/mirror;/);
    assert.doesNotMatch(text, /\buser\s+\S+;/, "no `user` directive: the unit sets the identity, never root");
  });

  it("is a pure function of the model", () => {
    assert.equal(renderNginxConf(model({})), renderNginxConf(model({})));
    assert.notEqual(renderNginxConf(model({})), renderNginxConf(model({ httpPort: 81 })));
  });

  it("runs the unit as the http account, never root", () => {
    const unit = renderNginxUnit(model({}));
    assert.match(unit, /^User=mirror-http$/m);
    assert.match(unit, /^Group=mirror-http$/m);
    assert.match(unit, /^RequiresMountsFor=\/srv\/mirror$/m);
  });
});
