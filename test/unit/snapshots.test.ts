// One snapshot per stack in stacks/ (and per fixture node that reaches a part
// no example stack has): every resource the node registers, by its place in
// the tree (parent types and name) with its inputs. A change of any name,
// parent or input shows here before a deployed stack sees it as a replace or
// an update. After a deliberate change: MIRRORKIT_UPDATE_SNAPSHOTS=1.
import * as pulumi from "@pulumi/pulumi";

/** Inputs the mocks saw, by resource type and name. */
const inputs = new Map<string, Record<string, unknown>>();
pulumi.runtime.setMocks(
  {
    newResource(args: pulumi.runtime.MockResourceArgs) {
      inputs.set(`${args.type}::${args.name}`, args.inputs as Record<string, unknown>);
      return { id: `${args.name}-id`, state: args.inputs };
    },
    call: (args: pulumi.runtime.MockCallArgs) => args.inputs,
  },
  "mirrorkit",
  "snapshot",
  // A preview: no key file is read.
  true,
);

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseNodeConfig, type NodeConfig } from "../../components/config";
import { DockerNode } from "../../components/docker-node";
import { MirrorNode } from "../../components/mirror-node";
import { PROJECT_DIR } from "../../scripts/lib/pulumi";
import { rawNodeConfig } from "../../scripts/lib/stack-file";
import { minimalRawConfig } from "../lib/fixtures";

const SNAPSHOT_DIR = path.join(PROJECT_DIR, "test", "unit", "snapshots");
const PUSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKc0Yh9o0v6sCkq3YdW0Xq4l1n7c2f1JxVbq0rS5mPpE upstream";

/** Fixture nodes for the parts no example stack has. */
const FIXTURES: Record<string, Record<string, unknown>> = {
  "fixture-apache-tls-xfs": {
    ...minimalRawConfig(),
    name: "apache-node",
    volumes: [{ name: "data", device: "/dev/vdb", fsType: "xfs", mountPoint: "/srv/mirror" }],
    web: { server: "apache", tls: { certificatePath: "/etc/ssl/m/fullchain.pem", keyPath: "/etc/ssl/m/privkey.pem" } },
    rsync: { modules: [{ name: "fedora", path: "fedora" }] },
    sync: [{ name: "fedora", upstream: "rsync://dl.example.org/fedora-enchilada/", path: "fedora", stages: "rpm", password: "upstream-secret", user: "mirror" }],
  },
  "fixture-push-report": {
    ...minimalRawConfig(),
    name: "push-node",
    distro: { preset: "fedora", upstream: "rsync://dl.example.org" },
    push: { authorizedKeys: [PUSH_KEY], downstreams: [{ host: "t2.example.org" }] },
    reportMirror: { site: "Example", sitePassword: "site-secret", host: "mirror.example.org", categories: { "Fedora Linux": "fedora" } },
  },
  "fixture-docker": {
    ...minimalRawConfig(),
    name: "docker-node",
    runtime: "docker",
    rsync: { modules: [{ name: "pub", path: "pub" }], private: { modules: [{ name: "pub-tier", path: "pub" }], hostsAllow: ["10.0.0.0/8"], users: [{ name: "t2", password: "tier-secret" }] } },
  },
};

interface Entry {
  /** Parent types, then this resource's type and name: its URN without stack and project. */
  urn: string;
  inputs: unknown;
}

/** Resolves promises and assets in the inputs the mocks saw, for JSON. */
async function plain(value: unknown): Promise<unknown> {
  const v = await value;
  // A resource in a component's args reaches the engine as a reference.
  if (pulumi.Resource.isInstance(v)) return `[resource ${(v as unknown as { __name?: string }).__name}]`;
  // Paths inside the checkout (the Docker build context) are not the node's shape either.
  if (typeof v === "string") return v.split(PROJECT_DIR).join("<project>");
  if (Array.isArray(v)) return Promise.all(v.map(plain));
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {};
    // A key (read from a key file only where the file exists) is not the node's shape.
    for (const [k, x] of Object.entries(v)) if (k !== "privateKey") out[k] = await plain(x);
    return out;
  }
  return v;
}

async function snapshotOf(node: NodeConfig): Promise<Entry[]> {
  inputs.clear();
  // Every resource in the node's tree, with its parent, seen as it is made.
  const keys = new Map<pulumi.Resource, string>();
  const seen: { resource: pulumi.Resource; type: string; name: string; parent?: pulumi.Resource }[] = [];
  const record: pulumi.ResourceTransformation = (args) => {
    seen.push({ resource: args.resource, type: args.type, name: args.name, parent: args.opts.parent });
    return undefined;
  };
  const opts = { transformations: [record] };
  const root = node.runtime === "docker" ? new DockerNode(node.name, node, opts) : new MirrorNode(node.name, node, opts);
  assert.ok(seen.some((s) => s.resource === root), "the node itself is in the tree");
  await new Promise((r) => setTimeout(r, 200));
  const entries: Entry[] = [];
  for (const s of seen) {
    const parentKey = s.parent ? keys.get(s.parent) : undefined;
    const types = parentKey ? `${parentKey.split("::")[0]}$${s.type}` : s.type;
    keys.set(s.resource, `${types}::${s.name}`);
    entries.push({ urn: `${types}::${s.name}`, inputs: await plain(inputs.get(`${s.type}::${s.name}`) ?? {}) });
  }
  return entries.sort((a, b) => a.urn.localeCompare(b.urn));
}

const nodes: [string, () => NodeConfig][] = [
  ...fs
    .readdirSync(path.join(PROJECT_DIR, "stacks"))
    // The example stacks; e2e tests write throwaway e2e-* stacks beside them.
    .filter((f) => /^Pulumi\..+\.yaml$/.test(f) && !f.startsWith("Pulumi.e2e-"))
    .map((f) => f.slice("Pulumi.".length, -".yaml".length))
    .map((stack): [string, () => NodeConfig] => [stack, () => parseNodeConfig(rawNodeConfig(stack), `stacks/Pulumi.${stack}.yaml: mirrorkit:node`)]),
  ...Object.entries(FIXTURES).map(([name, raw]): [string, () => NodeConfig] => [name, () => parseNodeConfig(raw)]),
];

describe("resource snapshots (names, parents and inputs of every resource)", () => {
  for (const [name, load] of nodes) {
    it(`${name}: the node registers exactly the resources of its snapshot`, async () => {
      const node = load();
      const actual = await snapshotOf(node);
      assert.ok(actual.length > 5, `the node registered ${actual.length} resources`);
      const file = path.join(SNAPSHOT_DIR, `${name}.json`);
      const text = `${JSON.stringify(actual, null, 1)}\n`;
      if (process.env.MIRRORKIT_UPDATE_SNAPSHOTS === "1" || !fs.existsSync(file)) {
        fs.mkdirSync(SNAPSHOT_DIR, { recursive: true });
        fs.writeFileSync(file, text);
        if (process.env.CI) assert.fail(`${file} was missing; written now, commit it`);
        return;
      }
      const expected = JSON.parse(fs.readFileSync(file, "utf8")) as Entry[];
      assert.deepEqual(
        actual.map((e) => e.urn),
        expected.map((e) => e.urn),
        "the same resources, by name and parent",
      );
      for (const [i, e] of expected.entries()) assert.deepEqual(actual[i].inputs, e.inputs, `inputs of ${e.urn}`);
    });
  }
});
