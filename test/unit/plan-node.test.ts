// The plan is the one list of a node's files: each runtime delivers exactly
// the plan's files (the host runtime all of them, the Docker runtime the ones
// its daemons read) and `npm run render` writes exactly them.
import "../lib/mocks";
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { registered, settle, unsecret } from "../lib/mocks";
import { parseNodeConfig, type NodeConfig } from "../../components/config";
import { DockerNode } from "../../components/docker-node";
import { MirrorNode } from "../../components/mirror-node";
import { KIT_TEMPLATES, Templates } from "../../components/render/templates";
import { planNode, servingFiles } from "../../plan/node";
import { SECRET_PLACEHOLDER } from "../../plan/files";
import { SYSTEMD_DIR } from "../../plan/paths";
import { PROJECT_DIR } from "../../scripts/lib/pulumi";
import { rawNodeConfig } from "../../scripts/lib/stack-file";
import { minimalRawConfig, nodeConfig, unsafeTemplateDir } from "../lib/fixtures";
import { sh, tmpDir } from "../lib/tools";

const PUSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKc0Yh9o0v6sCkq3YdW0Xq4l1n7c2f1JxVbq0rS5mPpE upstream";

/** Nodes that between them reach every part of a plan. */
const NODES: Record<string, Record<string, unknown>> = {
  everything: {
    name: "plan-all",
    volumes: [{ name: "data", device: "/dev/vdb", fsType: "xfs", mountPoint: "/srv/mirror" }],
    distro: { preset: "fedora", upstream: "rsync://dl.example.org" },
    push: { authorizedKeys: [PUSH_KEY], downstreams: [{ host: "t2.example.org" }] },
    reportMirror: { site: "Example", sitePassword: "site-secret", host: "mirror.example.org", categories: { "Fedora Linux": "fedora" } },
    rsync: { modules: [{ name: "fedora", path: "fedora" }], private: { modules: [{ name: "fedora-tier", path: "fedora" }], hostsAllow: ["10.0.0.0/8"], users: [{ name: "t2", password: "tier-secret" }] } },
    bitflips: [{ name: "f42", paths: ["fedora/releases/42"], at: "2030-01-01 00:00:00 UTC" }],
  },
  apache: {
    name: "plan-apache",
    web: { server: "apache" },
    sync: [{ name: "pub", upstream: "rsync://up.example.org/pub/", path: "pub", password: "up-secret", user: "mirror" }],
  },
};

/** What a file is, seen from the host: everything but a secret's content. */
function shape(f: { path: string; content: string; mode: string; owner: string; group: string; check?: string; secret?: boolean }) {
  return { path: f.path, mode: f.mode, owner: f.owner, group: f.group, check: f.check, content: f.secret ? SECRET_PLACEHOLDER : f.content };
}
const byPath = <T extends { path: string }>(a: T, b: T) => a.path.localeCompare(b.path);

