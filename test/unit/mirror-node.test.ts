// The resource graph of a node, under Pulumi mocks (no engine, no host).
import "../lib/mocks";
import { describe, it, before } from "node:test";
import assert from "node:assert/strict";
import { registered, settle, withoutEngineSecrets } from "../lib/mocks";
import { MirrorNode } from "../../components/mirror-node";
import { renderNginxConf, webModel } from "../../components/render/nginx";
import { nodeConfig } from "../lib/fixtures";

describe("MirrorNode resource graph", () => {
  const node = nodeConfig({ name: "graph" });
  before(async () => {
    new MirrorNode(node.name, node);
    await settle();
  });

  const byType = (type: string) => registered.filter((r) => r.type === type);

  it("composes the node from one component of each kind", () => {
    for (const type of [
      "mirrorkit:node:MirrorNode",
      "mirrorkit:host:HostBase",
      "mirrorkit:node:ServiceAccounts",
      "mirrorkit:node:MirrorTree",
      "mirrorkit:web:WebServer",
    ]) {
      assert.equal(byType(type).length, 1, `${type} registered once`);
    }
    // nginx's config, its listing filter, the log rotation and the unit file.
    assert.equal(byType("mirrorkit:host:RemoteFile").length, 4);
    assert.equal(byType("mirrorkit:host:SystemdUnit").length, 1);
  });

  it("names children by key, never by index", () => {
    const names = registered.map((r) => r.name);
    for (const name of ["graph-accounts-mirror", "graph-accounts-http", "graph-accounts-rsync", "graph-web-nginx-conf-copy", "graph-web-listing-filter-install", "graph-web-unit-file-install", "graph-web-unit-activate"]) {
      assert.ok(names.includes(name), `missing ${name} in ${names.join(", ")}`);
    }
    assert.ok(names.every((n) => !/-\d+$/.test(n)), "no index-suffixed names");
  });

  it("passes component args to the engine so policies can read them", () => {
    const [nodeRes] = byType("mirrorkit:node:MirrorNode");
    assert.equal((nodeRes.inputs.accounts as { rsync: { user: string } }).rsync.user, "nobody");
    assert.equal((nodeRes.inputs.host as { privateKey?: string }).privateKey, "[secret]", "no key material in args");
    const web = byType("mirrorkit:web:WebServer")[0];
    assert.equal((web.inputs.web as { server: string }).server, "nginx");
  });

  it("a project's upstream password reaches no component's args in plain text", async () => {
    const n = nodeConfig({ name: "proj", projects: [{ preset: "debian", upstream: "rsync://t1.example.org", user: "t2", password: "project-upstream-secret" }] });
    new MirrorNode(n.name, n);
    await settle();
    const mine = registered.filter((r) => r.name.startsWith("proj"));
    assert.ok(mine.some((r) => r.type === "mirrorkit:sync:SyncJob"), "the project's sync job is there");
    const [nodeRes] = mine.filter((r) => r.type === "mirrorkit:node:MirrorNode");
    assert.equal((nodeRes.inputs.projects as { password?: string }[])[0].password, "[secret]");
    for (const r of mine.filter((x) => x.type.startsWith("mirrorkit:"))) {
      assert.ok(!JSON.stringify(withoutEngineSecrets(r.inputs)).includes("project-upstream-secret"), `${r.type} ${r.name} holds the password outside a secret`);
    }
  });

  it("copies exactly the rendered nginx config to the host", async () => {
    const copy = registered.find((r) => r.name === "graph-web-nginx-conf-copy");
    assert.ok(copy);
    // Under mocks the asset's text is still a promise.
    const source = copy.inputs.source as { text?: Promise<string> };
    assert.equal(await source.text, renderNginxConf(webModel(node)));
  });

  it("the deployed web unit is wanted by the data mount (args carry the volumes)", async () => {
    const n = nodeConfig({ name: "vols", volumes: [{ name: "d", device: "/dev/vdb", mountPoint: "/srv/mirror" }] });
    new MirrorNode(n.name, n);
    await settle();
    const copy = registered.find((r) => r.name === "vols-web-unit-file-copy");
    assert.ok(copy);
    assert.match(String(await (copy.inputs.source as { text?: Promise<string> }).text), /^WantedBy=multi-user\.target srv-mirror\.mount$/m);
  });

  it("validates the staged config before moving it into place", () => {
    const install = registered.find((r) => r.name === "graph-web-nginx-conf-install");
    assert.ok(install);
    const create = String(install.inputs.create);
    const validateAt = create.indexOf("nginx -t");
    const moveAt = create.indexOf("mv -f");
    assert.ok(validateAt > 0 && moveAt > validateAt, "nginx -t runs before the move");
  });

  it("removes only accounts the kit created", () => {
    const rsync = registered.find((r) => r.name === "graph-accounts-rsync");
    assert.ok(rsync);
    assert.match(String(rsync.inputs.delete), /if \[ -e \/var\/lib\/mirrorkit\/accounts\/user-nobody \]; then userdel/);
    assert.match(String(rsync.inputs.create), /member of the mirror group/);
  });
});
