// Each policy against a compliant stack (a real MirrorNode's resources, under
// mocks) and against violations that each change one property, in the
// component args or in the rendered file that reaches the host.
import "../lib/mocks";
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { unknownCheckingProxy, type PolicyResource, type StackValidationPolicy } from "@pulumi/policy";
// The SDK's sentinels for values unknown in a preview (not in its typings).
const { unknownAssetValue, unknownObjectValue, unknownStringValue } = require("@pulumi/policy/proxy") as Record<string, string>;
import { registered, settle } from "../lib/mocks";
import { MirrorNode } from "../../components/mirror-node";
import { ALL_POLICIES } from "../../policies/all";
import { identitiesDistinct } from "../../policies/identities-distinct";
import { publicPathsInsideTree } from "../../policies/public-paths-inside-tree";
import { rsyncdPrivateModuleRestricted } from "../../policies/rsyncd-private-module-restricted";
import { rsyncdWritableModuleRestricted } from "../../policies/rsyncd-writable-module-restricted";
import { rsyncdPublicModuleUnprivileged } from "../../policies/rsyncd-public-module-unprivileged";
import { syncPreservesPermissions } from "../../policies/sync-preserves-permissions";
import { syncSafetyFlags } from "../../policies/sync-safety-flags";
import { firesHourlyOrMore, tierRequirements } from "../../policies/tier-requirements";
import { webServerUnprivileged } from "../../policies/web-server-unprivileged";
import { nodeConfig } from "../lib/fixtures";

type Props = Record<string, any>;
interface Item {
  type: string;
  name: string;
  props: Props;
  /** The parent component's name (a RemoteFile's copy names its RemoteFile). */
  parent?: string;
  /** A copy's asset text; undefined: unknown, as the released provider leaves it in a preview. */
  text?: string;
}
let baseline: Item[] = [];

/** A fresh copy of the compliant stack, as policies see it. */
function stack(): Item[] {
  return structuredClone(baseline);
}

/** What the engine hands a stack policy: props behind the SDK's unknown-checking proxy. */
function asPolicyResources(items: Item[]): PolicyResource[] {
  const byName = new Map<string, PolicyResource>();
  const resources = items.map((r) => {
    const props = { ...r.props };
    if (r.type === "command:remote:CopyToRemote") props.source = r.text === undefined ? unknownAssetValue : { text: Promise.resolve(r.text) };
    const res = {
      type: r.type,
      name: r.name,
      urn: `urn:pulumi:unit::mirrorkit::${r.type}::${r.name}`,
      props: unknownCheckingProxy(props),
      opts: {} as PolicyResource["opts"],
      dependencies: [],
      propertyDependencies: {},
      isType: () => false,
      asType: () => undefined,
    } as unknown as PolicyResource;
    byName.set(r.name, res);
    return res;
  });
  items.forEach((r, i) => {
    if (r.parent !== undefined) resources[i].parent = byName.get(r.parent);
  });
  return resources;
}

async function violations(policy: StackValidationPolicy, items = stack()): Promise<string[]> {
  const found: string[] = [];
  await policy.validateStack(
    { resources: asPolicyResources(items), stackTags: new Map(), getConfig: () => ({}) as never, notApplicable: () => undefined as never },
    (message) => found.push(message),
  );
  return found;
}

/** Changes a rendered file as it is copied to the host (what a template override would do). */
function editFile(items: ReturnType<typeof stack>, base: RegExp, edit: (text: string) => string) {
  let n = 0;
  for (const r of items) {
    if (r.type === "mirrorkit:host:RemoteFile" && base.test(String(r.props.path).split("/").pop() ?? "")) {
      r.props.content = edit(r.props.content);
      n++;
    }
  }
  assert.ok(n > 0, `no file matched ${base}`);
  return items;
}

function editNode(items: ReturnType<typeof stack>, edit: (node: Props) => void) {
  edit(items.find((r) => r.type === "mirrorkit:node:MirrorNode")!.props.node);
  return items;
}

