// ACME (web.acme): the config that turns it on, its units checked by
// systemd's own tool, the web servers' challenge location and redirect, and
// the rendered renewal script run for real with lego against pebble (the
// test CA) on loopback, its challenges served by a real nginx.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { ACME_CHALLENGE, acmeModel, renderAcmeScript, renderAcmeService, renderAcmeStartTimer, renderAcmeTimer, ACME_START_TIMER, type AcmeModel } from "../../components/render/acme";
import { renderApacheConf } from "../../components/render/apache";
import { renderNginxConf, runtimeDirName, webModel } from "../../components/render/nginx";
import { webSupportFiles } from "../../components/render/web";
import { planNode } from "../../plan/node";
import { KIT_TEMPLATES } from "../../components/render/templates";
import { ACME_CERTIFICATE, ACME_KEY, ACME_SCRIPT } from "../../plan/paths";
import { freePort } from "../../vm/vm";
import { nodeConfig } from "../lib/fixtures";
import { startPebble, type Pebble } from "../lib/pebble";
import { exposure, sh, tmpDir } from "../lib/tools";

const ACME = { contact: "ops@example.org", names: ["mirror.example.org", "www.mirror.example.org"] };

describe("ACME: config, plan and units", () => {
  it("web.acme serves the kit's certificate paths on its HTTPS port and adds lego, the script and three units", () => {
    const node = nodeConfig({ web: { acme: { ...ACME, httpsPort: 8443 } } });
    assert.deepEqual(node.web.tls, { certificatePath: ACME_CERTIFICATE, keyPath: ACME_KEY, httpsPort: 8443 });
    assert.equal(node.web.acme?.directoryUrl, "https://acme-v02.api.letsencrypt.org/directory");
    const plan = planNode(node, KIT_TEMPLATES);
    assert.ok(plan.packages.includes("lego") && plan.packages.includes("openssl"), plan.packages.join(" "));
    assert.deepEqual(
      plan.units.map((u) => [u.unitName, u.activation]).filter(([u]) => u.includes("acme")),
      [["mirrorkit-acme.service", "install"], ["mirrorkit-acme.timer", "start"], [ACME_START_TIMER, "start"]],
    );
    assert.ok(plan.files.some((f) => f.path === ACME_SCRIPT && f.mode === "0755"));
    // The placeholder is made before the server's config is checked.
    assert.match(plan.web.config.check ?? "", new RegExp(`${ACME_SCRIPT} --placeholder`));
    // Without web.acme: none of it.
    const plain = planNode(nodeConfig({}), KIT_TEMPLATES);
    assert.ok(!plain.files.some((f) => f.path === ACME_SCRIPT) && !plain.packages.includes("lego"));
    assert.doesNotMatch(plain.web.config.check ?? "", /placeholder/);
  });

  it("service and timers pass systemd-analyze verify; the service is sandboxed (exposure <= 2.5, as every kit unit), the start timer has no spread", () => {
    const node = nodeConfig({ web: { acme: ACME } });
    const m = acmeModel(node.web.acme!, node.accounts);
    const dir = tmpDir("acme-units");
    const script = path.join(dir, "acme-renew");
    fs.writeFileSync(script, renderAcmeScript(m), { mode: 0o755 });
    assert.equal(sh("sh", ["-n", script]).code, 0);
    const service = path.join(dir, "mirrorkit-acme.service");
    fs.writeFileSync(service, renderAcmeService(m).replace(ACME_SCRIPT, script));
    fs.writeFileSync(path.join(dir, "mirrorkit-acme.timer"), renderAcmeTimer(m));
    fs.writeFileSync(path.join(dir, ACME_START_TIMER), renderAcmeStartTimer(m));
    const r = sh("systemd-analyze", ["verify", service, path.join(dir, "mirrorkit-acme.timer"), path.join(dir, ACME_START_TIMER)]);
    assert.equal(r.code, 0, r.out);
    const score = exposure(service);
    assert.ok(score <= 2.5, String(score));
    assert.match(fs.readFileSync(path.join(dir, "mirrorkit-acme.timer"), "utf8"), /^RandomizedDelaySec=3600$/m);
    assert.doesNotMatch(fs.readFileSync(path.join(dir, ACME_START_TIMER), "utf8"), /RandomizedDelaySec/);
  });

  it("Apache answers challenges from the webroot and, with redirectHttp, sends other HTTP requests to HTTPS; apache2 -t passes both", () => {
    const dir = tmpDir("acme-apache");
    const tls = selfSigned(dir);
    for (const redirectHttp of [false, true]) {
      const node = nodeConfig({ web: { server: "apache", acme: { ...ACME, httpsPort: 8443, redirectHttp } } });
      const m = webModel(node);
      const conf = path.join(dir, `httpd-${redirectHttp}.conf`);
      // The served pair is the renewal's; here a throwaway one.
      fs.writeFileSync(conf, renderApacheConf({ ...m, web: { ...m.web, tls: { ...m.web.tls!, certificatePath: tls.cert, keyPath: tls.key } }, configPath: conf }, "mirror.example.org"));
      const text = fs.readFileSync(conf, "utf8");
      assert.match(text, /^Alias "\/\.well-known\/acme-challenge\/" "\/var\/lib\/mirrorkit-acme\/webroot\/\.well-known\/acme-challenge\/"$/m);
      assert.equal(/RewriteRule \^ https:\/\/%\{SERVER_NAME\}:8443%\{REQUEST_URI\} \[R=301,L\]/.test(text), redirectHttp);
      fs.mkdirSync(`/run/${runtimeDirName(m.unitName)}`, { recursive: true });
      fs.mkdirSync(`/var/log/${runtimeDirName(m.unitName)}`, { recursive: true });
      fs.mkdirSync(m.mirrorRoot, { recursive: true });
      const r = sh("apache2", ["-t", "-f", conf]);
      assert.equal(r.code, 0, r.out);
    }
  });

  it("a real nginx with redirectHttp: a challenge token over HTTP (text/plain), every other HTTP request 301 to HTTPS with its port, the tree over HTTPS, dotfiles still 404", async () => {
    const dir = tmpDir("acme-nginx");
    fs.chmodSync(dir, 0o755);
    const tree = path.join(dir, "tree");
    fs.mkdirSync(path.join(tree, "f"), { recursive: true });
    fs.writeFileSync(path.join(tree, "f", "README"), "released\n");
    fs.chmodSync(tree, 0o755);
    const tls = selfSigned(dir);
    const [httpPort, httpsPort] = [await freePort("127.0.0.1"), await freePort("127.0.0.1")];
    const node = nodeConfig({ mirrorRoot: tree, web: { httpPort, listenAddresses: ["127.0.0.1"], acme: { ...ACME, httpsPort, redirectHttp: true } } });
    const m = { ...webModel(node), listingFilterPath: path.join(dir, "listing-filter.js") };
    for (const f of webSupportFiles(m)) fs.writeFileSync(f.path, f.content);
    const conf = path.join(dir, "nginx.conf");
    fs.writeFileSync(conf, renderNginxConf({ ...m, web: { ...m.web, tls: { ...m.web.tls!, certificatePath: tls.cert, keyPath: tls.key } } }));
    fs.mkdirSync(`/run/${runtimeDirName(m.unitName)}`, { recursive: true });
    fs.mkdirSync(`/var/log/${runtimeDirName(m.unitName)}`, { recursive: true });
    // Where lego --http.webroot writes a token (the kit's path).
    const token = `mirrorkit-test-${process.pid}`;
    fs.mkdirSync(ACME_CHALLENGE.directory, { recursive: true });
    fs.writeFileSync(path.join(ACME_CHALLENGE.directory, token), "token.thumbprint");
    const nginx = spawn("nginx", ["-c", conf, "-e", "stderr", "-g", "daemon off;"], { stdio: "ignore" });
    try {
      const base = `http://127.0.0.1:${httpPort}`;
      let challenge: Response | undefined;
      for (let i = 0; i < 50 && !challenge; i++) challenge = await fetch(`${base}${ACME_CHALLENGE.urlPath}${token}`).catch(async () => void (await new Promise((r) => setTimeout(r, 100))));
      assert.ok(challenge);
      assert.equal(challenge.status, 200);
      assert.equal(await challenge.text(), "token.thumbprint");
      assert.match(challenge.headers.get("content-type") ?? "", /^text\/plain/);
      // curl: fetch() does not send a Host header of its own.
      const moved = sh("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", "-H", "Host: mirror.example.org", `${base}/f/README?x=1`]);
      assert.equal(moved.out, `301 https://mirror.example.org:${httpsPort}/f/README?x=1`);
      const https = sh("curl", ["-sS", "-k", `https://127.0.0.1:${httpsPort}/f/README`]);
      assert.equal(https.out, "released\n");
      assert.equal(sh("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-k", `https://127.0.0.1:${httpsPort}/.hidden`]).out, "404");
    } finally {
      nginx.kill();
      fs.rmSync(path.join(ACME_CHALLENGE.directory, token), { force: true });
    }
  });
});

