// Every rendered nginx file is checked by its own tool, for a matrix of configs.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { renderNginxConf, renderNginxUnit, runtimeDirName, webModel, type WebModel } from "../../components/render/nginx";
import { webSupportFiles } from "../../components/render/web";
import { serveTree } from "../lib/nginx";
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

/** A directory listing, once nginx answers (bounded: 5 s). */
async function firstListing(port: number, urlPath: string): Promise<string> {
  let listing = "";
  for (let i = 0; i < 50 && listing === ""; i++) {
    listing = await fetch(`http://127.0.0.1:${port}${urlPath}`).then((r) => r.text(), () => "");
    if (listing === "") await new Promise((r) => setTimeout(r, 100));
  }
  return listing;
}

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
    const { port, nginx } = await serveTree(dir, root);
    try {
      const listing = await firstListing(port, "/releases/");
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

  it("listings never show a staged name and never break, whatever the bytes of a name (real nginx)", async () => {
    const dir = tmpDir("nginx-odd-names");
    const root = path.join(dir, "tree");
    const releases = path.join(root, "releases");
    fs.mkdirSync(path.join(releases, "41"), { recursive: true });
    fs.writeFileSync(path.join(releases, "41", "README"), "released\n");
    const at = (name: string | Buffer) => (typeof name === "string" ? path.join(releases, name) : Buffer.concat([Buffer.from(`${releases}/`), name]));
    // Staged (0750, a group the server is not in), with names that break line-by-line filtering or decoding.
    const staged: (string | Buffer)[] = [
      "next\nLEAK-after-newline",
      "rc\rLEAK-after-cr",
      "tab\tLEAK\u0001ctl",
      Buffer.from([0x4c, 0x45, 0x41, 0x4b, 0x2d, 0xff, 0xfe, 0x2d, 0x62, 0x61, 0x64]),
      `LEAK-long-${"x".repeat(200)}`,
    ];
    for (const name of staged) {
      fs.mkdirSync(at(name));
      fs.chmodSync(at(name), 0o750);
    }
    // Released (readable), with odd names too: listed, and nothing breaks around them.
    fs.mkdirSync(path.join(releases, "ok\nsecond-line"));
    fs.writeFileSync(at(Buffer.from([0x72, 0x65, 0x6c, 0xe9, 0x2e, 0x74, 0x78, 0x74])), "latin-1 name\n");
    const { port, nginx } = await serveTree(dir, root);
    try {
      const res = await firstListing(port, "/releases/");
      assert.match(res, /<a href="41\/">41\/<\/a>/, "the listing is whole");
      assert.match(res, /<\/pre>[\s\S]*<\/html>/, "to its end");
      assert.doesNotMatch(res, /LEAK/, "no part of a staged name shows");
      assert.match(res, /href="ok%0Asecond-line\/"/, "a readable odd name stays listed");
      assert.match(res, /href="rel%E9\.txt"/i, "so does a readable name that is not UTF-8");
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
