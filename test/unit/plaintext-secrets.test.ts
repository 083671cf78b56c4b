// Which stack-file values are secrets in plain text: every secret-bearing
// field of mirrorkit:node, at every list index, as a string; an encrypted
// leaf ({ secure: ... }) or an absent one is fine.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { plainTextSecrets, plainTextSecretsMessage, SECRET_FIELDS } from "../../components/plaintext-secrets";

const secure = { secure: "v1:abc:def" };

describe("plain-text secrets in a stack file", () => {
  const cases: [string, unknown, string[]][] = [
    ["nothing secret", { name: "n", host: { address: "h", privateKeyPath: "~/.ssh/id" } }, []],
    ["the SSH key in plain text", { host: { address: "h", privateKey: "-----BEGIN" } }, ["host.privateKey"]],
    ["the SSH key encrypted", { host: { address: "h", privateKey: secure } }, []],
    [
      "the second tier user's password in plain text, the first encrypted",
      { rsync: { private: { users: [{ name: "a", password: secure }, { name: "b", password: "pw" }] } } },
      ["rsync.private.users[1].password"],
    ],
    ["a sync job's password", { sync: [{ name: "a" }, { name: "b", password: "pw" }] }, ["sync[1].password"]],
    ["a project's upstream password", { projects: [{ preset: "debian" }, { preset: "fedora", user: "u", password: "pw" }] }, ["projects[1].password"]],
    ["a push user's password", { projects: [{ preset: "opensuse", push: { hostsAllow: ["192.0.2.1"], users: [{ name: "a", password: secure }, { name: "b", password: "pw" }] } }] }, ["projects[0].push.users[1].password"]],
    ["the preset's upstream password", { distro: { preset: "fedora", password: "pw" } }, ["distro.password"]],
    ["MirrorManager's site password", { reportMirror: { site: "s", sitePassword: "pw" } }, ["reportMirror.sitePassword"]],
    ["an empty value is not a secret", { host: { privateKey: "" } }, []],
    ["not an object at all", "mirrorkit", []],
    ["a list where an object is expected", { rsync: { private: { users: "pw" } } }, []],
  ];
  for (const [title, node, paths] of cases) {
    it(title, () => {
      assert.deepEqual(
        plainTextSecrets(node).map((s) => s.path),
        paths,
      );
    });
  }

  it("every secret-bearing field is checked (one case above for each)", () => {
    const named = new Set(cases.flatMap(([, , paths]) => paths.map((p) => p.replace(/\[\d+\]/g, "[]"))));
    assert.deepEqual([...SECRET_FIELDS].filter((f) => !named.has(f)), []);
  });

  it("the message names each field and the command that stores it encrypted, never the value", () => {
    const found = plainTextSecrets({ host: { privateKey: "KEYDATA" }, reportMirror: { sitePassword: "SITEPW" } });
    const message = plainTextSecretsMessage("stacks/Pulumi.x.yaml", found.map((s) => s.path));
    assert.match(message, /^stacks\/Pulumi\.x\.yaml holds secrets in plain text:/);
    assert.match(message, /mirrorkit:node\.host\.privateKey: .*\n\s+pulumi config set --secret --path 'node\.host\.privateKey'/);
    assert.match(message, /pulumi config set --secret --path 'node\.reportMirror\.sitePassword'/);
    assert.doesNotMatch(message, /KEYDATA|SITEPW/);
  });
});