/** A throwaway self-signed pair. */
function selfSigned(dir: string): { cert: string; key: string } {
  const cert = path.join(dir, "cert.pem");
  const key = path.join(dir, "key.pem");
  const r = sh("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=mirror.test", "-keyout", key, "-out", cert]);
  assert.equal(r.code, 0, r.out);
  return { cert, key };
}

describe("ACME renewal script, run locally with lego against pebble", () => {
  let pebble: Pebble;
  let nginx: ChildProcess;
  let root: string;
  let httpPort: number;

  before(async () => {
    root = tmpDir("acme-run");
    fs.chmodSync(root, 0o755);
    httpPort = await freePort("127.0.0.1");
    // Challenges answered from the webroot by a real nginx, as the node's would.
    fs.mkdirSync(path.join(root, "webroot"), { recursive: true });
    fs.writeFileSync(
      path.join(root, "nginx.conf"),
      `pid ${root}/nginx.pid;\nerror_log stderr;\nevents {}\nhttp {\n access_log off;\n client_body_temp_path ${root}/tmp;\n` +
        ` server { listen 127.0.0.1:${httpPort}; location ^~ /.well-known/acme-challenge/ { root ${root}/webroot; } location / { return 404; } }\n}\n`,
    );
    nginx = spawn("nginx", ["-c", path.join(root, "nginx.conf"), "-e", "stderr", "-g", "daemon off;"], { stdio: "ignore" });
    pebble = await startPebble({ httpPort, nodeAddress: "127.0.0.1" });
  });
  after(() => {
    pebble?.stop();
    nginx?.kill();
  });

  /** The script for `names`, every path in the scratch directory, the web server's group root's. */
  function scriptFor(names: string[], directoryUrl = pebble.directoryUrl): { run: (arg?: string) => { code: number; out: string }; m: AcmeModel } {
    const node = nodeConfig({ web: { acme: { contact: "ops@example.org", names, directoryUrl, directoryCaCertificate: pebble.directoryCa } } });
    const base = acmeModel(node.web.acme!, node.accounts);
    const m: AcmeModel = {
      ...base,
      webGroup: "root",
      mirror: { user: "root", group: "root" },
      paths: {
        legoDir: path.join(root, "lego"),
        webroot: path.join(root, "webroot"),
        tlsDir: path.join(root, "tls"),
        certificate: path.join(root, "tls", "fullchain.pem"),
        key: path.join(root, "tls", "privkey.pem"),
        directoryCa: path.join(root, "directory-ca.pem"),
        metricsFile: path.join(root, "metrics", "mirrorkit-acme.prom"),
        webUnit: "mirrorkit-acme-test-no-such.service",
      },
    };
    fs.writeFileSync(m.paths.directoryCa, pebble.directoryCa);
    const script = path.join(root, "acme-renew");
    fs.writeFileSync(script, renderAcmeScript(m), { mode: 0o755 });
    return { m, run: (arg) => sh("sh", [script, ...(arg ? [arg] : [])]) };
  }
  const served = () => fs.readFileSync(path.join(root, "tls", "fullchain.pem"), "utf8");
  const metrics = () => fs.readFileSync(path.join(root, "metrics", "mirrorkit-acme.prom"), "utf8");
  const metric = (name: string) => Number(new RegExp(`^${name}\\{name="mirror.test"\\} (\\S+)$`, "m").exec(metrics())?.[1] ?? NaN);
  const sans = (pem: string) => {
    const f = path.join(root, "probe.pem");
    fs.writeFileSync(f, pem);
    return sh("openssl", ["x509", "-in", f, "-noout", "-ext", "subjectAltName"]).out.match(/DNS:[^,\s]+/g)?.sort() ?? [];
  };

  it("--placeholder serves a 2-day self-signed certificate for the names, once; the metrics say placeholder", () => {
    const s = scriptFor(["mirror.test", "www.mirror.test"]);
    const r = s.run("--placeholder");
    assert.equal(r.code, 0, r.out);
    const first = served();
    assert.match(sh("openssl", ["x509", "-in", path.join(root, "tls", "fullchain.pem"), "-noout", "-subject"]).out, /mirrorkit placeholder/);
    assert.deepEqual(sans(first), ["DNS:mirror.test", "DNS:www.mirror.test"]);
    assert.equal(fs.statSync(path.join(root, "tls", "privkey.pem")).mode & 0o777, 0o640);
    assert.equal(metric("mirrorkit_tls_certificate_placeholder"), 1);
    const expiry = metric("mirrorkit_tls_certificate_expiry_timestamp_seconds");
    assert.ok(Math.abs(expiry - (Date.now() / 1000 + 2 * 86400)) < 600, String(expiry));
    assert.doesNotMatch(metrics(), /mirrorkit_acme_success/, "no ACME run yet");
    assert.equal(s.run("--placeholder").code, 0);
    assert.equal(served(), first, "a second call keeps what is served");
    const lint = sh("promtool", ["check", "metrics"], metrics());
    assert.equal(lint.code, 0, lint.out);
  });

  it("the first run gets a certificate from pebble by http-01 and serves it; the next run changes nothing", async () => {
    const s = scriptFor(["mirror.test", "www.mirror.test"]);
    const r = s.run();
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /new certificate for mirror\.test www\.mirror\.test installed/);
    const issuedPem = served();
    assert.deepEqual(sans(issuedPem), ["DNS:mirror.test", "DNS:www.mirror.test"]);
    // It verifies against pebble's issuing root (the chain follows the leaf in fullchain.pem).
    fs.writeFileSync(path.join(root, "root.pem"), await pebble.issuingRoot());
    const verify = sh("openssl", ["verify", "-CAfile", path.join(root, "root.pem"), "-untrusted", path.join(root, "tls", "fullchain.pem"), path.join(root, "tls", "fullchain.pem")]);
    assert.equal(verify.code, 0, verify.out);
    assert.equal(metric("mirrorkit_tls_certificate_placeholder"), 0);
    assert.equal(metric("mirrorkit_acme_success"), 1);
    assert.equal(metric("mirrorkit_tls_certificate_names_match"), 1);
    const again = s.run();
    assert.equal(again.code, 0, again.out);
    assert.match(again.out, /certificate unchanged/);
    assert.equal(served(), issuedPem);
  });

  it("--force renews now: a new certificate is served", () => {
    const before = served();
    const r = scriptFor(["mirror.test", "www.mirror.test"]).run("--force");
    assert.equal(r.code, 0, r.out);
    assert.notEqual(served(), before);
    assert.equal(metric("mirrorkit_acme_success"), 1);
  });

  it("a name dropped from the config gets a new certificate without it", () => {
    const r = scriptFor(["mirror.test"]).run();
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(sans(served()), ["DNS:mirror.test"]);
    assert.equal(metric("mirrorkit_tls_certificate_names_match"), 1);
  });

  it("a CA that cannot be reached fails the run (exit 1, success 0) and keeps the served certificate", () => {
    const before = served();
    const r = scriptFor(["mirror.test", "other.mirror.test"], "https://127.0.0.1:1/dir").run();
    assert.notEqual(r.code, 0, r.out);
    assert.match(r.out, /issuance failed/);
    assert.equal(served(), before);
    assert.equal(metric("mirrorkit_acme_success"), 0);
    assert.equal(metric("mirrorkit_tls_certificate_names_match"), 0, "the served certificate lacks the new name");
    assert.equal(metric("mirrorkit_tls_certificate_placeholder"), 0);
  });
});