describe("policy pack", () => {
  before(async () => {
    const node = nodeConfig({
      name: "policy",
      tier: 2,
      volumes: [{ name: "data", device: "/dev/vdb", mountPoint: "/srv/mirror" }],
      // HTTPS by ACME: the web server also publishes the challenge webroot.
      web: { acme: { contact: "ops@example.org", names: ["mirror.example.org"] } },
      rsync: {
        modules: [{ name: "fedora", path: "fedora" }],
        private: { modules: [{ name: "fedora-tier", path: "fedora" }], hostsAllow: ["192.0.2.20"], users: [{ name: "tier2", password: "a-long-secret" }] },
      },
      sync: [{ name: "fedora", upstream: "rsync://tier1.example.org/fedora/", path: "fedora", checkFile: "lastupdate" }],
      // A project its upstream pushes into: the push daemon's writable module.
      projects: [{ preset: "archlinux", upstream: "rsync://tier1.example.org", push: { hostsAllow: ["192.0.2.30"], users: [{ name: "arch-up", password: "a-push-secret" }] } }],
    });
    new MirrorNode(node.name, node);
    await settle();
    // What a stack policy sees in a preview with the released command
    // provider: custom resources by their inputs, except the copy's asset,
    // which is unknown; components by their registered outputs: MirrorNode's
    // `node`, RemoteFile's rendered file (the text its copy is given).
    const copyText = async (remoteFile: string) => {
      const source = registered.find((c) => c.name === `${remoteFile}-copy`)?.inputs.source as Props;
      // Under mocks a secret input arrives wrapped: { <signature>: <secret>, value }.
      return ((source.value ?? source) as { text: Promise<string> }).text;
    };
    for (const r of registered) {
      const plain = () => structuredClone(Object.fromEntries(Object.entries(r.inputs).filter(([k]) => k !== "source" && k !== "connection")));
      let props: Props;
      if (r.type === "mirrorkit:node:MirrorNode") props = { node: plain() };
      else if (r.type === "mirrorkit:host:RemoteFile") {
        const { path, mode, owner, group } = r.inputs;
        props = { path, mode, owner, group, content: await copyText(r.name) };
      } else if (r.type.startsWith("mirrorkit:")) props = {};
      else props = plain();
      const parent = r.type === "command:remote:CopyToRemote" ? r.name.replace(/-copy$/, "") : undefined;
      baseline.push({ type: r.type, name: r.name, props, ...(parent ? { parent } : {}) });
    }
    baseline = JSON.parse(JSON.stringify(baseline));
  });

  for (const policy of ALL_POLICIES) {
    it(`${policy.name}: a compliant node passes`, async () => {
      assert.deepEqual(await violations(policy), []);
    });
  }

  it("mandatory policies are mandatory, tier guidance advisory", () => {
    for (const p of ALL_POLICIES) assert.equal(p.enforcementLevel, p === tierRequirements ? "advisory" : "mandatory", p.name);
  });

  const cases: [StackValidationPolicy, string, () => ReturnType<typeof stack>, RegExp][] = [
    [syncPreservesPermissions, "-p dropped from the script", () => editFile(stack(), /^sync-/, (t) => t.replace("-rtlpH", "-rtlH")), /without -p/],
    [syncPreservesPermissions, "--chmod added", () => editFile(stack(), /^sync-/, (t) => t.replace("--safe-links", "--safe-links --chmod=Da+rx")), /overrides upstream permissions/],
    [syncPreservesPermissions, "rsync transfer removed", () => editFile(stack(), /^sync-/, (t) => t.replaceAll(/^transfer rsync -rtlpH[^\n]*\\\n[^\n]*$/gm, "true")), /no rsync transfer/],
    [syncSafetyFlags, "-H dropped", () => editFile(stack(), /^sync-/, (t) => t.replace("-rtlpH", "-rtlp")), /-H\/--hard-links/],
    [syncSafetyFlags, "--delay-updates dropped", () => editFile(stack(), /^sync-/, (t) => t.replaceAll(" --delay-updates", "")), /--delay-updates/],
    [syncSafetyFlags, "--delete-after becomes --delete-during", () => editFile(stack(), /^sync-/, (t) => t.replace("--delete-after", "--delete-during")), /--delete-after or --delete-delay/],
    [syncSafetyFlags, "--safe-links dropped", () => editFile(stack(), /^sync-/, (t) => t.replaceAll(" --safe-links", "")), /--safe-links/],
    [syncSafetyFlags, "--numeric-ids dropped", () => editFile(stack(), /^sync-/, (t) => t.replaceAll(" --numeric-ids", "")), /--numeric-ids/],
    [rsyncdPublicModuleUnprivileged, "config: rsync identity in the mirror group", () => editNode(stack(), (n) => (n.accounts.rsync.group = "mirror")), /privileged or the mirror's/],
    [rsyncdPublicModuleUnprivileged, "file: uid = root", () => editFile(stack(), /^rsyncd-public\.conf$/, (t) => t.replace("uid = nobody", "uid = root")), /uid root/],
    [rsyncdPublicModuleUnprivileged, "file: gid = mirror", () => editFile(stack(), /^rsyncd-public\.conf$/, (t) => t.replace("gid = nogroup", "gid = mirror")), /gid mirror/],
    [rsyncdPublicModuleUnprivileged, "file: ignore nonreadable = no", () => editFile(stack(), /^rsyncd-public\.conf$/, (t) => t.replace("ignore nonreadable = yes", "ignore nonreadable = no")), /ignore nonreadable/],
    [rsyncdPublicModuleUnprivileged, "file: module-level uid override", () => editFile(stack(), /^rsyncd-public\.conf$/, (t) => t.replace("    path = /srv/mirror/fedora", "    path = /srv/mirror/fedora\n    uid = mirror")), /uid mirror/],
    [rsyncdPublicModuleUnprivileged, "file: private module's auth dropped (relaxed identity)", () => editFile(stack(), /^rsyncd-private\.conf$/, (t) => t.replace(/^\s+auth users = .*$/m, "")), /gid mirror/],
    [rsyncdPrivateModuleRestricted, "config: hosts allow *", () => editNode(stack(), (n) => (n.rsync.private.hostsAllow = ["*"])), /open to everyone/],
    [rsyncdPrivateModuleRestricted, "config: hosts allow 0/0 (everyone, another way)", () => editNode(stack(), (n) => (n.rsync.private.hostsAllow = ["192.0.2.20", "0/0"])), /open to everyone/],
    [rsyncdPrivateModuleRestricted, "file: hosts allow a zero netmask", () => editFile(stack(), /^rsyncd-private\.conf$/, (t) => t.replace(/^hosts allow = .*$/m, "hosts allow = 10.0.0.0/0.0.0.0")), /open/],
    [rsyncdPrivateModuleRestricted, "file: hosts allow **", () => editFile(stack(), /^rsyncd-private\.conf$/, (t) => t.replace(/^hosts allow = .*$/m, "hosts allow = **")), /open/],
    [publicPathsInsideTree, "config: mirrorRoot /etc", () => editNode(stack(), (n) => (n.mirrorRoot = "/etc")), /filesystem root or a system directory/],
    [publicPathsInsideTree, "config: mirrorRoot /", () => editNode(stack(), (n) => (n.mirrorRoot = "/")), /filesystem root or a system directory/],
    [rsyncdPrivateModuleRestricted, "config: same port as public", () => editNode(stack(), (n) => (n.rsync.private.port = 873)), /shares port 873/],
    [rsyncdPrivateModuleRestricted, "config: no users", () => editNode(stack(), (n) => (n.rsync.private.users = [])), /no authenticated users/],
    [rsyncdPrivateModuleRestricted, "file: list = yes", () => editFile(stack(), /^rsyncd-private\.conf$/, (t) => t.replace("list = no", "list = yes")), /is listed/],
    [rsyncdPrivateModuleRestricted, "file: hosts allow removed", () => editFile(stack(), /^rsyncd-private\.conf$/, (t) => t.replace(/^hosts allow = .*$/m, "")), /hosts allow is missing/],
    [rsyncdPrivateModuleRestricted, "file: hosts allow 0.0.0.0/0", () => editFile(stack(), /^rsyncd-private\.conf$/, (t) => t.replace(/^hosts allow = .*$/m, "hosts allow = 0.0.0.0/0")), /open/],
    [rsyncdPrivateModuleRestricted, "file: secrets file removed", () => editFile(stack(), /^rsyncd-private\.conf$/, (t) => t.replace(/^secrets file = .*$/m, "")), /without a secrets file/],
    [rsyncdPrivateModuleRestricted, "file: on the public port", () => editFile(stack(), /^rsyncd-private\.conf$/, (t) => t.replace("port = 874", "port = 873")), /public daemon's port/],
    [webServerUnprivileged, "config: http account is root", () => editNode(stack(), (n) => (n.accounts.http.user = "root")), /root, the mirror account/],
    [webServerUnprivileged, "config: http group is the mirror group", () => editNode(stack(), (n) => (n.accounts.http.group = "mirror")), /mirror group/],
    [webServerUnprivileged, "unit: User=mirror", () => editFile(stack(), /^mirrorkit-web\.service$/, (t) => t.replace("User=mirror-http", "User=mirror")), /runs as mirror/],
    [webServerUnprivileged, "unit: no User= (root)", () => editFile(stack(), /^mirrorkit-web\.service$/, (t) => t.replace(/^User=.*\n/m, "")), /root \(no User=\)/],
    [webServerUnprivileged, "unit: SupplementaryGroups=mirror", () => editFile(stack(), /^mirrorkit-web\.service$/, (t) => t.replace("Group=mirror-http", "Group=mirror-http\nSupplementaryGroups=mirror")), /group mirror/],
    [webServerUnprivileged, "nginx.conf: user root", () => editFile(stack(), /^nginx\.conf$/, (t) => t.replace("worker_processes auto;", "user root;\nworker_processes auto;")), /user root/],
    [identitiesDistinct, "http is the rsync account", () => editNode(stack(), (n) => (n.accounts.http.user = "nobody")), /both "nobody"/],
    [identitiesDistinct, "sync runs as the web account", () => editNode(stack(), (n) => (n.accounts.mirror.user = "mirror-http")), /both "mirror-http"/],
    [publicPathsInsideTree, "nginx root /etc", () => editFile(stack(), /^nginx\.conf$/, (t) => t.replace("root /srv/mirror;", "root /etc;")), /publishes \/etc/],
    [publicPathsInsideTree, "nginx alias to /", () => editFile(stack(), /^nginx\.conf$/, (t) => t.replace("autoindex on;", "autoindex on;\n        location /all/ { alias /; }")), /publishes \//],
    [publicPathsInsideTree, "nginx ACME root widened to lego's own directory (account and certificate keys)", () => editFile(stack(), /^nginx\.conf$/, (t) => t.replace("root /var/lib/mirrorkit-acme/webroot;", "root /var/lib/mirrorkit-acme;")), /publishes \/var\/lib\/mirrorkit-acme,/],
    [publicPathsInsideTree, "rsync module path /", () => editFile(stack(), /^rsyncd-public\.conf$/, (t) => t.replace("path = /srv/mirror/fedora", "path = /")), /outside the mirror tree/],
    [publicPathsInsideTree, "rsync module path with ..", () => editFile(stack(), /^rsyncd-public\.conf$/, (t) => t.replace("path = /srv/mirror/fedora", "path = /srv/mirror/../../etc")), /outside the mirror tree/],
    [publicPathsInsideTree, "config: module path absolute", () => editNode(stack(), (n) => (n.rsync.modules[0].path = "/etc")), /leaves the tree/],
    [rsyncdWritableModuleRestricted, "file: push module's hosts allow removed", () => editFile(stack(), /^rsyncd-push\.conf$/, (t) => t.replace(/^\s+hosts allow = .*$/m, "")), /hosts allow missing/],
    [rsyncdWritableModuleRestricted, "file: push module open to all", () => editFile(stack(), /^rsyncd-push\.conf$/, (t) => t.replace(/^(\s+hosts allow = ).*$/m, "$10.0.0.0/0")), /open \(0\.0\.0\.0\/0\)/],
    [rsyncdWritableModuleRestricted, "file: push module's auth users removed", () => editFile(stack(), /^rsyncd-push\.conf$/, (t) => t.replace(/^\s+auth users = .*$/m, "")), /without authentication/],
    [rsyncdWritableModuleRestricted, "file: no secrets file", () => editFile(stack(), /^rsyncd-push\.conf$/, (t) => t.replace(/^secrets file = .*$/m, "")), /without authentication/],
    [rsyncdWritableModuleRestricted, "file: write only = no", () => editFile(stack(), /^rsyncd-push\.conf$/, (t) => t.replace("write only = yes", "write only = no")), /also serves reads/],
    [rsyncdWritableModuleRestricted, "file: push module writes into another project's tree", () => editFile(stack(), /^rsyncd-push\.conf$/, (t) => t.replace("path = /srv/mirror/archlinux", "path = /srv/mirror/fedora")), /outside project archlinux's trees/],
    [rsyncdWritableModuleRestricted, "file: push module writes the whole mirror root", () => editFile(stack(), /^rsyncd-push\.conf$/, (t) => t.replace("path = /srv/mirror/archlinux", "path = /srv/mirror")), /outside project archlinux's trees/],
    [rsyncdWritableModuleRestricted, "file: the public daemon made writable", () => editFile(stack(), /^rsyncd-public\.conf$/, (t) => t.replace("read only = yes", "read only = no")), /tied to no project/],
    [rsyncdWritableModuleRestricted, "file: a read-only module in the push daemon", () => editFile(stack(), /^rsyncd-push\.conf$/, (t) => `${t}\n[peek]\n    path = /srv/mirror/archlinux\n    read only = yes\n`), /writable and read-only modules share one daemon/],
    [tierRequirements, "daily sync", () => editNode(stack(), (n) => (n.sync[0].schedule = "daily")), /less than hourly/],
    [tierRequirements, "no data volume", () => editNode(stack(), (n) => (n.volumes = [])), /no dedicated data volume/],
    [tierRequirements, "tier 2 without HTTPS", () => editNode(stack(), (n) => delete n.web.tls), /HTTPS/],
    [tierRequirements, "keepalive 60 s", () => editNode(stack(), (n) => (n.web.keepaliveTimeoutSeconds = 60)), /keepalive timeout 60s/],
  ];

  for (const [policy, title, make, expected] of cases) {
    it(`${policy.name} rejects: ${title}`, async () => {
      const found = await violations(policy, make());
      assert.ok(found.length > 0, "no violation reported");
      assert.ok(found.some((m) => expected.test(m)), `expected ${expected}, got:\n${found.join("\n")}`);
    });
  }

  // A preview can leave a value unknown. The SDK would make a policy that
  // touches it an advisory "can't run during preview", i.e. a pass; the
  // kit's mandatory policies fail instead, naming what they cannot see.
  const MANDATORY = ALL_POLICIES.filter((p) => p.enforcementLevel === "mandatory");
  const unseenCases: [string, () => Item[], RegExp][] = [
    ["a rendered file's content", () => {
      const items = stack();
      items.find((r) => r.type === "mirrorkit:host:RemoteFile" && /rsyncd-public\.conf$/.test(r.props.path))!.props.content = unknownStringValue;
      return items;
    }, /can't see the rendered file \/etc\/mirrorkit\/rsyncd-public\.conf/],
    ["the node's config", () => {
      const items = stack();
      items.find((r) => r.type === "mirrorkit:node:MirrorNode")!.props.node = unknownObjectValue;
      return items;
    }, /can't see the config of node policy/],
    ["a copy outside the kit's RemoteFile", () => {
      const items = stack();
      items.push({ type: "command:remote:CopyToRemote", name: "custom-copy", props: { remotePath: "/etc/rsyncd.conf" } });
      return items;
    }, /can't see the file copied by custom-copy/],
  ];
  for (const [what, make, expected] of unseenCases) {
    it(`every mandatory policy fails when it cannot see ${what}`, async () => {
      for (const policy of MANDATORY) {
        const found = await violations(policy, make());
        assert.ok(found.some((m) => expected.test(m)), `${policy.name}: expected ${expected}, got:\n${found.join("\n")}`);
      }
    });
  }

  it("a copy outside the kit's RemoteFile is read from its asset when known", async () => {
    const items = stack();
    const conf = items.find((r) => r.type === "mirrorkit:host:RemoteFile" && /rsyncd-public\.conf$/.test(r.props.path))!;
    items.push({ type: "command:remote:CopyToRemote", name: "custom-copy", props: { remotePath: "/etc/rsyncd.conf" }, text: conf.props.content.replace("uid = nobody", "uid = root") });
    const found = await violations(rsyncdPublicModuleUnprivileged, items);
    assert.ok(found.some((m) => /\/etc\/rsyncd\.conf \[fedora\]: public module runs as uid root/.test(m)), found.join("\n"));
  });

  it("a copy inside the kit's RemoteFile is not read twice", async () => {
    const found = await violations(rsyncdPublicModuleUnprivileged, editFile(stack(), /^rsyncd-public\.conf$/, (t) => t.replace("uid = nobody", "uid = root")));
    // One message per public module (fedora, archlinux), none repeated.
    assert.equal(found.length, 2, found.join("\n"));
    assert.equal(new Set(found).size, found.length, found.join("\n"));
  });

  it("no-delete mode (no delete option at all) satisfies the deletion rule", async () => {
    const items = editFile(stack(), /^sync-/, (t) => t.replace(" --delete-after", "").replace(/ --max-delete=\d+/, ""));
    assert.deepEqual(await violations(syncSafetyFlags, items), []);
  });

  it("reads OnCalendar hour fields", () => {
    for (const s of ["hourly", "*:05", "*:0/15", "*-*-* *:00:00"]) assert.ok(firesHourlyOrMore(s), s);
    for (const s of ["daily", "*-*-* 08,14:10", "Mon 04:00"]) assert.ok(!firesHourlyOrMore(s), s);
  });
});
