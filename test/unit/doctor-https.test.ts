// `npm run doctor -- --https`: the certificate judged as a client judges it,
// against the kit's real nginx serving HTTPS with a certificate from a test CA.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import type { ChildProcess } from "node:child_process";
import { PROJECT_DIR } from "../../scripts/lib/pulumi";
import { serveTree } from "../lib/nginx";
import { sh, tmpDir } from "../lib/tools";

describe("doctor --https (real nginx, a test CA)", () => {
  const dir = tmpDir("doctor-https");
  const ca = path.join(dir, "ca.pem");
  let served: { port: number; httpsPort: number; nginx: ChildProcess };

  before(async () => {
    // A CA, and a certificate for mirror.test it signs, valid 30 days.
    const openssl = (args: string[]) => {
      const r = sh("openssl", args);
      assert.equal(r.code, 0, r.out);
    };
    openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "30", "-subj", "/CN=mirrorkit test CA", "-keyout", path.join(dir, "ca.key"), "-out", ca]);
    openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=mirror.test", "-keyout", path.join(dir, "key.pem"), "-out", path.join(dir, "req.pem")]);
    fs.writeFileSync(path.join(dir, "ext.cnf"), "subjectAltName=DNS:mirror.test\n");
    openssl(["x509", "-req", "-in", path.join(dir, "req.pem"), "-CA", ca, "-CAkey", path.join(dir, "ca.key"), "-CAcreateserial", "-days", "30", "-extfile", path.join(dir, "ext.cnf"), "-out", path.join(dir, "cert.pem")]);
    const root = path.join(dir, "tree");
    fs.mkdirSync(root, { recursive: true });
    fs.writeFileSync(path.join(root, "README"), "hello\n");
    sh("chmod", ["-R", "a+rX", dir]);
    served = await serveTree(dir, root, { certificatePath: path.join(dir, "cert.pem"), keyPath: path.join(dir, "key.pem") });
    for (let i = 0; i < 50; i++) {
      if (sh("curl", ["-s", "-o", "/dev/null", `http://127.0.0.1:${served.port}/`]).code === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  after(() => served?.nginx.kill());

  const doctor = (...extra: string[]) =>
    sh(process.execPath, ["--import", "tsx", path.join(PROJECT_DIR, "scripts", "doctor.ts"), "--url", `http://127.0.0.1:${served.port}`, "--https", `https://127.0.0.1:${served.httpsPort}`, ...extra]);

  it("a certificate from a trusted CA, for the name, with days left: every HTTPS probe passes", () => {
    const r = doctor("--name", "mirror.test", "--ca", ca);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /ok\s+https: the certificate is valid for mirror\.test/);
    assert.match(r.out, /ok\s+https: the certificate has at least 14 days left: (29|30) days left/);
    assert.match(r.out, /doctor: all 4 probes passed/);
  });

  it("each problem fails its own probe: another name, an untrusted CA, too few days left", () => {
    const name = doctor("--name", "other.test", "--ca", ca);
    assert.equal(name.code, 1, name.out);
    assert.match(name.out, /FAIL\s+https: the certificate is valid for other\.test.*DNS:mirror\.test/);
    const untrusted = doctor("--name", "mirror.test");
    assert.equal(untrusted.code, 1, untrusted.out);
    assert.match(untrusted.out, /FAIL\s+https: the certificate of .* verifies.*not trusted/);
    const days = doctor("--name", "mirror.test", "--ca", ca, "--cert-min-days", "60");
    assert.equal(days.code, 1, days.out);
    assert.match(days.out, /FAIL\s+https: the certificate has at least 60 days left/);
  });

  it("bad usage exits 2 with the reason", () => {
    const r = doctor("--name", "mirror.test", "--ca", path.join(dir, "missing.pem"));
    assert.equal(r.code, 2, r.out);
    assert.match(r.out, /--ca: no such file/);
  });
});
