import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, configWarnings, parseNodeConfig } from "../../components/config";
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
    assert.deepEqual(node.web.listenAddresses, [], "every address");
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
    ["listen address a host name", (r) => (r.web = { listenAddresses: ["mirror.example.org"] }), "mirrorkit:node.web.listenAddresses[0]", /IPv4 or IPv6/],
    ["listen address bracketed", (r) => (r.web = { listenAddresses: ["192.0.2.1", "[2001:db8::1]"] }), "mirrorkit:node.web.listenAddresses[1]", /without brackets/],
    ["listen address twice", (r) => (r.web = { listenAddresses: ["192.0.2.1", "192.0.2.1"] }), "mirrorkit:node.web.listenAddresses", /each address once/],
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
    ["tier account same as mirror", (r) => (r.accounts = { tier: { user: "mirror" } }), "mirrorkit:node.accounts.tier.user", /must differ/],
    ["rsync account root", (r) => (r.accounts = { rsync: { user: "root", group: "nogroup" } }), "mirrorkit:node.accounts.rsync.user", /root/],
    ["web server as string number", (r) => (r.web = { httpPort: "80" }), "mirrorkit:node.web.httpPort", /expected number/i],
    ["http and rsync on one port", (r) => (r.rsync = { port: 80 }), "mirrorkit:node.rsync.port", /already used by web\.httpPort/],
    ["private on the public rsync port", (r) => (r.rsync = { private: { port: 873, modules: [{ name: "t", path: "t" }], hostsAllow: ["192.0.2.1"], users: [{ name: "u", password: "12345678" }] } }), "mirrorkit:node.rsync.private.port", /already used by rsync\.port/],
    ["https on the http port", (r) => (r.web = { tls: { certificatePath: "/c", keyPath: "/k", httpsPort: 80 } }), "mirrorkit:node.web.tls.httpsPort", /already used/],
    ["tls relative cert path", (r) => (r.web = { tls: { certificatePath: "cert.pem", keyPath: "/k" } }), "mirrorkit:node.web.tls.certificatePath", /absolute path/],
    ["private module open to all", (r) => (r.rsync = { private: { modules: [{ name: "t", path: "t" }], hostsAllow: ["*"], users: [{ name: "u", password: "12345678" }] } }), "mirrorkit:node.rsync.private.hostsAllow[0]", /opens the private module to everyone/],
    ["private module 0.0.0.0/0", (r) => (r.rsync = { private: { modules: [{ name: "t", path: "t" }], hostsAllow: ["0.0.0.0/0"], users: [{ name: "u", password: "12345678" }] } }), "mirrorkit:node.rsync.private.hostsAllow[0]", /everyone/],
    ["private module without hosts allow", (r) => (r.rsync = { private: { modules: [{ name: "t", path: "t" }], hostsAllow: [], users: [{ name: "u", password: "12345678" }] } }), "mirrorkit:node.rsync.private.hostsAllow", /at least one/],
    ["private module without users", (r) => (r.rsync = { private: { modules: [{ name: "t", path: "t" }], hostsAllow: ["192.0.2.1"], users: [] } }), "mirrorkit:node.rsync.private.users", /at least one/],
    ["private password too short", (r) => (r.rsync = { private: { modules: [{ name: "t", path: "t" }], hostsAllow: ["192.0.2.1"], users: [{ name: "u", password: "short" }] } }), "mirrorkit:node.rsync.private.users[0].password", /at least 8/],
    ["private without modules", (r) => (r.rsync = { private: { modules: [], hostsAllow: ["192.0.2.1"], users: [{ name: "u", password: "12345678" }] } }), "mirrorkit:node.rsync.private.modules", /at least one/],
    ["module both public and private", (r) => (r.rsync = { modules: [{ name: "f", path: "f" }], private: { modules: [{ name: "f", path: "f" }], hostsAllow: ["192.0.2.1"], users: [{ name: "u", password: "12345678" }] } }), "mirrorkit:node.rsync.private.modules[0].name", /also a public module/],
    ["duplicate public module", (r) => (r.rsync = { modules: [{ name: "f", path: "a" }, { name: "f", path: "b" }] }), "mirrorkit:node.rsync.modules[1].name", /duplicate module/],
    ["module path absolute", (r) => (r.rsync = { modules: [{ name: "f", path: "/etc" }] }), "mirrorkit:node.rsync.modules[0].path", /relative to mirrorRoot/],
    ["module path escaping the tree", (r) => (r.rsync = { modules: [{ name: "f", path: "a/../../etc" }] }), "mirrorkit:node.rsync.modules[0].path", /without '\.\.'/],
    ["module name with a space", (r) => (r.rsync = { modules: [{ name: "my mod", path: "a" }] }), "mirrorkit:node.rsync.modules[0].name", /letters, digits/],
    ["sync upstream not rsync://", (r) => (r.sync = [{ name: "f", upstream: "https://example.org/f/", path: "f" }]), "mirrorkit:node.sync[0].upstream", /rsync:\/\/ URL/],
    ["sync without path", (r) => (r.sync = [{ name: "f", upstream: "rsync://example.org/f/" }]), "mirrorkit:node.sync[0].path", /expected string/i],
    ["sync user without password", (r) => (r.sync = [{ name: "f", upstream: "rsync://example.org/f/", path: "f", user: "u" }]), "mirrorkit:node.sync[0].password", /both user and password/],
    ["two syncs into one path", (r) => (r.sync = [{ name: "a", upstream: "rsync://x.org/a/", path: "f" }, { name: "b", upstream: "rsync://x.org/b/", path: "f" }]), "mirrorkit:node.sync[1].path", /already writes/],
    ["duplicate sync name", (r) => (r.sync = [{ name: "a", upstream: "rsync://x.org/a/", path: "a" }, { name: "a", upstream: "rsync://x.org/b/", path: "b" }]), "mirrorkit:node.sync[1].name", /duplicate sync module/],
    ["sync timeout too short", (r) => (r.sync = [{ name: "a", upstream: "rsync://x.org/a/", path: "a", timeoutSeconds: 5 }]), "mirrorkit:node.sync[0].timeoutSeconds", /./],
    ["schedule with a newline", (r) => (r.sync = [{ name: "a", upstream: "rsync://x.org/a/", path: "a", schedule: "daily\nExecStart=/bin/sh" }]), "mirrorkit:node.sync[0].schedule", /a newline/],
    ["post hook with a newline", (r) => (r.sync = [{ name: "a", upstream: "rsync://x.org/a/", path: "a", postHook: "true\nrm -rf /" }]), "mirrorkit:node.sync[0].postHook", /a newline/],
    ["unknown sync field", (r) => (r.sync = [{ name: "a", upstream: "rsync://x.org/a/", path: "a", delete: false }]), "mirrorkit:node.sync[0]", /unrecognized key/i],
    ["bitflip without paths", (r) => (r.bitflips = [{ name: "f", paths: [], at: "2030-01-01 00:00 UTC" }]), "mirrorkit:node.bitflips[0].paths", /./],
    ["bitflip path absolute", (r) => (r.bitflips = [{ name: "f", paths: ["/srv/mirror/x"], at: "2030-01-01 00:00 UTC" }]), "mirrorkit:node.bitflips[0].paths[0]", /relative to mirrorRoot/],
    ["bitflip without time", (r) => (r.bitflips = [{ name: "f", paths: ["x"] }]), "mirrorkit:node.bitflips[0].at", /expected string/i],
    ["volume fs unknown", (r) => (r.volumes = [{ name: "d", device: "/dev/vdb", fsType: "btrfs", mountPoint: "/srv/mirror" }]), "mirrorkit:node.volumes[0].fsType", /ext4|xfs/],
    ["volume device relative", (r) => (r.volumes = [{ name: "d", device: "vdb", mountPoint: "/srv/mirror" }]), "mirrorkit:node.volumes[0].device", /absolute path/],
    ["volume outside the tree", (r) => (r.volumes = [{ name: "d", device: "/dev/vdb", mountPoint: "/var/lib/mirror" }]), "mirrorkit:node.volumes[0].mountPoint", /mirrorRoot/],
    ["volumes without one at the root", (r) => (r.volumes = [{ name: "d", device: "/dev/vdb", mountPoint: "/srv/mirror/fedora" }]), "mirrorkit:node.volumes", /one volume must be mounted at mirrorRoot/],
    ["one device twice", (r) => (r.volumes = [{ name: "a", device: "/dev/vdb", mountPoint: "/srv/mirror" }, { name: "b", device: "/dev/vdb", mountPoint: "/srv/mirror/x" }]), "mirrorkit:node.volumes[1].device", /used by another volume/],
    ["disk need zero", (r) => (r.diskNeedGiB = 0), "mirrorkit:node.diskNeedGiB", /./],
    ["region empty", (r) => (r.region = ""), "mirrorkit:node.region", /./],
    // Control characters, in every field that reaches a file (the attacker's and hurried operator's cases).
    ["a newline in mirrorRoot", (r) => (r.mirrorRoot = "/srv/mirror\ntouch /tmp/x"), "mirrorkit:node.mirrorRoot", /a newline \(\\n\); control characters are not allowed/],
    ["a newline in a public module path", (r) => (r.rsync = { modules: [{ name: "f", path: "f\n[etc]\n    path = /etc" }] }), "mirrorkit:node.rsync.modules[0].path", /a newline/],
    ["a newline in a private module path", (r) => (r.rsync = { private: { modules: [{ name: "t", path: "t\n[root]" }], hostsAllow: ["192.0.2.1"], users: [{ name: "u", password: "12345678" }] } }), "mirrorkit:node.rsync.private.modules[0].path", /a newline/],
    ["a carriage return in a sync schedule", (r) => (r.sync = [{ name: "a", upstream: "rsync://x.org/a/", path: "a", schedule: "hourly\rOnCalendar=minutely" }]), "mirrorkit:node.sync[0].schedule", /a carriage return \(\\r\)/],
    ["a carriage return in an exclude", (r) => (r.sync = [{ name: "a", upstream: "rsync://x.org/a/", path: "a", excludes: ["*.iso\r+ /etc"] }]), "mirrorkit:node.sync[0].excludes[0]", /a carriage return/],
    ["a carriage return in a bitflip time", (r) => (r.bitflips = [{ name: "f", paths: ["a"], at: "2030-01-01 00:00:00 UTC\rUnit=reboot.target" }]), "mirrorkit:node.bitflips[0].at", /a carriage return/],
    ["a newline in the report_mirror site", (r) => (r.reportMirror = { site: "Example\n[global]", sitePassword: "s3cret", host: "mirror.example.org", categories: {} }), "mirrorkit:node.reportMirror.site", /a newline/],
    ["a newline in the report_mirror password", (r) => (r.reportMirror = { site: "Example", sitePassword: "s3cret\nenabled=0", host: "mirror.example.org", categories: {} }), "mirrorkit:node.reportMirror.sitePassword", /a newline/],
    ["a tab in a tier password", (r) => (r.rsync = { private: { modules: [{ name: "t", path: "t" }], hostsAllow: ["192.0.2.1"], users: [{ name: "u", password: "pass\tword!" }] } }), "mirrorkit:node.rsync.private.users[0].password", /a tab/],
    ["a C1 control (NEL) in a module comment", (r) => (r.rsync = { modules: [{ name: "f", path: "f", comment: "Fedora\u0085x" }] }), "mirrorkit:node.rsync.modules[0].comment", /U\+0085/],
    ["a '%' in a module comment (rsyncd.conf would expand %HOME%)", (r) => (r.rsync = { modules: [{ name: "f", path: "f", comment: "%HOME%" }] }), "mirrorkit:node.rsync.modules[0].comment", /without '%'/],
    ["a '$(' in an upstream URL", (r) => (r.sync = [{ name: "a", upstream: "rsync://x.org/a$(id)/", path: "a" }]), "mirrorkit:node.sync[0].upstream", /an rsync:\/\/ URL/],
    ["a quote in mirrorRoot", (r) => (r.mirrorRoot = "/srv/mi'rror"), "mirrorkit:node.mirrorRoot", /letters, digits/],
    ["a space in a module path", (r) => (r.rsync = { modules: [{ name: "f", path: "a b" }] }), "mirrorkit:node.rsync.modules[0].path", /letters, digits/],
    ["a ';' in a schedule", (r) => (r.sync = [{ name: "a", upstream: "rsync://x.org/a/", path: "a", schedule: "hourly;reboot" }]), "mirrorkit:node.sync[0].schedule", /calendar expression/],
    // Well-typed but unsafe (issue: bad input, second pass).
    ["mirrorRoot /", (r) => (r.mirrorRoot = "/"), "mirrorkit:node.mirrorRoot", /never the filesystem root or a system directory/],
    ["mirrorRoot /etc", (r) => (r.mirrorRoot = "/etc"), "mirrorkit:node.mirrorRoot", /system directory/],
    ["mirrorRoot inside /usr", (r) => (r.mirrorRoot = "/usr/share/mirror"), "mirrorkit:node.mirrorRoot", /system directory/],
    ["mirrorRoot /srv/ (a bare top-level directory, trailing slash)", (r) => (r.mirrorRoot = "/srv/"), "mirrorkit:node.mirrorRoot", /system directory/],
    ["public rsync in group root", (r) => (r.accounts = { rsync: { user: "nobody", group: "root" } }), "mirrorkit:node.accounts.rsync.group", /must not be root/],
    ["web server in group root", (r) => (r.accounts = { http: { user: "mirror-http", group: "root" } }), "mirrorkit:node.accounts.http.group", /must not be root/],
    ["two volumes on one mount point", (r) => (r.volumes = [{ name: "a", device: "/dev/vdb", mountPoint: "/srv/mirror" }, { name: "b", device: "/dev/vdc", mountPoint: "/srv/mirror/" }]), "mirrorkit:node.volumes[1].mountPoint", /volumes\[0\] is already mounted/],
    ["templateDir outside the project", (r) => (r.templateDir = "../elsewhere"), "mirrorkit:node.templateDir", /inside the project/],
    ...(["**", "*.*.*.*", "all", "0/0", "10.1.2.3/0", "0.0.0.0/0.0.0.0", "::/0", "2001:db8::/000"] as const).map(
      (h): [string, (raw: Record<string, any>) => void, string, RegExp] => [
        `hosts allow "${h}" (everyone, written another way)`,
        (r) => (r.rsync = { private: { modules: [{ name: "t", path: "t" }], hostsAllow: ["192.0.2.1", h], users: [{ name: "u", password: "12345678" }] } }),
        "mirrorkit:node.rsync.private.hostsAllow[1]",
        /opens the private module to everyone/,
      ],
    ),
    // Projects (the many-distribution shape): each rule names the project's field.
    ["a project with neither preset nor custom", (r) => (r.projects = [{ upstream: "rsync://x.org" }]), "mirrorkit:node.projects[0].preset", /exactly one of preset/],
    ["a project that waits no time on an upstream update", (r) => (r.projects = [{ preset: "debian", upstream: "rsync://x.org", upstreamBusyWaitSeconds: 0 }]), "mirrorkit:node.projects[0].upstreamBusyWaitSeconds", /./],
    ["a project with an unknown preset", (r) => (r.projects = [{ preset: "gentoo", upstream: "rsync://x.org" }]), "mirrorkit:node.projects[0].preset", /./],
    ["a project without an upstream", (r) => (r.projects = [{ preset: "debian" }]), "mirrorkit:node.projects[0].upstream", /exactly one of upstream .* or upstreamStack/],
    ["a project with both upstream and upstreamStack", (r) => (r.projects = [{ preset: "debian", upstream: "rsync://x.org", upstreamStack: { name: "o/p/t1", user: "t2" } }]), "mirrorkit:node.projects[0].upstream", /exactly one/],
    ["a tier-1 project from a tier-1 stack", (r) => (r.projects = [{ preset: "debian", tier: 1, upstreamStack: { name: "o/p/t1", user: "t2" } }]), "mirrorkit:node.projects[0].upstreamStack", /only a tier-2 project/],
    ["a module its guide does not offer", (r) => (r.projects = [{ preset: "opensuse", upstream: "rsync://x.org", modules: ["opensuse-hotstuff-40gb"] }]), "mirrorkit:node.projects[0].modules[0]", /not a opensuse module; choose from opensuse, opensuse-hotstuff-160gb/],
    ["two partial modules writing one tree", (r) => (r.projects = [{ preset: "opensuse", upstream: "rsync://x.org", modules: ["opensuse-hotstuff-160gb", "opensuse-hotstuff-80gb"] }]), "mirrorkit:node.projects[0].modules", /already writes to "opensuse"/],
    ["a module nested in another's tree", (r) => (r.projects = [{ preset: "opensuse", upstream: "rsync://x.org", modules: ["opensuse", "opensuse-updates"] }]), "mirrorkit:node.projects[0].modules", /nest: each run would delete the other's files/],
    ["two projects with one name", (r) => (r.projects = [{ preset: "debian", upstream: "rsync://x.org" }, { preset: "debian", upstream: "rsync://y.org" }]), "mirrorkit:node.projects[1].name", /already named "debian"/],
    ["a tier-1 project without a private daemon", (r) => (r.projects = [{ preset: "archlinux", tier: 1, upstream: "rsync://x.org" }]), "mirrorkit:node.projects[0].privateModule", /set rsync.private/],
    ["projects beside distro", (r) => { r.projects = [{ preset: "debian", upstream: "rsync://x.org" }]; r.distro = { preset: "fedora", upstream: "rsync://y.org" }; }, "mirrorkit:node.distro", /projects: \[\{ preset: "fedora"/],
    ["a project whose job a hand-written one already has", (r) => { r.projects = [{ preset: "debian", upstream: "rsync://x.org" }]; r.sync = [{ name: "debian", upstream: "rsync://y.org/d/", path: "deb" }]; }, "mirrorkit:node.projects[0].modules", /sync job "debian", which the node already has/],
    ["a custom project without a name", (r) => (r.projects = [{ custom: { title: "Foo", modules: [{ name: "foo", upstreamModule: "foo", path: "foo" }] }, upstream: "rsync://x.org" }]), "mirrorkit:node.projects[0].name", /needs a name/],
    ["a project on the Docker runtime", (r) => { r.runtime = "docker"; r.projects = [{ preset: "debian", upstream: "rsync://x.org" }]; }, "mirrorkit:node.projects", /not supported by runtime "docker"/],
    ["a newline in a project exclude", (r) => (r.projects = [{ preset: "debian", upstream: "rsync://x.org", excludes: ["*.iso\n+ /etc"] }]), "mirrorkit:node.projects[0].excludes[0]", /a newline/],
    ["an Apache IPv6 client prefix off a 16-bit group", (r) => (r.web = { server: "apache", ipv6ClientPrefix: 56 }), "mirrorkit:node.web.ipv6ClientPrefix", /multiple of 16/],
    ["an Apache IPv4 client prefix off an octet", (r) => (r.web = { server: "apache", ipv4ClientPrefix: 30 }), "mirrorkit:node.web.ipv4ClientPrefix", /8, 16, 24 or 32/],
    ["ACME beside a hand-managed certificate", (r) => (r.web = { acme: { contact: "ops@example.org", names: ["mirror.example.org"] }, tls: { certificatePath: "/c", keyPath: "/k" } }), "mirrorkit:node.web.tls", /web.acme provides the certificate/],
    ["an ACME name that is not a DNS name", (r) => (r.web = { acme: { contact: "ops@example.org", names: ["mirror.example.org", "bad name;reboot"] } }), "mirrorkit:node.web.acme.names[1]", /a DNS name/],
    ["an ACME name given twice", (r) => (r.web = { acme: { contact: "ops@example.org", names: ["m.example.org", "M.example.org"] } }), "mirrorkit:node.web.acme.names", /each name once/],
    ["ACME without a name", (r) => (r.web = { acme: { contact: "ops@example.org", names: [] } }), "mirrorkit:node.web.acme.names", /at least one name/],
    ["an ACME contact that is not an address", (r) => (r.web = { acme: { contact: "ops at example.org", names: ["m.example.org"] } }), "mirrorkit:node.web.acme.contact", /an email address/],
    ["an ACME directory over plain HTTP", (r) => (r.web = { acme: { contact: "ops@example.org", names: ["m.example.org"], directoryUrl: "http://ca.example.org/dir" } }), "mirrorkit:node.web.acme.directoryUrl", /https:\/\/ URL/],
    ["an ACME HTTPS port taken by rsync", (r) => (r.web = { acme: { contact: "ops@example.org", names: ["m.example.org"], httpsPort: 873 } }), "mirrorkit:node.web.acme.httpsPort", /already used by rsync.port/],
    ["ACME on the Docker runtime", (r) => { r.runtime = "docker"; r.web = { acme: { contact: "ops@example.org", names: ["m.example.org"] } }; }, "mirrorkit:node.web.acme", /not supported by runtime "docker"/],
    ["a line separator in an upstream URL", (r) => (r.sync = [{ name: "a", upstream: "rsync://x.org/a\u2028/", path: "a" }]), "mirrorkit:node.sync[0].upstream", /U\+2028/],
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

describe("stack config: what is still accepted", () => {
  it("a tree below a top-level directory, a template dir inside the project or named absolutely, narrow access lists", () => {
    for (const mirrorRoot of ["/srv/mirror", "/data/mirror", "/var/www/mirror", "/home/mirror/tree"]) {
      assert.equal(parseNodeConfig({ ...minimalRawConfig(), mirrorRoot }).mirrorRoot, mirrorRoot);
    }
    for (const templateDir of ["templates-eu", "/etc/mirrorkit-templates"]) {
      assert.equal(parseNodeConfig({ ...minimalRawConfig(), templateDir }).templateDir, templateDir);
    }
    const priv = (h: string) => ({ rsync: { private: { modules: [{ name: "t", path: "t" }], hostsAllow: [h], users: [{ name: "u", password: "12345678" }] } } });
    for (const h of ["192.0.2.0/24", "2001:db8::/32", "mirror2.example.org", "*.example.org", "10.0.0.0/255.0.0.0"]) {
      assert.deepEqual(parseNodeConfig({ ...minimalRawConfig(), ...priv(h) }).rsync.private?.hostsAllow, [h]);
    }
  });
});

describe("stack config: multi-line values", () => {
  it("accepts a PEM private key, which is multi-line by nature", () => {
    const node = parseNodeConfig(minimalRawConfig());
    assert.match(node.host.privateKey ?? "", /\n/);
  });
});

describe("distro presets", () => {
  it("fill a tier 1's sync job and public module from the guide", () => {
    const node = parseNodeConfig({ ...minimalRawConfig(), tier: 1, distro: { preset: "fedora", upstream: "rsync://dl.example.org" } });
    assert.equal(node.sync.length, 1);
    assert.equal(node.sync[0].upstream, "rsync://dl.example.org/fedora-enchilada/");
    assert.equal(node.sync[0].schedule, "*:0/20");
    assert.equal(node.sync[0].checkFile, "fullfiletimelist-fedora");
    assert.deepEqual(node.rsync.modules, [{ name: "fedora", path: "fedora", comment: "Fedora" }]);
    assert.equal(node.diskNeedGiB, 2048);
  });

  it("take a schedule and start spread of the operator's", () => {
    const node = parseNodeConfig({
      ...minimalRawConfig(),
      distro: { preset: "parabola", upstream: "rsync://t1.example.org", schedule: "*:17", randomizedDelaySeconds: 0 },
    });
    assert.equal(node.sync[0].schedule, "*:17");
    assert.equal(node.sync[0].randomizedDelaySeconds, 0);
    assert.deepEqual(node.rsync.modules, [], "a tier 2 gets no public module it did not ask for");
  });

  it("reject a bad schedule override, naming the field", () => {
    assert.throws(
      () => parseNodeConfig({ ...minimalRawConfig(), distro: { preset: "fedora", upstream: "rsync://x.org", schedule: "a;b" } }),
      (e: unknown) => e instanceof ConfigError && e.problems.some((p) => p.path === "mirrorkit:node.distro.schedule"),
    );
  });
});

describe("projects: one node, several distributions", () => {
  const university = () =>
    parseNodeConfig({
      ...minimalRawConfig(),
      tier: 2,
      rsync: { private: { hostsAllow: ["192.0.2.0/24"], users: [{ name: "t2", password: "12345678" }] } },
      projects: [
        { preset: "parabola", tier: 1, upstream: "rsync://repo.parabola.nu:875" },
        { preset: "fedora", upstream: "rsync://t1.example.org", modules: ["fedora", "epel"], excludes: ["/*/s390x/"] },
        { preset: "opensuse", upstream: "rsync://stage.opensuse.org", modules: ["opensuse-hotstuff-160gb"], publicModule: false, schedule: "0/6:00" },
        { custom: { title: "Local tools", modules: [{ name: "tools", upstreamModule: "tools", path: "tools" }], diskNeedGiB: 5 }, name: "tools", upstream: "rsync://build.example.org" },
      ],
    });

  it("each project brings its modules' jobs, at its own tier and schedule, with its excludes and label", () => {
    const node = university();
    assert.deepEqual(node.sync.map((j) => [j.name, j.upstream, j.path, j.tier, j.project, j.schedule]), [
      ["parabola", "rsync://repo.parabola.nu:875/repos/", "parabola", 1, "parabola", "*:0/15"],
      ["fedora", "rsync://t1.example.org/fedora-enchilada/", "fedora", 2, "fedora", "*:10"],
      ["epel", "rsync://t1.example.org/fedora-epel/", "epel", 2, "fedora", "*:10"],
      ["opensuse-hotstuff-160gb", "rsync://stage.opensuse.org/opensuse-hotstuff-160gb/", "opensuse", 2, "opensuse", "0/6:00"],
      ["tools", "rsync://build.example.org/tools/", "tools", 2, "tools", "*:05"],
    ]);
    assert.deepEqual(node.sync[1].excludes, ["/*/s390x/"]);
    assert.equal(node.sync[0].checkFile, "lastupdate");
    assert.equal(node.sync[1].stages, "rpm");
    assert.equal(node.sync[0].randomizedDelaySeconds, 60, "tier 1's spread");
    assert.equal(node.sync[1].randomizedDelaySeconds, 300, "tier 2's spread");
  });

  it("a project's wait on an upstream archive update (ftpsync's UIPSLEEP, UIPRETRIES) reaches its jobs; ftpsync's defaults otherwise", () => {
    const node = parseNodeConfig({
      ...minimalRawConfig(),
      tier: 2,
      projects: [
        { preset: "debian", upstream: "rsync://t1.example.org", upstreamBusyWaitSeconds: 30, upstreamBusyRetries: 5 },
        { preset: "archlinux", upstream: "rsync://t1.example.org" },
      ],
    });
    assert.deepEqual(node.sync.map((j) => [j.name, j.upstreamBusyWaitSeconds, j.upstreamBusyRetries]), [
      ["debian", 30, 5],
      ["archlinux", 1200, 3],
    ]);
  });

  it("public modules per project, a private module only for the tier-1 project, the disk need summed", () => {
    const node = university();
    assert.deepEqual(node.rsync.modules.map((m) => m.name), ["parabola", "fedora", "epel", "tools"], "opensuse has publicModule: false");
    assert.deepEqual(node.rsync.private?.modules.map((m) => [m.name, m.path]), [["parabola-tier", "parabola"]]);
    assert.equal(node.diskNeedGiB, 250 + 2048 + 512 + 160 + 5);
  });

  it("a single-distro stack is unchanged: the same jobs and modules as before projects existed", () => {
    const node = parseNodeConfig({ ...minimalRawConfig(), tier: 1, distro: { preset: "fedora", upstream: "rsync://dl.example.org" } });
    assert.equal(node.sync[0].tier, undefined);
    assert.equal(node.sync[0].project, undefined);
    assert.equal(node.sync[0].randomizedDelaySeconds, undefined, "the tier default is applied where the unit is made, as before");
  });
});

describe("push-triggered sync config", () => {
  const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH8vA8Nx2mXe9c0f2Xg7q0t4bq2w8Qm3VYk1s6J4b9cE mirrorkit push t1";

  it("takes keys and downstreams, with the push account's default", () => {
    const node = parseNodeConfig({ ...minimalRawConfig(), push: { authorizedKeys: [key], downstreams: [{ host: "t2.example.org" }] } });
    assert.deepEqual(node.push.downstreams, [{ host: "t2.example.org", port: 22, user: "mirror-push" }]);
    assert.equal(node.accounts.push.user, "mirror-push");
  });

  it("rejects a key that is not one OpenSSH public key line, naming it", () => {
    assert.throws(
      () => parseNodeConfig({ ...minimalRawConfig(), push: { authorizedKeys: [`${key}\nssh-rsa AAAA second`] } }),
      (e: unknown) => e instanceof ConfigError && e.problems.some((p) => p.path === "mirrorkit:node.push.authorizedKeys[0]"),
    );
  });

  it("rejects the push account doubling as another identity", () => {
    assert.throws(
      () => parseNodeConfig({ ...minimalRawConfig(), accounts: { push: { user: "mirror" } } }),
      (e: unknown) => e instanceof ConfigError && e.problems.some((p) => p.path === "mirrorkit:node.accounts.push.user"),
    );
  });
});

describe("report_mirror", () => {
  const rm = { site: "Example", sitePassword: "s3cret", host: "mirror.example.org", categories: { "Fedora Linux": "fedora" } };

  it("makes report_mirror the post-sync hook of the jobs carrying a category", () => {
    const node = parseNodeConfig({ ...minimalRawConfig(), tier: 1, distro: { preset: "fedora", upstream: "rsync://t0.example.org" }, reportMirror: rm });
    assert.equal(node.sync[0].postHook, "report_mirror -c /etc/mirrormanager-client/report_mirror.conf");
    assert.equal(node.reportMirror?.server, "https://mirrormanager.fedoraproject.org/xmlrpc");
  });

  it("keeps a job's own hook", () => {
    const node = parseNodeConfig({
      ...minimalRawConfig(),
      sync: [{ name: "fedora", upstream: "rsync://t0.example.org/fedora/", path: "fedora", postHook: "/usr/local/bin/my-report" }],
      reportMirror: rm,
    });
    assert.equal(node.sync[0].postHook, "/usr/local/bin/my-report");
  });

  it("warns that MirrorManager takes report_mirror from private mirrors only, unless the host is registered as one", () => {
    const base = { ...minimalRawConfig(), rsync: { modules: [{ name: "fedora", path: "fedora" }] }, sync: [{ name: "fedora", upstream: "rsync://t0.example.org/fedora/", path: "fedora" }] };
    const [warning, ...more] = configWarnings(parseNodeConfig({ ...base, reportMirror: { ...rm, categories: { "Fedora Linux": "fedora" } } }));
    assert.match(warning, /^reportMirror: MirrorManager accepts report_mirror only from mirrors registered as private; this node serves the public \(HTTP and rsync\)/);
    assert.deepEqual(more, []);
    assert.deepEqual(configWarnings(parseNodeConfig({ ...base, reportMirror: { ...rm, categories: { "Fedora Linux": "fedora" }, registeredPrivate: true } })), []);
    assert.deepEqual(configWarnings(parseNodeConfig(base)), [], "no reportMirror, no warning");
  });

  it("rejects a category whose job does not exist, naming it", () => {
    assert.throws(
      () => parseNodeConfig({ ...minimalRawConfig(), reportMirror: { ...rm, categories: { "Fedora EPEL": "epel" } } }),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.problems.some((p) => p.path === 'mirrorkit:node.reportMirror.categories["Fedora EPEL"]' && /"epel" is not one of this node's sync jobs/.test(p.message)),
    );
  });
});
