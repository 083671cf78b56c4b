// Every rendered nginx file is checked by its own tool, for a matrix of configs.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { spawn } from "node:child_process";
import { renderNginxConf, renderNginxUnit, runtimeDirName, webModel, type WebModel } from "../../components/render/nginx";
import { webSupportFiles } from "../../components/render/web";
import { freePort } from "../../vm/vm";
import { nodeConfig } from "../lib/fixtures";
import { exposure, sh, tmpDir } from "../lib/tools";

function model(web: Record<string, unknown>, mirrorRoot = "/srv/mirror"): WebModel {
  return webModel(nodeConfig({ web, mirrorRoot }));
}

const matrix: [string, Record<string, unknown>, string?][] = [
  ["defaults", {}],
  ["port 8080, long keepalive", { httpPort: 8080, keepaliveTimeoutSeconds: 65, keepaliveRequests: 1000 }],
  ["strict ISO limit", { isoConnectionsPerIp: 1 }, "/data/mirror"],
  ["one IPv4 and one IPv6 address", { listenAddresses: ["127.0.0.1", "::1"] }],
];

describe("nginx rendering", () => {
  for (const [title, web, root] of matrix) {
    it(`passes nginx -t: ${title}`, () => {
      const m = model(web, root);
      const dir = tmpDir("nginx");
      const conf = path.join(dir, "nginx.conf");
      for (const f of webSupportFiles(m)) {
        assert.equal(sh("bash", ["-c", `STAGED=${dir}/staged.js; cat > "$STAGED"; ${f.validate}`], f.content).code, 0, "the support file passes its own check");
        fs.writeFileSync(path.join(dir, path.basename(f.path)), f.content);
      }
      fs.writeFileSync(conf, renderNginxConf({ ...m, listingFilterPath: path.join(dir, "listing-filter.js") }));
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
    assert.deepEqual(text.match(/^\s*listen .*$/gm)?.map((l) => l.trim()), ["listen 80 default_server;", "listen [::]:80 default_server;"], "IPv4 and IPv6 by default");
    const bound = renderNginxConf(model({ listenAddresses: ["192.0.2.1", "2001:db8::1"], tls: { certificatePath: "/c", keyPath: "/k", httpsPort: 443 } }));
    assert.deepEqual(bound.match(/^\s*listen .*$/gm)?.map((l) => l.trim()), [
      "listen 192.0.2.1:80 default_server;",
      "listen [2001:db8::1]:80 default_server;",
      "listen 192.0.2.1:443 ssl default_server;",
      "listen [2001:db8::1]:443 ssl default_server;",
    ]);
    assert.doesNotMatch(text, /\buser\s+\S+;/, "no `user` directive: the unit sets the identity, never root");
  });

  it("a broken listing filter fails its check", () => {
    const [filter] = webSupportFiles(model({}));
    const r = sh("bash", ["-c", `STAGED=$(mktemp); cat > "$STAGED"; ${filter.validate}`], filter.content.replace("function readable", "function readable("));
    assert.notEqual(r.code, 0, r.out);
  });

  it("serves listings without the entries its account cannot read (real nginx on loopback)", async () => {
    const dir = tmpDir("nginx-listing");
    const root = path.join(dir, "tree");
    fs.mkdirSync(path.join(root, "releases", "41"), { recursive: true });
    fs.mkdirSync(path.join(root, "releases", "42", "os"), { recursive: true });
    fs.writeFileSync(path.join(root, "releases", "41", "README"), "released\n");
    fs.writeFileSync(path.join(root, "releases", "a b&c.txt"), "odd name\n");
    fs.writeFileSync(path.join(root, "releases", "42", "os", "STAGED"), "staged\n");
    fs.writeFileSync(path.join(root, "releases", "private.txt"), "0640\n");
    fs.chmodSync(path.join(root, "releases", "private.txt"), 0o640);
    // Staged, as the sync leaves it: 0750, a group the server is not in.
    fs.chmodSync(path.join(root, "releases", "42"), 0o750);
    fs.chmodSync(dir, 0o755);
    const port = await freePort("127.0.0.1");
    const m = { ...model({ httpPort: port, listenAddresses: ["127.0.0.1", "::1"] }, root), listingFilterPath: path.join(dir, "listing-filter.js") };
    for (const f of webSupportFiles(m)) fs.writeFileSync(f.path, f.content);
    const conf = path.join(dir, "nginx.conf");
    // Run as root, nginx's workers take the unprivileged "nobody".
    fs.writeFileSync(conf, renderNginxConf(m));
    fs.mkdirSync(`/run/${runtimeDirName(m.unitName)}`, { recursive: true });
    fs.mkdirSync(`/var/log/${runtimeDirName(m.unitName)}`, { recursive: true });
    const nginx = spawn("nginx", ["-c", conf, "-e", "stderr", "-g", "daemon off;"], { stdio: "ignore" });
    try {
      let listing = "";
      for (let i = 0; i < 50 && listing === ""; i++) {
        listing = await fetch(`http://127.0.0.1:${port}/releases/`).then((r) => r.text(), () => "");
        if (listing === "") await new Promise((r) => setTimeout(r, 100));
      }
      assert.match(listing, /<a href="41\/">41\/<\/a>/);
      assert.match(listing, /<a href="a%20b%26c\.txt">/, "names needing escapes stay");
      assert.doesNotMatch(listing, /href="42\//, "the staged directory's name is gone");
      assert.doesNotMatch(listing, /private\.txt/, "an unreadable file's name is gone");
      assert.equal((await fetch(`http://127.0.0.1:${port}/releases/42/`)).status, 403);
      assert.equal(await (await fetch(`http://127.0.0.1:${port}/releases/41/README`)).text(), "released\n");
      assert.equal(await (await fetch(`http://[::1]:${port}/releases/41/README`)).text(), "released\n", "the IPv6 address is served too");
      // The open-file cache: a refusal is not cached, so a bitflip shows at once ...
      const staged = `http://127.0.0.1:${port}/releases/42/os/STAGED`;
      assert.equal((await fetch(staged)).status, 403);
      assert.equal((await fetch(staged)).status, 403);
      fs.chmodSync(path.join(root, "releases", "42"), 0o755);
      assert.equal(await (await fetch(staged)).text(), "staged\n", "public on the first request after the flip");
      // Served a few times, so the cache holds it open (seen: refused again after 9.3 s).
      for (let i = 0; i < 5; i++) assert.equal((await fetch(staged)).status, 200);
      // ... and a tree made unreadable again is refused once the cached entry is revalidated (10 s).
      fs.chmodSync(path.join(root, "releases", "42"), 0o750);
      const revoked = Date.now();
      let status = 200;
      while (status === 200 && Date.now() - revoked < 20_000) {
        status = (await fetch(staged)).status;
        if (status === 200) await new Promise((r) => setTimeout(r, 250));
      }
      assert.equal(status, 403, "refused again within 20 s");
    } finally {
      nginx.kill();
    }
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
