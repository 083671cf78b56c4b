// The walking skeleton through the real engine: `pulumi up` of a node against
// a Debian VM, checked from outside as a client would; a re-run changes
// nothing; `pulumi destroy` removes what up created.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { bootNode, changeSummary, vmHost, type E2eNode } from "../lib/e2e";

const MINUTES = 60_000;

describe("skeleton node on a VM (real pulumi up)", { timeout: 30 * MINUTES }, () => {
  let node: E2eNode;

  before(async () => {
    node = await bootNode("skeleton", (vm) => ({ name: "skeleton", host: vmHost(vm) }));
  });
  after(async () => {
    await node?.cleanup();
  });

  it("pulumi up creates the three identities and starts nginx as the http account", async () => {
    const up = await node.up();
    assert.equal(up.code, 0, up.stdout + up.stderr);
    assert.ok((changeSummary(up.stdout).created ?? 0) > 10, up.stdout);

    const { stdout } = await node.vm.ssh("getent passwd mirror mirror-http nobody | cut -d: -f1");
    assert.deepEqual(stdout.trim().split("\n"), ["mirror", "mirror-http", "nobody"]);
    // Neither the web nor the public rsync identity may read staged (0750, mirror group) content.
    for (const user of ["mirror-http", "nobody"]) {
      const groups = (await node.vm.ssh(`id -nG ${user}`)).stdout.trim().split(/\s+/);
      assert.ok(!groups.includes("mirror"), `${user} is in the mirror group: ${groups}`);
    }
    const workers = (await node.vm.ssh("ps -o user= -C nginx | sort -u")).stdout.trim();
    assert.equal(workers, "mirror-http", "every nginx process runs as the http account");
  });

  it("serves the mirror tree over HTTP to a client outside the VM", async () => {
    await node.vm.ssh(
      "runuser -u mirror -- sh -c 'mkdir -p /srv/mirror/fedora/releases/41 && echo hello-mirror > /srv/mirror/fedora/releases/41/README && " +
        "echo secret > /srv/mirror/fedora/.hidden && truncate -s 1M /srv/mirror/fedora/releases/41/boot.iso && " +
        "mkdir -p /srv/mirror/fedora/.~tmp~ && truncate -s 1k /srv/mirror/fedora/releases/41/pkg.rpm'",
    );
    const file = await fetch(node.url(80, "/fedora/releases/41/README"));
    assert.equal(file.status, 200);
    assert.equal(await file.text(), "hello-mirror\n");

    const listing = await (await fetch(node.url(80, "/fedora/"))).text();
    assert.match(listing, /href="releases\/"/);
    assert.doesNotMatch(listing, /\.hidden|\.~tmp~/, "dotfiles and rsync temp dirs are not listed");
    assert.equal((await fetch(node.url(80, "/fedora/.hidden"))).status, 404);

    const iso = await fetch(node.url(80, "/fedora/releases/41/boot.iso"), { method: "HEAD" });
    assert.equal(iso.headers.get("content-type"), "application/octet-stream");
    const ranged = await fetch(node.url(80, "/fedora/releases/41/boot.iso"), { headers: { Range: "bytes=0-99" } });
    assert.equal(ranged.status, 403, "ranged ISO requests are refused");
    const rpm = await fetch(node.url(80, "/fedora/releases/41/pkg.rpm"), { headers: { Range: "bytes=0-9" } });
    assert.equal(rpm.status, 206, "ranges on other files work");
    assert.equal(rpm.headers.get("content-type"), "application/octet-stream");
  });

  it("a second pulumi up changes nothing", async () => {
    const again = await node.up(["--expect-no-changes"]);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.match(again.stdout, /\d+ unchanged/);
    assert.deepEqual(changeSummary(again.stdout), {});
  });

  it("pulumi destroy removes the users and config up created, and keeps the data", async () => {
    const destroy = await node.destroy();
    assert.equal(destroy.code, 0, destroy.stdout + destroy.stderr);
    const users = await node.vm.ssh("getent passwd mirror mirror-http", { allowFailure: true });
    assert.equal(users.stdout.trim(), "", "the kit's accounts are gone");
    await node.vm.ssh("getent passwd nobody"); // existed before the kit: kept
    const left = await node.vm.ssh(
      "ls /etc/mirrorkit /etc/systemd/system/mirrorkit-web.service 2>&1; systemctl is-active mirrorkit-web",
      { allowFailure: true },
    );
    assert.match(left.stdout, /No such file or directory.*\n.*No such file or directory/s);
    assert.match(left.stdout, /inactive/);
    const data = await node.vm.ssh("cat /srv/mirror/fedora/releases/41/README");
    assert.equal(data.stdout, "hello-mirror\n", "mirror data survives destroy");
  });
});
