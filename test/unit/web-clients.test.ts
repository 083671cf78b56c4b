// What clients get from the kit's real nginx and Apache: the per-client ISO
// limit (IPv6 grouped by /64) with 429 and Retry-After, HEAD never
// limited, caching by kind of file, and no Content-Encoding on .gz files. The limit runs in a network namespace of the
// test's own, with documentation-range IPv6 addresses on its loopback.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { runtimeDirName, webModel } from "../../components/render/nginx";
import { renderWebConf, webSupportFiles } from "../../components/render/web";
import { sh, tmpDir } from "../lib/tools";
import { nodeConfig } from "../lib/fixtures";

const NS = `mk-limits-${process.pid}`;
const PORT = 8089;

/** A tree with one file of each kind, readable by nginx's workers (nobody). */
function writeTree(root: string) {
  const files: Record<string, string | number> = {
    "f/41/big.iso": 64 * 1024 * 1024,
    "f/41/os/repodata/repomd.xml": "<repomd/>\n",
    "f/41/os/repodata/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef-primary.xml.gz": "gz\n",
    "f/41/os/Packages/m/mk-1.0-1.noarch.rpm": "rpm\n",
    "d/dists/stable/InRelease": "signed\n",
    "d/dists/stable/main/binary-amd64/Packages.gz": "gz\n",
    "a/core/os/x86_64/core.db": "db\n",
    "a/lastsync": "1\n",
    "f/README": "hello\n",
  };
  for (const [rel, content] of Object.entries(files)) {
    const file = path.join(root, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
    if (typeof content === "number") {
      fs.closeSync(fs.openSync(file, "w"));
      fs.truncateSync(file, content);
    } else fs.writeFileSync(file, content);
  }
  sh("chmod", ["-R", "a+rX", root]);
}

type Server = "nginx" | "apache";

for (const server of ["nginx", "apache"] as Server[]) {
  describe(`${server}: per-client ISO limit with 429 and Retry-After, HEAD unlimited, caching by kind (real ${server} in a namespace)`, () => {
    const dir = tmpDir(`web-clients-${server}`);
    const root = path.join(dir, "tree");
    const ns = `${NS}-${server}`;
    const inNs = (script: string) => sh("ip", ["netns", "exec", ns, "sh", "-c", script]);
    const rt = `/run/mirrorkit-web`;

    before(() => {
      fs.chmodSync(dir, 0o755);
      writeTree(root);
      const base = webModel(nodeConfig({ web: { server, httpPort: PORT, isoConnectionsPerIp: 2 }, mirrorRoot: root }));
      const conf = path.join(dir, `${server}.conf`);
      const m = { ...base, listingFilterPath: path.join(dir, "listing-filter.js"), configPath: conf };
      for (const f of webSupportFiles(m)) fs.writeFileSync(f.path, f.content);
      fs.writeFileSync(conf, renderWebConf(m, "mirror.example.org"));
      for (const d of [rt, `/var/log/${runtimeDirName(m.unitName)}`]) {
        fs.mkdirSync(d, { recursive: true });
        // Apache runs whole as an unprivileged account (as on a node); nginx's master as root here.
        if (server === "apache") sh("chown", ["-R", "nobody:nogroup", d]);
      }
      // Daemonized with its output in a file: an inherited pipe would hold this call open.
      const start =
        server === "nginx"
          ? `nginx -c ${conf} -e ${path.join(dir, "error.log")} -g 'daemon on;'`
          : `runuser -u nobody -- apache2 -f ${conf} -k start`;
      sh("ip", ["netns", "add", ns]);
      // Two clients in one /64 (fd77:1::/64) and one in another; IPv4 on 127.0.0.1.
      const up = inNs(
        "ip link set lo up && ip -6 addr add fd77:1::1/64 dev lo nodad && ip -6 addr add fd77:1::2/64 dev lo nodad && ip -6 addr add fd77:2::1/64 dev lo nodad" +
          ` && { ${start} </dev/null >${path.join(dir, "start.log")} 2>&1 || { cat ${path.join(dir, "start.log")} ${path.join(dir, "error.log")} 2>/dev/null; exit 1; }; } && sleep 1`,
      );
      assert.equal(up.code, 0, up.out);
    });

    after(() => {
      inNs(`for p in ${rt}/nginx.pid ${rt}/httpd.pid; do [ -f $p ] && kill $(cat $p); done; sleep 0.5; true`);
      sh("ip", ["netns", "del", ns]);
    });

    /** Holds `n` ISO downloads from `from` (slow, bounded), then asks once more from each of `then` (with `header`, if any), then a HEAD from `from`. */
    const limitProbe = (from: string, n: number, then: string[], header = "") => {
      const url = `http://[fd77:1::1]:${PORT}/f/41/big.iso`;
      const hold = Array.from({ length: n }, () => `curl -s -g --interface ${from} --limit-rate 20k --max-time 8 -o /dev/null '${url}' &`).join("\n");
      const asks = then
        .map((a) => `printf '%s ' ${a}; curl -s -g --interface ${a} ${header ? `-H '${header}'` : ""} --max-time 2 -o /dev/null -D ${dir}/h -w '%{http_code}' '${url}'; printf ' %s\\n' "$(grep -i '^retry-after:' ${dir}/h | tr -d '\\r')"`)
        .join("\n");
      return inNs(`${hold}\nsleep 1\n${asks}\nhead=$(curl -s -g -I --interface ${from} --max-time 2 -o /dev/null -w '%{http_code}' '${url}'); echo "HEAD $head"\nkill $(jobs -p) 2>/dev/null; wait 2>/dev/null; true`).out;
    };

    // Both servers count an IPv6 client by its /64: another address of it is limited too.
    const limited = "fd77:1::2";
    it("past the limit, another address of the same IPv6 /64 gets 429 with Retry-After; another /64 is served; a HEAD from the limited client is served", () => {
      const out = limitProbe("fd77:1::1", 2, [limited, "fd77:2::1"]);
      assert.match(out, new RegExp(`^${limited} 429 Retry-After: 30$`, "im"), out);
      assert.match(out, /^fd77:2::1 200 $/m, out);
      assert.match(out, /^HEAD 200$/m, out);
    });

    it("a client that sends the header Apache counts by (X-Mirrorkit-Client) is still counted by its own prefix", () => {
      const out = limitProbe("fd77:1::1", 2, [limited], "X-Mirrorkit-Client: 192.0.2.1");
      assert.match(out, new RegExp(`^${limited} 429 Retry-After: 30$`, "im"), out);
    });

    it("below the limit, the same client is served (the limit counts, it does not refuse everyone)", () => {
      const out = limitProbe("fd77:1::1", 1, [limited]);
      assert.match(out, new RegExp(`^${limited} 200 $`, "m"), out);
    });

    it("Cache-Control by kind: metadata revalidated, packages and hashed metadata long, images a day, other files none; no Content-Encoding on .gz", () => {
      const cases: [string, string][] = [
        ["f/41/os/repodata/repomd.xml", "no-cache"],
        ["d/dists/stable/InRelease", "no-cache"],
        ["d/dists/stable/main/binary-amd64/Packages.gz", "no-cache"],
        ["a/core/os/x86_64/core.db", "no-cache"],
        ["a/lastsync", "no-cache"],
        ["f/41/os/repodata/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef-primary.xml.gz", "public, max-age=2592000"],
        ["f/41/os/Packages/m/mk-1.0-1.noarch.rpm", "public, max-age=2592000"],
        ["f/41/big.iso", "public, max-age=86400"],
        ["f/README", ""],
      ];
      const script = cases
        .map(
          ([p]) =>
            `printf '%s|' '${p}'; curl -s -I -H 'Accept-Encoding: gzip' --max-time 5 'http://127.0.0.1:${PORT}/${p}' | tr -d '\\r' | awk -F': ' 'tolower($1)=="cache-control"{v=$2} tolower($1)=="content-encoding"{e=$2} /^HTTP/{split($0, w, " "); s=w[2]} END{print s "|" v "|" e}'`,
        )
        .join("\n");
      const out = inNs(script).out;
      for (const [p, cache] of cases) assert.ok(out.includes(`${p}|200|${cache}|\n`), `${p}: want "${cache}", no Content-Encoding\n${out}`);
    });

    it("an index swapped in by rename is served new at once, never an open copy of the old one (an old repomd.xml beside a new signature fails every client)", () => {
      // As a sync swaps them: a new file renamed over the served one, each read just before and just after.
      const files = ["f/41/os/repodata/repomd.xml", "d/dists/stable/InRelease", "d/dists/stable/main/binary-amd64/Packages.gz", "a/core/os/x86_64/core.db"];
      const script = files
        .map((p) => {
          const file = path.join(root, p);
          const get = `curl -s --max-time 5 'http://127.0.0.1:${PORT}/${p}'`;
          return `${get} >/dev/null; ${get} >/dev/null; printf 'gen-2 %s\\n' '${p}' > '${file}.new' && chmod 644 '${file}.new' && mv -f '${file}.new' '${file}' && ${get}`;
        })
        .join("\n");
      const out = inNs(script).out;
      for (const p of files) assert.ok(out.includes(`gen-2 ${p}\n`), `${p} is served as renamed in\n${out}`);
    });
  });
}
