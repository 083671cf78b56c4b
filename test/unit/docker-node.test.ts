// The Docker runtime's resource graph, under Pulumi mocks: no Docker engine or
// docker provider plugin can run on these machines. The configs it uploads
// are the same render functions' output that the real tools check in the
// render tests.
import "../lib/mocks";
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { registered, settle, unsecret } from "../lib/mocks";
import { DockerNode, DOCKER_CONTEXT } from "../../components/docker-node";
import { renderApacheConf } from "../../components/render/apache";
import { renderNginxConf, webModel } from "../../components/render/nginx";
import { renderRsyncdConf, rsyncdModels } from "../../components/render/rsync";
import { ConfigError, parseNodeConfig } from "../../components/config";
import { nodeConfig, minimalRawConfig } from "../lib/fixtures";

type Inputs = Record<string, any>;
const resolve = async (v: unknown): Promise<unknown> => (v instanceof Promise ? resolve(await v) : v);

describe("DockerNode (mocks)", () => {
  const node = nodeConfig({
    name: "dock",
    runtime: "docker",
    web: { server: "apache" },
    rsync: {
      modules: [{ name: "fedora", path: "fedora" }],
      private: { modules: [{ name: "fedora-tier", path: "fedora" }], hostsAllow: ["192.0.2.7"], users: [{ name: "t2", password: "tier-secret-1" }] },
    },
  });
  const containers = () => registered.filter((r) => r.type === "docker:index/container:Container");
  const byName = (n: string) => containers().find((c) => c.name === n)!.inputs as Inputs;

  before(async () => {
    new DockerNode(node.name, node);
    await settle();
  });

  it("builds the node image from docker/Dockerfile with the node's identities", () => {
    const image = registered.find((r) => r.type === "docker:index/image:Image");
    assert.ok(image);
    const build = image.inputs.build as Inputs;
    assert.equal(build.context, DOCKER_CONTEXT);
    assert.deepEqual(build.args, { MIRROR_USER: "mirror", MIRROR_GROUP: "mirror", HTTP_USER: "mirror-http", HTTP_GROUP: "mirror-http", TIER_USER: "mirror-tier" });
  });

  it("runs web, public and private rsync daemons as containers over one read-only tree volume", () => {
    assert.deepEqual(containers().map((c) => c.name).sort(), ["dock-rsyncd-private", "dock-rsyncd-public", "dock-web"]);
    assert.ok(registered.some((r) => r.type === "docker:index/volume:Volume" && r.name === "dock-tree"));
    for (const c of containers()) {
      const vols = c.inputs.volumes as Inputs[];
      assert.deepEqual(vols.map((v) => [v.containerPath, v.readOnly]), [["/srv/mirror", true]], c.name);
      assert.equal(c.inputs.readOnly, true);
      assert.deepEqual((c.inputs.capabilities as Inputs).drops, ["ALL"]);
    }
  });

  it("uploads the same rendered configs as the host runtime, and runs the web server as the http account", async () => {
    const web = byName("dock-web");
    assert.equal(web.user, "mirror-http:mirror-http");
    assert.equal((web.uploads as Inputs[])[0].content, renderApacheConf(webModel(node), node.host.address));
    assert.deepEqual((web.capabilities as Inputs).adds, ["NET_BIND_SERVICE"]);
    for (const m of rsyncdModels(node)) {
      const c = byName(`dock-rsyncd-${m.instance}`);
      assert.equal(unsecret<Inputs[]>(c.uploads)[0].content, renderRsyncdConf(m));
      assert.deepEqual(c.ports, [{ internal: m.port, external: m.port }]);
    }
    const secrets = unsecret<Inputs[]>(byName("dock-rsyncd-private").uploads)[1];
    assert.equal(secrets.file, "/etc/mirrorkit/rsyncd-private.secrets");
    assert.equal(await resolve(secrets.content), "t2:tier-secret-1\n");
    assert.equal(secrets.permissions, "0600");
  });

  it("nginx as well", async () => {
    const n = nodeConfig({ name: "dock2", runtime: "docker" });
    new DockerNode(n.name, n);
    await settle();
    const web = byName("dock2-web");
    const uploads = web.uploads as Inputs[];
    const byFile = (file: string) => uploads.find((u) => u.file === file)?.content;
    assert.equal(byFile("/etc/mirrorkit/nginx/nginx.conf"), renderNginxConf(webModel(n)));
    assert.match(String(byFile("/etc/mirrorkit/nginx/listing-filter.js")), /function hideUnreadable/, "the listing filter the config imports");
    assert.deepEqual(web.command, ["/usr/sbin/nginx", "-c", "/etc/mirrorkit/nginx/nginx.conf", "-e", "stderr", "-g", "daemon off;"]);
  });

  it("config: sync jobs, bitflips and volumes need the host runtime", () => {
    assert.throws(
      () => parseNodeConfig({ ...minimalRawConfig(), runtime: "docker", sync: [{ name: "f", upstream: "rsync://x.org/f/", path: "f" }] }),
      (e: unknown) => e instanceof ConfigError && e.problems.some((p) => p.path === "mirrorkit:node.sync" && /runtime "docker"/.test(p.message)),
    );
  });
});
