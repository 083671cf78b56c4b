import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, parseNodeConfig } from "../../components/config";
import { minimalRawConfig } from "../lib/fixtures";

describe("stack config", () => {
  it("fills every default from a minimal config", () => {
    const node = parseNodeConfig(minimalRawConfig());
    assert.equal(node.tier, 2);
    assert.equal(node.mirrorRoot, "/srv/mirror");
    assert.equal(node.host.port, 22);
    assert.equal(node.host.user, "root");
    assert.deepEqual(node.accounts.rsync, { user: "nobody", group: "nogroup" });
    assert.deepEqual(node.accounts.mirror, { user: "mirror", group: "mirror" });
    assert.equal(node.web.server, "nginx");
    assert.equal(node.web.keepaliveTimeoutSeconds, 2);
    assert.equal(node.web.keepaliveRequests, 100);
    assert.equal(node.web.isoConnectionsPerIp, 6);
  });

  // Each case: a change to the minimal config, and the field path the error must name.
  const invalid: [string, (raw: Record<string, any>) => void, string, RegExp][] = [
    ["missing name", (r) => delete r.name, "mirrorkit:node.name", /expected string/i],
    ["upper-case name", (r) => (r.name = "Node1"), "mirrorkit:node.name", /lower-case/],
    ["tier 3", (r) => (r.tier = 3), "mirrorkit:node.tier", /./],
    ["tier as string", (r) => (r.tier = "1"), "mirrorkit:node.tier", /./],
    ["missing host", (r) => delete r.host, "mirrorkit:node.host", /expected object/i],
    ["host port 0", (r) => (r.host.port = 0), "mirrorkit:node.host.port", />=1|too small/i],
    ["host port 70000", (r) => (r.host.port = 70000), "mirrorkit:node.host.port", /<=65535|too big/i],
    ["host port fractional", (r) => (r.host.port = 22.5), "mirrorkit:node.host.port", /int/i],
    ["no key at all", (r) => delete r.host.privateKey, "mirrorkit:node.host.privateKeyPath", /exactly one/],
    ["both key forms", (r) => (r.host.privateKeyPath = "/k"), "mirrorkit:node.host.privateKeyPath", /exactly one/],
    ["unknown host field", (r) => (r.host.adress = "x"), "mirrorkit:node.host", /unrecognized key/i],
    ["relative mirror root", (r) => (r.mirrorRoot = "srv/mirror"), "mirrorkit:node.mirrorRoot", /absolute path/],
    ["mirror root with ..", (r) => (r.mirrorRoot = "/srv/../etc"), "mirrorkit:node.mirrorRoot", /without '\.\.'/],
    ["unknown top-level field", (r) => (r.mirorRoot = "/srv"), "mirrorkit:node", /unrecognized key/i],
    ["web server unknown", (r) => (r.web = { server: "lighttpd" }), "mirrorkit:node.web.server", /nginx|apache/],
    ["keepalive 0", (r) => (r.web = { keepaliveTimeoutSeconds: 0 }), "mirrorkit:node.web.keepaliveTimeoutSeconds", /./],
    ["iso limit negative", (r) => (r.web = { isoConnectionsPerIp: -1 }), "mirrorkit:node.web.isoConnectionsPerIp", /./],
    [
      "http user same as mirror user",
      (r) => (r.accounts = { http: { user: "mirror", group: "www" } }),
      "mirrorkit:node.accounts.http.user",
      /must differ/,
    ],
    [
      "rsync in the mirror group",
      (r) => (r.accounts = { rsync: { user: "rsyncd", group: "mirror" } }),
      "mirrorkit:node.accounts.rsync.group",
      /staged 0750/,
    ],
    [
      "web server as root",
      (r) => (r.accounts = { http: { user: "root", group: "www" } }),
      "mirrorkit:node.accounts.http.user",
      /root/,
    ],
    ["account name with space", (r) => (r.accounts = { http: { user: "web user", group: "www" } }), "mirrorkit:node.accounts.http.user", /POSIX/],
  ];

  for (const [title, mutate, path, message] of invalid) {
    it(`rejects ${title}, naming ${path}`, () => {
      const raw = structuredClone(minimalRawConfig()) as Record<string, any>;
      mutate(raw);
      assert.throws(
        () => parseNodeConfig(raw),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
          const problem = err.problems.find((p) => p.path === path);
          assert.ok(problem, `no problem reported at ${path}; got ${JSON.stringify(err.problems)}`);
          assert.match(problem.message, message);
          assert.match(err.message, new RegExp(path.replace(/[.[\]]/g, "\\$&")));
          return true;
        },
      );
    });
  }
});
