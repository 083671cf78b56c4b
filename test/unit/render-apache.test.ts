// Apache rendering, checked by apache2 itself and systemd-analyze, for a matrix of configs.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { renderApacheConf, renderApacheUnit } from "../../components/render/apache";
import { runtimeDirName, webModel } from "../../components/render/nginx";
import { nodeConfig } from "../lib/fixtures";
import { exposure, sh, tmpDir } from "../lib/tools";

const matrix: [string, Record<string, unknown>, string?][] = [
  ["defaults", {}],
  ["port 8080, long keepalive, ISO limit 2", { httpPort: 8080, keepaliveTimeoutSeconds: 30, keepaliveRequests: 500, isoConnectionsPerIp: 2 }, "/data/mirror"],
  ["HTTPS", { tls: { certificatePath: "CERT", keyPath: "KEY", httpsPort: 8443 } }],
  ["HTTPS on one IPv4 and one IPv6 address", { listenAddresses: ["127.0.0.1", "::1"], tls: { certificatePath: "CERT", keyPath: "KEY", httpsPort: 8443 } }],
];

/** A throwaway self-signed certificate for the HTTPS case. */
function selfSigned(dir: string): { cert: string; key: string } {
  const cert = path.join(dir, "cert.pem");
  const key = path.join(dir, "key.pem");
  const r = sh("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=mirror.test", "-keyout", key, "-out", cert]);
  assert.equal(r.code, 0, r.out);
  return { cert, key };
}

describe("Apache rendering", () => {
  for (const [title, web, root] of matrix) {
    it(`passes apache2 -t: ${title}`, () => {
      const dir = tmpDir("apache");
      let webCfg = web;
      if (web.tls) {
        const { cert, key } = selfSigned(dir);
        webCfg = { ...web, tls: { certificatePath: cert, keyPath: key, httpsPort: 8443 } };
      }
      const m = webModel(nodeConfig({ web: { server: "apache", ...webCfg }, mirrorRoot: root ?? "/srv/mirror" }));
      const conf = path.join(dir, "httpd.conf");
      fs.writeFileSync(conf, renderApacheConf({ ...m, configPath: conf }));
      const rt = runtimeDirName(m.unitName);
      fs.mkdirSync(`/run/${rt}`, { recursive: true });
      fs.mkdirSync(`/var/log/${rt}`, { recursive: true });
      fs.mkdirSync(m.mirrorRoot, { recursive: true });
      const r = sh("apache2", ["-t", "-f", conf]);
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, /Syntax OK/);
    });
  }

  it("unit verifies, runs as the http account and scores <= 2.5", () => {
    const m = webModel(nodeConfig({ web: { server: "apache" } }));
    const unit = path.join(tmpDir("unit"), m.unitName);
    fs.writeFileSync(unit, renderApacheUnit(m));
    const r = sh("systemd-analyze", ["verify", unit]);
    assert.equal(r.code, 0, r.out);
    assert.ok(exposure(unit) <= 2.5, `exposure ${exposure(unit)}`);
    const text = fs.readFileSync(unit, "utf8");
    assert.match(text, /^User=mirror-http$/m);
    assert.match(text, /^ExecStart=\/usr\/sbin\/apache2 -f \/etc\/mirrorkit\/apache\/httpd\.conf -DFOREGROUND$/m);
  });

  it("carries the same rules as the nginx config", () => {
    const text = renderApacheConf(webModel(nodeConfig({ web: { server: "apache" } })));
    assert.match(text, /^KeepAliveTimeout 2$/m);
    assert.match(text, /^MaxKeepAliveRequests 100$/m);
    assert.match(text, /^QS_ClientEventRequestLimit 6$/m);
    assert.match(text, /^SetEnvIf Request_URI .*\.\[iI\]\[sS\]\[oO\]\$" QS_EventRequest=yes$/m);
    assert.match(text, /RewriteCond %\{HTTP:Range\} \.\nRewriteRule .*\[F\]/);
    assert.match(text, /^AddType application\/octet-stream \.iso \.rpm \.drpm \.deb/m);
    assert.match(text, /IndexIgnore \.\?\?\* \.~tmp~/);
    assert.doesNotMatch(text, /^\s*IndexOptions.*ShowForbidden/m, "forbidden (staged) entries stay out of listings");
    assert.match(text, /Options Indexes SymLinksIfOwnerMatch/);
    assert.deepEqual(text.match(/^Listen .*$/gm), ["Listen 80"], "a bare Listen takes IPv4 and IPv6");
    const bound = renderApacheConf(webModel(nodeConfig({ web: { server: "apache", listenAddresses: ["192.0.2.1", "2001:db8::1"] } })));
    assert.deepEqual(bound.match(/^Listen .*$/gm), ["Listen 192.0.2.1:80", "Listen [2001:db8::1]:80"]);
  });
});
