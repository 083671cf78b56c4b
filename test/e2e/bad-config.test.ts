// Bad input through the real CLI: `pulumi up` of an invalid stack config fails
// before any resource is registered (no remote command can run), and the
// error names each bad field and what is expected, without a stack trace.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { PROJECT_DIR, pulumi, stackNames } from "../../scripts/lib/pulumi";
import { changeSummary, writeStackFile } from "../lib/e2e";

const STACK = "e2e-bad-config";

describe("invalid stack config through the real CLI", { timeout: 5 * 60_000 }, () => {
  after(async () => {
    await pulumi(["stack", "rm", STACK, "--yes", "--force"], { check: false });
    fs.rmSync(path.join(PROJECT_DIR, "stacks", `Pulumi.${STACK}.yaml`), { force: true });
  });

  // A sample of the unit corpus (test/unit/config.test.ts), one `pulumi up` per
  // case: field errors, and cross-field rules (which zod runs once the fields parse).
  const host = { address: "192.0.2.10", privateKey: "unused" }; // TEST-NET-1: nothing may ever connect here
  const cases: { title: string; node: Record<string, unknown>; named: RegExp[] }[] = [
    {
      title: "identities, an access list for everyone, a non-rsync upstream",
      node: {
        name: "bad",
        host,
        accounts: { http: { user: "mirror", group: "mirror-http" } },
        rsync: {
          modules: [{ name: "fedora", path: "fedora" }],
          private: { modules: [{ name: "tier", path: "fedora" }], hostsAllow: ["*"], users: [{ name: "t2", password: "secret-secret" }] },
        },
        sync: [{ name: "fedora", upstream: "https://example.org/fedora/", path: "fedora" }],
      },
      named: [
        /mirrorkit:node\.accounts\.http\.user: must differ from accounts\.mirror\.user/,
        /mirrorkit:node\.rsync\.private\.hostsAllow\[0\]: "\*" opens the private module to everyone/,
        /mirrorkit:node\.sync\[0\]\.upstream: an rsync:\/\/ URL/,
      ],
    },
    {
      title: "a system directory served, a template directory outside the project, a path climbing out",
      node: { name: "bad", host, mirrorRoot: "/etc", templateDir: "../elsewhere", rsync: { modules: [{ name: "fedora", path: " .. " }] } },
      named: [
        /mirrorkit:node\.mirrorRoot: never the filesystem root or a system directory/,
        /mirrorkit:node\.templateDir: a directory inside the project/,
        /mirrorkit:node\.rsync\.modules\[0\]\.path: letters, digits/,
      ],
    },
    {
      title: "everyone by netmask, root as the public rsync group, two volumes on one mount point",
      node: {
        name: "bad",
        host,
        accounts: { rsync: { user: "nobody", group: "root" } },
        volumes: [
          { name: "a", device: "/dev/vdb", mountPoint: "/srv/mirror" },
          { name: "b", device: "/dev/vdc", mountPoint: "/srv/mirror/" },
        ],
        rsync: {
          modules: [{ name: "fedora", path: "fedora" }],
          private: { modules: [{ name: "tier", path: "fedora" }], hostsAllow: ["0.0.0.0/0.0.0.0"], users: [{ name: "t2", password: "secret-secret" }] },
        },
      },
      named: [
        /mirrorkit:node\.rsync\.private\.hostsAllow\[0\]: "0\.0\.0\.0\/0\.0\.0\.0" opens the private module to everyone/,
        /mirrorkit:node\.accounts\.rsync\.group: must not be root/,
        /mirrorkit:node\.volumes\[1\]\.mountPoint: volumes\[0\] is already mounted at \/srv\/mirror/,
      ],
    },
  ];

  for (const c of cases) {
    it(`pulumi up fails before touching the host, naming every bad field: ${c.title}`, async () => {
      if (!(await stackNames()).includes(STACK)) await pulumi(["stack", "init", STACK]);
      await writeStackFile(STACK, c.node);
      const r = await pulumi(["up", "--stack", STACK, "--yes", "--skip-preview"], { check: false });
      const out = r.stdout + r.stderr;
      assert.notEqual(r.code, 0);
      assert.match(out, /invalid stack config "mirrorkit:node"/);
      for (const field of c.named) assert.match(out, field);
      assert.doesNotMatch(out, /at parseNodeConfig|\.ts:\d+:\d+/, "no stack trace");
      // Only the stack resource itself: no component, no command was registered.
      assert.doesNotMatch(out, /mirrorkit:node:MirrorNode|command:remote/);
      assert.ok((changeSummary(r.stdout).created ?? 0) <= 1, "nothing but the stack resource itself");
      const { stdout } = await pulumi(["stack", "export", "--stack", STACK]);
      const resources = (JSON.parse(stdout) as { deployment: { resources?: { type: string }[] } }).deployment.resources ?? [];
      assert.deepEqual(resources.filter((x) => x.type !== "pulumi:pulumi:Stack" && x.type !== "pulumi:providers:command"), []);
    });
  }

  it("secrets written in plain text in the stack file are refused, each named with the command that encrypts it", async () => {
    if (!(await stackNames()).includes(STACK)) await pulumi(["stack", "init", STACK]);
    const file = path.join(PROJECT_DIR, "stacks", `Pulumi.${STACK}.yaml`);
    const salt = /^encryptionsalt: .*$/m.exec(fs.readFileSync(file, "utf8"))?.[0] ?? "";
    // An otherwise valid node, written by hand as a hurried operator would.
    const node = {
      name: "plain",
      host: { address: "192.0.2.10", privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----" },
      rsync: {
        modules: [{ name: "fedora", path: "fedora" }],
        private: { modules: [{ name: "tier", path: "fedora" }], hostsAllow: ["198.51.100.7"], users: [{ name: "t2", password: "plain-text-password" }] },
      },
      sync: [{ name: "fedora", upstream: "rsync://tier1.example.org/fedora/", path: "fedora" }],
      reportMirror: { site: "s", sitePassword: "plain-site-password", host: "mirror.example.org", categories: { "Fedora Linux": "fedora" } },
    };
    fs.writeFileSync(file, `${salt}\nconfig:\n  mirrorkit:node: ${JSON.stringify(node)}\n`);
    const r = await pulumi(["preview", "--stack", STACK], { check: false });
    const out = r.stdout + r.stderr;
    assert.notEqual(r.code, 0);
    assert.match(out, /stacks\/Pulumi\.e2e-bad-config\.yaml holds secrets in plain text/);
    for (const p of ["host.privateKey", "rsync.private.users[0].password", "reportMirror.sitePassword"]) {
      assert.ok(out.includes(`mirrorkit:node.${p}: a secret in plain text`), `${p} named:\n${out}`);
      assert.ok(out.includes(`pulumi config set --secret --path 'node.${p}'`), `the command for ${p}`);
    }
    assert.doesNotMatch(out, /plain-text-password|plain-site-password/, "the values are not echoed");
    // The same node with the secrets encrypted (as writeStackFile stores them) previews cleanly.
    await writeStackFile(STACK, node);
    const encrypted = fs.readFileSync(file, "utf8");
    assert.doesNotMatch(encrypted, /plain-text-password|plain-site-password|BEGIN OPENSSH/);
    assert.equal((encrypted.match(/secure: '?v1:/g) ?? []).length, 3);
    const ok = await pulumi(["preview", "--stack", STACK], { check: false });
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  });
});
