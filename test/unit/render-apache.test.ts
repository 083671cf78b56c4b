// Apache rendering, checked by apache2 itself and systemd-analyze, for a matrix of configs.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { spawn } from "node:child_process";
import { freePort } from "../../vm/vm";
import { clientKeyRules, renderApacheConf, renderApacheUnit } from "../../components/render/apache";
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

  it("listings never show a staged name and never break, whatever the bytes of a name (real Apache)", async () => {
    const dir = tmpDir("apache-odd-names");
    fs.chmodSync(dir, 0o755);
    const releases = path.join(dir, "tree", "releases");
    fs.mkdirSync(path.join(releases, "41"), { recursive: true });
    fs.writeFileSync(path.join(releases, "41", "README"), "released\n");
    const at = (name: string | Buffer) => (typeof name === "string" ? path.join(releases, name) : Buffer.concat([Buffer.from(`${releases}/`), name]));
    for (const name of ["next\nLEAK-after-newline", "rc\rLEAK-after-cr", Buffer.from([0x4c, 0x45, 0x41, 0x4b, 0xff, 0xfe]), `LEAK-long-${"x".repeat(200)}`]) {
      fs.mkdirSync(at(name));
      fs.chmodSync(at(name), 0o750);
    }
    fs.mkdirSync(path.join(releases, "ok\nsecond-line"));
    fs.writeFileSync(at(Buffer.from([0x72, 0x65, 0x6c, 0xe9, 0x2e, 0x74, 0x78, 0x74])), "latin-1 name\n");
    const port = await freePort("127.0.0.1");
    const m = webModel(nodeConfig({ web: { server: "apache", httpPort: port, listenAddresses: ["127.0.0.1"] }, mirrorRoot: path.join(dir, "tree") }));
    const conf = path.join(dir, "httpd.conf");
    fs.writeFileSync(conf, renderApacheConf({ ...m, configPath: conf }));
    // As on a node, the whole server runs as an unprivileged account (here nobody).
    const rt = runtimeDirName(m.unitName);
    for (const d of [`/run/${rt}`, `/var/log/${rt}`]) {
      fs.mkdirSync(d, { recursive: true });
      sh("chown", ["-R", "nobody:nogroup", d]);
    }
    const apache = spawn("runuser", ["-u", "nobody", "--", "apache2", "-f", conf, "-DFOREGROUND"], { stdio: "ignore" });
    try {
      let listing = "";
      for (let i = 0; i < 50 && listing === ""; i++) {
        listing = await fetch(`http://127.0.0.1:${port}/releases/`).then((r) => r.text(), () => "");
        if (listing === "") await new Promise((r) => setTimeout(r, 100));
      }
      assert.match(listing, /<a href="41\/">41\/<\/a>/, "the listing is whole");
      assert.match(listing, /<\/pre>\s*<\/body><\/html>/, "to its end");
      assert.doesNotMatch(listing, /LEAK/, "no part of a staged name shows");
      assert.match(listing, /href="ok%0asecond-line\/"/i, "a readable odd name stays listed");
      assert.match(listing, /href="rel%e9\.txt"/i, "so does a readable name that is not UTF-8");
    } finally {
      apache.kill();
    }
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

describe("Apache client grouping (clientKeyRules)", () => {
  /** The eight groups of an IPv6 address, as numbers. */
  const expand = (a: string): number[] => {
    const [head, tail] = a.includes("::") ? a.split("::") : [a, undefined];
    const h = head ? head.split(":") : [];
    const t = tail ? tail.split(":") : [];
    return [...h, ...Array(8 - h.length - t.length).fill("0"), ...t].map((g) => parseInt(g, 16));
  };
  /** What mod_setenvif would set: the last rule that matches, its $n filled in. */
  const keyOf = (address: string, rules: { pattern: string; value: string }[]) => {
    let key = "";
    for (const r of rules) {
      const m = new RegExp(r.pattern).exec(address);
      if (m) key = r.value.replace(/\$(\d)/g, (_, n: string) => m[Number(n)]);
    }
    return key;
  };

  it("every IPv6 form (each place '::' can stand) maps to its prefix, for each whole-group prefix; IPv4 by octets", () => {
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    let checked = 0;
    for (const prefix of [16, 32, 48, 64, 80, 96, 112]) {
      const rules = clientKeyRules(32, prefix);
      for (let i = 0; i < 400; i++) {
        // Runs of zero groups in random places, so every compression shows up.
        const groups = Array.from({ length: 8 }, () => (rand() < 0.45 ? 0 : Math.floor(rand() * 0x10000)));
        const canonical = new URL(`http://[${groups.map((g) => g.toString(16)).join(":")}]/`).hostname.slice(1, -1);
        const want = groups.map((g, j) => (j < prefix / 16 ? g : 0));
        const key = keyOf(canonical, rules);
        assert.ok(key.endsWith("::"), `${canonical} /${prefix} -> ${key}`);
        assert.deepEqual(expand(key), want, `${canonical} /${prefix} -> ${key}`);
        checked++;
      }
    }
    assert.equal(checked, 2800);
    assert.equal(keyOf("2001:db8::1", clientKeyRules(32, 128)), "2001:db8::1", "/128: the address itself");
    assert.equal(keyOf("192.0.2.77", clientKeyRules(24, 64)), "192.0.2.0");
    assert.equal(keyOf("192.0.2.77", clientKeyRules(32, 64)), "192.0.2.77");
  });
});
