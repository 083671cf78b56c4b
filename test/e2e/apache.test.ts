// The same node with Apache instead of nginx, through the real CLI on a VM:
// the same behaviour for a client.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { bootNode, changeSummary, forcedLogRotation, vmHost, type E2eNode } from "../lib/e2e";
import { keepaliveReuse, perAddressLimit } from "../../scripts/lib/probes";

const MINUTES = 60_000;

describe("Apache node on a VM (real pulumi up)", { timeout: 25 * MINUTES }, () => {
  let node: E2eNode;

  before(async () => {
    node = await bootNode("apache", (vm) => ({
      name: "apache",
      host: vmHost(vm),
      web: { server: "apache", isoConnectionsPerIp: 3 },
    }));
  });
  after(async () => {
    await node?.cleanup();
  });

  it("pulumi up installs Apache under the kit's unit, as the http account", async () => {
    const up = await node.up();
    assert.equal(up.code, 0, up.stdout + up.stderr);
    const procs = (await node.vm.ssh("ps -o user= -C apache2 | sort -u")).stdout.trim();
    assert.equal(procs, "mirror-http");
    assert.equal((await node.vm.ssh("systemctl is-active mirrorkit-web.service")).stdout.trim(), "active");
    // A sync would put this tree in place: one released, one staged release.
    await node.vm.ssh(
      "runuser -u mirror -- sh -c 'cd /srv/mirror && mkdir -p f/41 f/42 && echo released > f/41/README && " +
        "truncate -s 512M f/41/big.iso && echo rpm > f/41/a.rpm && echo staged > f/42/SECRET && chmod 0750 f/42 && echo x > f/.hidden'",
    );
  });

  it("Apache's logs rotate (logrotate forced) and it writes the next request to the new file", async () => {
    const rotation = await forcedLogRotation(node, node.url(80, ""));
    assert.ok(rotation.rotated && rotation.newLogHasRequest, rotation.detail);
  });

  it("serves released files, refuses staged ones and hides them from listings", async () => {
    const ok = await fetch(node.url(80, "/f/41/README"));
    assert.equal(ok.status, 200);
    assert.equal(await ok.text(), "released\n");
    assert.equal((await fetch(node.url(80, "/f/42/SECRET"))).status, 403);
    const listing = await (await fetch(node.url(80, "/f/"))).text();
    assert.match(listing, /href="41\/"/);
    assert.doesNotMatch(listing, /href="42\/"/, "mod_autoindex leaves forbidden entries out");
    assert.doesNotMatch(listing, /\.hidden/);
    assert.equal((await fetch(node.url(80, "/f/.hidden"))).status, 404);
  });

  it("octet-stream for ISO and RPM, ranged ISO refused, ranges elsewhere work, keepalive reuses", async () => {
    const iso = await fetch(node.url(80, "/f/41/big.iso"), { method: "HEAD" });
    assert.equal(iso.headers.get("content-type"), "application/octet-stream");
    assert.equal(iso.headers.get("content-length"), String(512 * 1024 * 1024), "large files served whole");
    assert.equal((await fetch(node.url(80, "/f/41/a.rpm"), { method: "HEAD" })).headers.get("content-type"), "application/octet-stream");
    assert.equal((await fetch(node.url(80, "/f/41/big.iso"), { headers: { Range: "bytes=0-99" } })).status, 403);
    assert.equal((await fetch(node.url(80, "/f/41/README"), { headers: { Range: "bytes=0-3" } })).status, 206);
    const ka = await keepaliveReuse(node.vm.address, node.vm.ports[80], ["/f/41/README", "/f/41/a.rpm"]);
    assert.deepEqual(ka.statuses, [200, 200], "two requests answered on one connection");
    // HTTP/1.1 connections persist unless the server says "close" (Apache sends no Connection header then).
    assert.doesNotMatch(ka.connection, /close/i);
  });

  it("the connection past the per-address ISO limit is refused", async () => {
    const probe = await perAddressLimit(node.url(80, "/f/41/big.iso"), 3);
    assert.deepEqual(probe.held, [200, 200, 200]);
    assert.equal(probe.extra, 429);
    // Other files are not limited, and the limit frees up once downloads end.
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal((await fetch(node.url(80, "/f/41/big.iso"), { method: "HEAD" })).status, 200);
  });

  it("a second pulumi up changes nothing", async () => {
    const again = await node.up(["--expect-no-changes"]);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.deepEqual(changeSummary(again.stdout), {});
  });
});