describe("the plan of a node, and what each runtime delivers", () => {
  for (const [title, overrides] of Object.entries(NODES)) {
    const node: NodeConfig = parseNodeConfig({ ...minimalRawConfig(), ...overrides });

    it(`${title}: the host runtime delivers exactly the plan's files (path, content, mode, owner, group, check)`, async () => {
      const before = registered.length;
      new MirrorNode(node.name, node);
      await settle();
      const secretPaths = new Set(planNode(node, KIT_TEMPLATES).files.filter((f) => f.secret).map((f) => f.path));
      const delivered = await Promise.all(
        registered
          .slice(before)
          .filter((r) => r.type === "mirrorkit:host:RemoteFile")
          .map(async (r) => {
            const i = r.inputs as { path: string; content: string | Promise<string>; mode: string; owner: string; group: string; validate?: string };
            const secret = secretPaths.has(i.path);
            return shape({ path: i.path, content: secret ? "" : String(await i.content), mode: i.mode, owner: i.owner, group: i.group, check: i.validate, secret });
          }),
      );
      const planned = planNode(node, KIT_TEMPLATES).files.map(shape);
      assert.ok(planned.length >= 5, `a plan of ${planned.length} files`);
      assert.deepEqual(delivered.sort(byPath), planned.sort(byPath));
    });

    it(`${title}: each path once; every unit has its file under ${SYSTEMD_DIR}, checked by systemd-analyze`, () => {
      const plan = planNode(node, KIT_TEMPLATES);
      const paths = plan.files.map((f) => f.path);
      assert.equal(new Set(paths).size, paths.length, paths.join("\n"));
      for (const u of plan.units) {
        const file = plan.files.find((f) => f.path === `${SYSTEMD_DIR}/${u.unitName}`);
        assert.ok(file, u.unitName);
        assert.match(file.check ?? "", /systemd-analyze verify/);
        assert.equal(file.content, u.content);
      }
      // Secrets never reach the plan: a placeholder stands in.
      for (const f of plan.files) assert.doesNotMatch(f.content, /site-secret|tier-secret|up-secret/, f.path);
      assert.ok(plan.files.some((f) => f.secret), "some file is secret");
    });
  }

  it("the Docker runtime uploads exactly the files its daemons read: all of the plan but its units and the host's log rotation", async () => {
    const node = parseNodeConfig({
      ...minimalRawConfig(),
      name: "plan-dock",
      runtime: "docker",
      rsync: { modules: [{ name: "pub", path: "pub" }], private: { modules: [{ name: "pub-tier", path: "pub" }], hostsAllow: ["10.0.0.0/8"], users: [{ name: "t2", password: "tier-secret" }] } },
    });
    const before = registered.length;
    new DockerNode(node.name, node);
    await settle();
    const plan = planNode(node, KIT_TEMPLATES);
    const secretPaths = new Set(plan.files.filter((f) => f.secret).map((f) => f.path));
    const uploads = registered
      .slice(before)
      .filter((r) => r.type === "docker:index/container:Container")
      .flatMap((r) => unsecret<{ file: string; content: unknown }[]>(r.inputs.uploads));
    const uploaded = await Promise.all(
      uploads.map(async (u) => {
        // A secret upload is wrapped by the mocks; its content is the secret, not the plan's placeholder.
        const content = secretPaths.has(u.file) ? SECRET_PLACEHOLDER : String(await u.content);
        return { path: u.file, content };
      }),
    );
    const serving = servingFiles(plan).map((f) => ({ path: f.path, content: f.content }));
    assert.deepEqual(uploaded.sort(byPath), serving.sort(byPath));
    assert.deepEqual(
      plan.files.filter((f) => !f.path.startsWith(`${SYSTEMD_DIR}/`) && !plan.web.hostFiles.includes(f)).map((f) => f.path).sort(),
      serving.map((f) => f.path).sort(),
    );
  });

  it("npm run render writes exactly the plan's files, with the stack's template overrides", () => {
    const stack = "local";
    const out = tmpDir("plan-render");
    const r = sh(process.execPath, ["--import", "tsx", path.join(PROJECT_DIR, "scripts", "render.ts"), stack, out]);
    assert.equal(r.code, 0, r.out);
    const written = (fs.readdirSync(out, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(out, f)).isFile()).map((f) => `/${f}`).sort();
    const node = parseNodeConfig(rawNodeConfig(stack));
    const plan = planNode(node, KIT_TEMPLATES);
    assert.deepEqual(written, plan.files.map((f) => f.path).sort());
    for (const f of plan.files) {
      assert.equal(fs.readFileSync(path.join(out, f.path), "utf8"), f.content, f.path);
      assert.equal((fs.statSync(path.join(out, f.path)).mode & 0o7777).toString(8).padStart(4, "0"), f.mode, f.path);
    }
  });

  it("template overrides are passed in: two nodes with different templates in one process render each their own", () => {
    const dir = unsafeTemplateDir("plan-override", { "rsync/rsyncd.conf.hbs": (t) => t.replace(/^/, "# overridden for this node\n") });
    const node = nodeConfig({ rsync: { modules: [{ name: "pub", path: "pub" }] } });
    const conf = (p: ReturnType<typeof planNode>) => p.rsyncd[0].config.content;
    const overridden = planNode(node, new Templates(path.join(PROJECT_DIR, dir)));
    const kit = planNode(node, KIT_TEMPLATES);
    assert.match(conf(overridden), /^# overridden for this node$/m);
    assert.doesNotMatch(conf(kit), /overridden/);
    assert.doesNotMatch(conf(planNode(node, KIT_TEMPLATES)), /overridden/, "the kit's templates are untouched after an override was used");
  });
});
