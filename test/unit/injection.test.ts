// No injection, by construction: for hostile strings (shell, rsyncd, systemd,
// JSON and HTML metacharacters, control characters, a canary command) in the
// fields that reach files, whatever zod accepts renders files that pass their
// own checkers, a status.json that parses and holds the value as given, a
// status page that shows it escaped, and a run of the sync script that
// executes nothing the value says. Property-based (fast-check), bounded runs.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import fc from "fast-check";
import { parseNodeConfig, type NodeConfig } from "../../components/config";
import { bitflipModel, renderBitflipService, renderBitflipTimer } from "../../components/render/bitflip";
import { renderRsyncdConf, rsyncdCheckCommand, rsyncdModels } from "../../components/render/rsync";
import { renderSyncScript, renderSyncService, renderSyncTimer, syncModel, upstreamUrl, type SyncModel } from "../../components/render/sync";
import { renderNginxConf, runtimeDirName, webModel } from "../../components/render/nginx";
import { renderWebConf, webSupportFiles } from "../../components/render/web";
import { minimalRawConfig } from "../lib/fixtures";
import { sh, tmpDir } from "../lib/tools";

const CANARY = path.join(tmpDir("canary-dir"), "canary");
/** Pieces of hostile input: metacharacters of every file language the kit writes, and a canary command. */
const HOSTILE = fc.constantFrom(
  ..."abcXYZ019._-+~@,=/: ".split(""),
  "$", "(", ")", "`", '"', "'", "<", ">", "&", ";", "|", "\\", "{", "}", "#", "%", "*", "?", "[", "]", "!", "\n", "\r", "\t", "\u0085",
  `$(touch ${CANARY})`, `\`touch ${CANARY}\``, `%h`, `$$`, `</td><script>`, `"}`, `\n[evil]\n    path = /`,
);
/** Mostly characters a field may hold, some hostile pieces: both zod's answers come up often. */
const hostile = (maxLength = 12) =>
  fc.string({ unit: fc.oneof({ arbitrary: fc.constantFrom(..."abcxyz0189._-+~@,=".split("")), weight: 6 }, { arbitrary: HOSTILE, weight: 1 }), minLength: 1, maxLength });

/** Counts the cases zod accepted and refused, so a property cannot pass by refusing everything. */
function tally() {
  const seen = { accepted: 0, refused: 0 };
  return {
    seen,
    note: <T>(v: T | undefined): v is T => {
      if (v === undefined) seen.refused++;
      else seen.accepted++;
      return v !== undefined;
    },
    check(min: number) {
      assert.ok(seen.accepted >= min && seen.refused >= 1, `accepted ${seen.accepted}, refused ${seen.refused}: both must come up`);
    },
  };
}

/** A raw config with one field set; undefined when zod refuses it (then the property holds trivially). */
function accepted(set: (raw: Record<string, any>) => void): NodeConfig | undefined {
  const raw = {
    ...minimalRawConfig(),
    rsync: { modules: [{ name: "pub", path: "pub", comment: "Public" }] },
    sync: [{ name: "pub", upstream: "rsync://upstream.example.org/pub/", path: "pub", checkFile: "lastupdate", schedule: "hourly", trace: false }],
    bitflips: [{ name: "rel", paths: ["pub/next"], at: "2030-01-01 00:00:00 UTC" }],
  } as Record<string, any>;
  set(raw);
  try {
    return parseNodeConfig(raw);
  } catch {
    return undefined;
  }
}

const verify = (dir: string, files: [string, string][]) => {
  const paths = files.map(([name, text]) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, text);
    return f;
  });
  return sh("systemd-analyze", ["verify", ...paths]);
};

/** The sync script's status writing, run for real: ExecStopPost's --after mode after a stop. */
function statusOf(node: NodeConfig): { json: Record<string, unknown>; page: string; prom: string } {
  const root = tmpDir("inject-run");
  const base = syncModel(node, node.sync[0]);
  const m: SyncModel = { ...base, stateDir: path.join(root, "state"), metricsFile: path.join(root, "m.prom"), statusDir: path.join(root, "status") };
  for (const d of [m.stateDir, m.statusDir]) fs.mkdirSync(d, { recursive: true });
  const script = path.join(root, "sync.sh");
  fs.writeFileSync(script, renderSyncScript(m), { mode: 0o755 });
  assert.equal(sh("sh", ["-n", script]).code, 0);
  const r = sh("env", ["SERVICE_RESULT=signal", "EXIT_STATUS=TERM", script, "--after"]);
  assert.equal(r.code, 0, r.out);
  return {
    json: JSON.parse(fs.readFileSync(path.join(m.stateDir, "status.json"), "utf8")) as Record<string, unknown>,
    page: fs.readFileSync(path.join(m.statusDir, "index.html"), "utf8"),
    prom: fs.readFileSync(m.metricsFile, "utf8"),
  };
}

describe("no injection through stack config values (property-based)", () => {
  const runs = { numRuns: 60, seed: 424242 };

  it("zod refuses hostile paths, URLs, schedules and times: what it accepts is inert", () => {
    const t = tally();
    fc.assert(
      fc.property(hostile(), fc.constantFrom("mirrorRoot", "path", "upstream", "checkFile", "schedule", "at"), (value, field) => {
        const node = accepted((r) => {
          if (field === "mirrorRoot") r.mirrorRoot = `/srv/${value}`;
          if (field === "path") r.sync[0].path = value;
          if (field === "upstream") r.sync[0].upstream = `rsync://upstream.example.org/${value}/`;
          if (field === "checkFile") r.sync[0].checkFile = value;
          if (field === "schedule") r.sync[0].schedule = value;
          if (field === "at") r.bitflips[0].at = value;
        });
        if (!t.note(node)) return;
        const all = JSON.stringify(node);
        // Paths and URLs: no character any target language reads (shell, rsyncd, systemd, nginx, JSON, HTML).
        for (const v of [node.mirrorRoot, node.sync[0].path, node.sync[0].upstream, node.sync[0].checkFile ?? ""]) {
          assert.doesNotMatch(v, /[$`()|;&<>"'\\%{}#!*?[\]\s]/, `${field} ${JSON.stringify(value)} accepted as ${JSON.stringify(v)}`);
        }
        // Calendar expressions: systemd's calendar characters only.
        for (const v of [node.sync[0].schedule ?? "", node.bitflips[0].at]) assert.match(v, /^[A-Za-z0-9*:,./~ +-]*$/);
        assert.ok(!all.includes(CANARY), "the canary never passes");
      }),
      runs,
    );
    t.check(5);
  });

  it("accepted values: the sync unit, its timer and the bitflip units pass systemd-analyze verify", () => {
    const t = tally();
    fc.assert(
      fc.property(hostile(), fc.constantFrom("schedule", "at", "path"), (value, field) => {
        const node = accepted((r) => {
          if (field === "schedule") r.sync[0].schedule = `*:0/${value}`;
          if (field === "at") r.bitflips[0].at = `2030-01-01 ${value}`;
          if (field === "path") r.bitflips[0].paths = [`pub/${value}`];
        });
        if (!t.note(node)) return;
        const dir = tmpDir("inject-units");
        const m = syncModel(node, node.sync[0]);
        const b = bitflipModel(node, node.bitflips[0]);
        // The service names its script by host path; verify needs an executable there.
        const script = path.join(dir, "sync.sh");
        fs.writeFileSync(script, "#!/bin/sh\n", { mode: 0o755 });
        const r = verify(dir, [
          [m.unitName, renderSyncService({ ...m, scriptPath: script })],
          [m.timerName, renderSyncTimer(m)],
          [b.unitName, renderBitflipService(b)],
          [b.timerName, renderBitflipTimer(b)],
        ]);
        // systemd rejects a calendar it cannot parse: that is the host-side check doing its job, not an injection.
        if (r.code !== 0) assert.match(r.out, /Failed to parse calendar|Timer unit lacks value setting|bad-setting|Invalid/, r.out);
        assert.doesNotMatch(r.out, /Unknown key|Unknown section|Unknown lvalue/, r.out);
      }),
      { numRuns: 40, seed: 7 },
    );
    t.check(5);
  });

  it("accepted module comments and paths: rsyncd.conf passes rsync's own daemon and keeps one module", () => {
    const t = tally();
    fc.assert(
      fc.property(hostile(), fc.constantFrom("comment", "path"), (value, field) => {
        const node = accepted((r) => {
          if (field === "comment") r.rsync.modules[0].comment = value;
          if (field === "path") r.rsync.modules[0].path = `pub/${value}`;
        });
        if (!t.note(node)) return;
        const [pub] = rsyncdModels(node);
        const conf = path.join(tmpDir("inject-rsyncd"), "rsyncd.conf");
        fs.writeFileSync(conf, renderRsyncdConf(pub));
        const r = sh("sh", ["-c", rsyncdCheckCommand(`'${conf}'`)]);
        assert.equal(r.code, 0, r.out);
        assert.deepEqual(r.out.trim().split("\n").map((l) => l.split(/\s+/)[0]), ["pub"], "exactly the configured module");
      }),
      { numRuns: 15, seed: 11 },
    );
    t.check(5);
  });

  it("accepted tree roots and public names: nginx -t and apache2 -t pass, the root is the configured one", () => {
    const t = tally();
    fc.assert(
      fc.property(hostile(), fc.constantFrom("mirrorRoot", "publicName"), (value, field) => {
        // Under a scratch directory: apache2 -t wants the root to exist.
        const dir = tmpDir("inject-web");
        const node = accepted((r) => {
          r.mirrorRoot = field === "mirrorRoot" ? `${dir}/${value}` : `${dir}/tree`;
          if (field === "publicName") r.publicName = `${value}.example.org`;
        });
        if (!t.note(node)) return;
        const m = { ...webModel(node), listingFilterPath: path.join(dir, "listing-filter.js") };
        for (const f of webSupportFiles(m)) fs.writeFileSync(path.join(dir, path.basename(f.path)), f.content);
        const rt = runtimeDirName(m.unitName);
        fs.mkdirSync(`/run/${rt}`, { recursive: true });
        fs.mkdirSync(`/var/log/${rt}`, { recursive: true });
        const nginxConf = path.join(dir, "nginx.conf");
        fs.writeFileSync(nginxConf, renderNginxConf(m));
        const n = sh("nginx", ["-t", "-e", "stderr", "-c", nginxConf]);
        assert.equal(n.code, 0, n.out);
        assert.ok(renderNginxConf(m).includes(`root ${node.mirrorRoot};`));
        fs.mkdirSync(node.mirrorRoot, { recursive: true });
        const apacheConf = path.join(dir, "httpd.conf");
        fs.writeFileSync(apacheConf, renderWebConf({ ...webModel({ ...node, web: { ...node.web, server: "apache" } }), configPath: apacheConf }, node.publicName ?? "mirror.example.org"));
        const a = sh("apache2", ["-t", "-f", apacheConf]);
        assert.equal(a.code, 0, a.out);
      }),
      { numRuns: 25, seed: 13 },
    );
    t.check(5);
  });

  it("a whole run of the sync script with accepted values, against a stub rsync, executes nothing the values say", () => {
    const t = tally();
    fc.assert(
      fc.property(hostile(), fc.constantFrom("upstream", "path", "checkFile", "exclude"), (value, field) => {
        const root = tmpDir("inject-full");
        const node = accepted((r) => {
          r.mirrorRoot = `${root}/tree`;
          r.sync[0].trace = true;
          if (field === "upstream") r.sync[0].upstream = `rsync://upstream.example.org/${value}/`;
          if (field === "path") r.sync[0].path = value;
          if (field === "checkFile") r.sync[0].checkFile = value;
          if (field === "exclude") r.sync[0].excludes = [value];
        });
        if (!t.note(node)) return;
        const base = syncModel(node, node.sync[0]);
        const m: SyncModel = { ...base, stateDir: path.join(root, "state"), metricsFile: path.join(root, "m.prom"), statusDir: path.join(root, "status"), pushTriggerFile: "" };
        for (const d of [m.stateDir, m.statusDir, m.dest]) fs.mkdirSync(d, { recursive: true });
        const script = path.join(root, "sync.sh");
        fs.writeFileSync(script, renderSyncScript(m), { mode: 0o755 });
        // The stub answers as an upstream would: a check file, a listing, transfers with stats.
        const bin = path.join(root, "bin");
        fs.mkdirSync(bin);
        fs.writeFileSync(
          path.join(bin, "rsync"),
          [
            "#!/bin/sh",
            `printf '%s\\n' "$*" >> ${path.join(root, "calls")}`,
            'for last; do :; done',
            'case "$*" in',
            '  *--stats*) echo "Total bytes received: 10"; exit 0 ;;',
            '  *" -q -t "*) date > "$last"; exit 0 ;;',
            '  *) echo "drwxr-xr-x          4,096 2026/01/01 00:00:00 ."; echo "-rw-r--r--             10 2026/01/01 00:00:00 lastupdate"; exit 0 ;;',
            "esac",
          ].join("\n") + "\n",
          { mode: 0o755 },
        );
        const r = sh("env", [`PATH=${bin}:/usr/sbin:/usr/bin:/sbin:/bin`, script]);
        assert.equal(r.code, 0, r.out);
        assert.match(r.out, /sync complete/);
        assert.ok(!fs.existsSync(CANARY), "the canary command never ran");
        // rsync got the upstream as one argument, exactly as configured.
        assert.ok(fs.readFileSync(path.join(root, "calls"), "utf8").includes(upstreamUrl(node.sync[0])));
        const status = JSON.parse(fs.readFileSync(path.join(m.stateDir, "status.json"), "utf8")) as Record<string, unknown>;
        assert.equal(status.result, "success");
        assert.equal(status.upstream, upstreamUrl(node.sync[0]));
        // The exclude list the script writes for rsync holds each pattern as one line, as configured.
        const excludes = fs.readFileSync(path.join(m.stateDir, "excludes"), "utf8").split("\n");
        for (const e of node.sync[0].excludes) assert.ok(excludes.includes(e), `exclude ${JSON.stringify(e)} reaches rsync whole`);
      }),
      { numRuns: 30, seed: 17 },
    );
    t.check(5);
  });

  it("the sync script's status: JSON parses and holds the values, the page escapes them, the metrics label is well-formed, nothing runs", () => {
    const t = tally();
    fc.assert(
      fc.property(hostile(), fc.constantFrom("upstream", "path", "checkFile"), (value, field) => {
        const node = accepted((r) => {
          if (field === "upstream") r.sync[0].upstream = `rsync://upstream.example.org/${value}/`;
          if (field === "path") r.sync[0].path = value;
          if (field === "checkFile") r.sync[0].checkFile = value;
        });
        if (!t.note(node)) return;
        const { json, page, prom } = statusOf(node);
        assert.equal(json.module, node.sync[0].name);
        assert.equal(json.upstream, upstreamUrl(node.sync[0]));
        assert.equal(json.result, "failed");
        assert.doesNotMatch(page, /<script>/);
        assert.match(prom, /^mirrorkit_sync_success\{module="pub",project="pub"\} 0$/m);
        assert.ok(!fs.existsSync(CANARY), "the canary command never ran");
      }),
      { numRuns: 30, seed: 5 },
    );
    t.check(5);
  });
});
