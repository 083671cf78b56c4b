// `npm run doctor -- --url http://mirror.example.org [options]`: probes a live
// mirror node from outside, as its clients would, and says what is wrong.
// Exits 0 when every probe asked for passes, 1 when one fails, 2 on bad usage.
//
// Paths are web paths below the server root, e.g. fedora/releases/42; the
// rsync probes take the first component as the public rsync module.
import { parseArgs } from "node:util";
import * as fs from "node:fs";
import * as path from "node:path";
import { CLIENTS, runClient, type ClientKind } from "./lib/clients";
import { httpRequest, keepaliveReuse, perAddressLimit, rsyncClient, rsyncListedPaths, scratchDir, tlsCertificate } from "./lib/probes";

const USAGE = `usage: npm run doctor -- --url URL [options]
  --url URL               the node's web root (http://host[:port])
  --rsync URL             its public rsync daemon (rsync://host[:port]); default: the URL's host
  --staged PATH           a staged (0750) directory that must stay hidden (repeatable)
  --staged-file PATH      a file inside it, which must not be fetchable (repeatable)
  --iso PATH              an ISO image: octet-stream, ranged GET refused, per-address limit
  --rpm PATH              a package: octet-stream
  --file PATH             a plain file: ranged GET answered (default: --rpm)
  --min-iso-bytes N       the ISO must be at least this large
  --iso-bytes N           HEAD of the ISO answers 200 with exactly this Content-Length (Fedora's crawler)
  --category MODULE       the public rsync module lists whole in one connection (MirrorManager's
                          crawl): --rpm/--file under it listed, --staged under it not
  --traces DIR            Debian's trace directory (e.g. debian/project/trace): its HTML listing
                          links _traces and every trace named there, each in ftpsync's format
  --iso-limit N           per-address ISO connection limit to check
  --from ADDR             leave from this local address (a public client)
  --other-from ADDR       a second client address, served while --from is at its limit
  --status-module NAME    the node's status page reports this sync module healthy (repeatable)
  --private URL           a private rsync module (rsync://user@host:port/module)
  --private-password-file F   its password (first line of F)
  --expect-private served|refused|auth-failed   what the private module must do for us
  --client apt|dnf|zypper|pacman   install --package from --repo with that real client, in a
                          throwaway root, signatures checked against --key (repeatable)
  --repo PATH             the repository: dnf/zypper the directory holding repodata/, apt the
                          archive root, pacman the directory holding the database
  --dist NAME             apt: the suite; pacman: the database name
  --package NAME          the package to install (default mk-world)
  --key FILE              the archive's armored public key
  --expect installed|refused   what the client must do (default installed; refused: a
                          repository that must not be served, e.g. a staged release)
  --https URL             the node's HTTPS (https://host[:port]): the certificate verifies (system
                          roots, or --ca), is valid for the name, has --cert-min-days left, and / answers
  --name NAME             the name the certificate must carry (default: the --https host)
  --ca FILE               trust this root instead of the system's (e.g. a test CA)
  --cert-min-days N       days the certificate must still be valid (default 14)
  --json                  print the results as JSON`;

interface Result {
  probe: string;
  ok: boolean;
  detail: string;
}

function fail(message: string): never {
  process.stderr.write(`doctor: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function options() {
  try {
    return parseArgs({
      options: {
        url: { type: "string" },
        rsync: { type: "string" },
        staged: { type: "string", multiple: true, default: [] },
        "staged-file": { type: "string", multiple: true, default: [] },
        iso: { type: "string" },
        rpm: { type: "string" },
        file: { type: "string" },
        "min-iso-bytes": { type: "string" },
        "iso-bytes": { type: "string" },
        category: { type: "string", multiple: true, default: [] },
        traces: { type: "string" },
        "iso-limit": { type: "string" },
        from: { type: "string" },
        "other-from": { type: "string" },
        "status-module": { type: "string", multiple: true, default: [] },
        private: { type: "string" },
        "private-password-file": { type: "string" },
        "expect-private": { type: "string" },
        client: { type: "string", multiple: true, default: [] },
        repo: { type: "string" },
        dist: { type: "string" },
        package: { type: "string", default: "mk-world" },
        key: { type: "string" },
        expect: { type: "string", default: "installed" },
        https: { type: "string" },
        name: { type: "string" },
        ca: { type: "string" },
        "cert-min-days": { type: "string" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", default: false },
      },
      strict: true,
    }).values;
  } catch (err) {
    fail((err as Error).message);
  }
}

const trim = (p: string) => p.replace(/^\/+|\/+$/g, "");
const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const positive = (v: string | undefined, name: string) => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) fail(`--${name} must be a positive integer, not "${v}"`);
  return n;
};

async function main(): Promise<void> {
  const o = options();
  if (o.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (!o.url) fail("--url is required");
  let web: URL;
  try {
    web = new URL(o.url);
  } catch {
    fail(`--url: not a URL: "${o.url}"`);
  }
  if (web.protocol !== "http:") fail(`--url: only http:// is probed, not "${web.protocol}"`);
  const base = `${web.protocol}//${web.host}`;
  const rsyncBase = (o.rsync ?? `rsync://${web.hostname}`).replace(/\/+$/, "");
  if (!/^rsync:\/\/[^/]+$/.test(rsyncBase)) fail(`--rsync: expected rsync://host[:port], not "${o.rsync}"`);
  const minIso = positive(o["min-iso-bytes"], "min-iso-bytes");
  const isoBytes = positive(o["iso-bytes"], "iso-bytes");
  if (isoBytes !== undefined && !o.iso) fail("--iso-bytes needs --iso");
  const isoLimit = positive(o["iso-limit"], "iso-limit");
  const expectPrivate = o["expect-private"];
  if (expectPrivate !== undefined && !["served", "refused", "auth-failed"].includes(expectPrivate)) {
    fail(`--expect-private must be served, refused or auth-failed, not "${expectPrivate}"`);
  }
  if ((o.private === undefined) !== (expectPrivate === undefined)) fail("--private and --expect-private go together");
  const from = o.from;
  const clients = o.client as ClientKind[];
  for (const c of clients) if (!(CLIENTS as readonly string[]).includes(c)) fail(`--client must be one of ${CLIENTS.join(", ")}, not "${c}"`);
  if (clients.length > 0) {
    if (!o.repo) fail("--client needs --repo");
    if (!o.key) fail("--client needs --key (signatures are always checked)");
    if (!fs.existsSync(o.key)) fail(`--key: no such file: ${o.key}`);
    if (o.expect !== "installed" && o.expect !== "refused") fail(`--expect must be installed or refused, not "${o.expect}"`);
    if (clients.some((c) => c === "apt" || c === "pacman") && !o.dist) fail("--client apt and pacman need --dist (the suite or the database name)");
  }

  let https: URL | undefined;
  if (o.https !== undefined) {
    try {
      https = new URL(o.https);
    } catch {
      fail(`--https: not a URL: "${o.https}"`);
    }
    if (https.protocol !== "https:") fail(`--https: expected https://host[:port], not "${o.https}"`);
  }
  if ((o.name !== undefined || o.ca !== undefined || o["cert-min-days"] !== undefined) && !https) fail("--name, --ca and --cert-min-days go with --https");
  if (o.ca !== undefined && !fs.existsSync(o.ca)) fail(`--ca: no such file: ${o.ca}`);
  const certMinDays = positive(o["cert-min-days"], "cert-min-days") ?? 14;

  const results: Result[] = [];
  const check = async (probe: string, run: () => Promise<[boolean, string]> | [boolean, string]) => {
    try {
      const [ok, detail] = await run();
      results.push({ probe, ok, detail });
    } catch (err) {
      results.push({ probe, ok: false, detail: (err as Error).message });
    }
  };
  const get = (p: string, extra: Parameters<typeof httpRequest>[1] = {}) => httpRequest(`${base}/${p}`, { from, ...extra });

  for (const staged of o.staged.map(trim)) {
    const parent = path.posix.dirname(staged);
    const name = path.posix.basename(staged);
    const parentPath = parent === "." ? "" : `${parent}/`;
    // Fedora's crawler and many checkers ask with HEAD.
    for (const method of ["GET", "HEAD"]) {
      await check(`http: ${method === "GET" ? "" : `${method} of `}staged ${staged}/ is refused`, async () => {
        const r = await get(`${staged}/`, { method });
        return [r.status === 403 || r.status === 404, `status ${r.status}`];
      });
    }
    await check(`http: listing of /${parentPath} leaves out ${name}`, async () => {
      const r = await get(parentPath);
      const shown = new RegExp(`href="(\\./)?${escapeRegex(encodeURIComponent(name))}/?"`).test(r.body);
      return [r.status === 200 && !shown, `status ${r.status}, ${shown ? `"${name}" listed` : "not listed"}`];
    });
    await check(`rsync: public listing of ${parentPath || "/"} leaves out ${name}`, () => {
      const r = rsyncClient(["-r", "--list-only", `${rsyncBase}/${parentPath}`], { from });
      const shown = rsyncListedPaths(r.out).some((p) => p.split("/").includes(name));
      return [r.code === 0 && !shown, `rsync exit ${r.code}, ${shown ? `"${name}" listed` : "not listed"}`];
    });
  }
  for (const file of o["staged-file"].map(trim)) {
    await check(`http: staged file ${file} is refused`, async () => {
      const r = await get(file);
      return [r.status === 403 || r.status === 404, `status ${r.status}`];
    });
    await check(`rsync: public rsync cannot fetch ${file}`, () => {
      const dest = scratchDir("doctor");
      const r = rsyncClient([`${rsyncBase}/${file}`, dest], { from });
      const got = fs.readdirSync(dest).length;
      fs.rmSync(dest, { recursive: true, force: true });
      return [r.code !== 0 && got === 0, `rsync exit ${r.code}, ${got} file(s) fetched`];
    });
  }

  const plain = o.file ?? o.rpm;
  if (plain) {
    await check("http: keepalive reuses the connection", async () => {
      const ka = await keepaliveReuse(web.hostname, Number(web.port || 80), [`/${trim(plain)}`, `/${trim(plain)}`], from);
      const ok = ka.statuses.length === 2 && ka.statuses.every((s) => s === 200) && !/close/i.test(ka.connection);
      return [ok, `statuses ${ka.statuses.join(",")} on one connection, Connection: ${ka.connection || "(none)"}`];
    });
    await check(`http: a ranged GET of ${plain} is answered`, async () => {
      const r = await get(trim(plain), { headers: { Range: "bytes=0-3" } });
      return [r.status === 206 && Buffer.byteLength(r.body) === 4, `status ${r.status}, ${Buffer.byteLength(r.body)} bytes`];
    });
  }
  for (const [kind, p] of [["ISO", o.iso], ["package", o.rpm]] as const) {
    if (!p) continue;
    await check(`http: ${kind} ${p} is application/octet-stream`, async () => {
      const r = await get(trim(p), { method: "HEAD" });
      const type = String(r.headers["content-type"] ?? "");
      return [r.status === 200 && /^application\/octet-stream\b/.test(type), `status ${r.status}, Content-Type ${type || "(none)"}`];
    });
  }
  if (o.iso) {
    const iso = trim(o.iso);
    await check(`http: a ranged GET of ${iso} is refused`, async () => {
      const r = await get(iso, { headers: { Range: "bytes=0-99" } });
      return [r.status === 403, `status ${r.status}`];
    });
    if (minIso !== undefined) {
      await check(`http: ${iso} is served whole (at least ${minIso} bytes)`, async () => {
        const r = await get(iso, { method: "HEAD" });
        const length = Number(r.headers["content-length"] ?? 0);
        return [r.status === 200 && length >= minIso, `status ${r.status}, Content-Length ${length}`];
      });
    }
    if (isoBytes !== undefined) {
      await check(`http: HEAD of ${iso} answers 200 with Content-Length ${isoBytes}`, async () => {
        const r = await get(iso, { method: "HEAD" });
        const length = r.headers["content-length"];
        return [r.status === 200 && length === String(isoBytes), `status ${r.status}, Content-Length ${length ?? "(none)"}`];
      });
    }
    if (isoLimit !== undefined) {
      const other = o["other-from"];
      await check(`http: connection ${isoLimit + 1} to an ISO from one address is refused${other ? ", another address is served" : ""}`, async () => {
        const p = await perAddressLimit(`${base}/${iso}`, isoLimit, { from, otherFrom: other });
        const ok = p.held.every((s) => s === 200) && p.extra >= 400 && (other === undefined || p.other === 200);
        return [ok, `held ${p.held.join(",")}, next ${p.extra}${other ? `, from ${other}: ${p.other}` : ""}`];
      });
    }
  }

  for (const module of o.category.map(trim)) {
    await check(`rsync: category ${module} lists whole over public rsync in one connection`, () => {
      const r = rsyncClient(["-r", "--list-only", `${rsyncBase}/${module}/`], { from });
      const listed = rsyncListedPaths(r.out);
      const under = (p: string) => (trim(p).startsWith(`${module}/`) ? trim(p).slice(module.length + 1) : undefined);
      const expected = [o.rpm, o.file].flatMap((p) => (p && under(p) !== undefined ? [under(p)!] : []));
      const missing = expected.filter((p) => !listed.includes(p));
      const staged = o.staged.flatMap((p) => (under(p) !== undefined ? [under(p)!] : [])).filter((p) => listed.some((l) => l === p || l.startsWith(`${p}/`)));
      const ok = r.code === 0 && listed.length > 0 && missing.length === 0 && staged.length === 0;
      return [ok, `rsync exit ${r.code}, ${listed.length} entries${missing.length ? `, missing ${missing.join(", ")}` : ""}${staged.length ? `, staged listed: ${staged.join(", ")}` : ""}`];
    });
  }

  if (o.traces) {
    const dir = trim(o.traces);
    await check(`http: ${dir}/ lists _traces and each trace it names, in ftpsync's format`, async () => {
      const listing = await get(`${dir}/`);
      const names = (await get(`${dir}/_traces`)).body.split("\n").filter((n) => n !== "");
      const linked = (n: string) => new RegExp(`href="(\\./)?${escapeRegex(encodeURIComponent(n))}"`).test(listing.body);
      const problems: string[] = [];
      if (listing.status !== 200) problems.push(`listing status ${listing.status}`);
      if (!linked("_traces")) problems.push("_traces not listed");
      if (names.length === 0) problems.push("_traces names no trace");
      // A Debian archive's master trace carries the serial every mirror's trace must repeat.
      const serialOf = (body: string) => /^Archive serial: (\S+)$/m.exec(body)?.[1];
      const masterSerial = names.includes("master") ? serialOf((await get(`${dir}/master`)).body) : undefined;
      for (const n of names) {
        if (!linked(n)) problems.push(`${n} not listed`);
        if (n === "master") continue;
        const t = await get(`${dir}/${encodeURIComponent(n)}`);
        // ftpsync's trace: a date line, then "Key: value" fields the checkers read.
        for (const field of ["Date", "Running on host", "Creator"]) {
          if (!new RegExp(`^${field}: \\S`, "m").test(t.body)) problems.push(`${n} has no "${field}:"`);
        }
        if (masterSerial !== undefined && serialOf(t.body) !== masterSerial) problems.push(`${n}: Archive serial ${serialOf(t.body) ?? "(none)"}, master's ${masterSerial}`);
      }
      return [problems.length === 0, problems.length ? problems.join("; ") : `traces: ${names.join(", ")}`];
    });
  }

  for (const module of o["status-module"]) {
    await check(`http: status page reports ${module} healthy`, async () => {
      const page = await get(`mirror-status/`);
      const json = await get(`mirror-status/${encodeURIComponent(module)}.json`);
      const s = JSON.parse(json.body) as { result?: string; lastSuccess?: number; nextRun?: number };
      const listed = page.body.includes(`<td>${module}</td>`);
      const ok = page.status === 200 && listed && (s.result === "success" || s.result === "unchanged") && (s.lastSuccess ?? 0) > 0;
      const ago = s.lastSuccess ? `${Math.round((Date.now() / 1000 - s.lastSuccess) / 60)} min ago` : "never";
      return [ok, `page ${page.status}${listed ? "" : " (module not listed)"}, last result ${s.result}, last success ${ago}`];
    });
  }

  if (o.private && expectPrivate) {
    const password = o["private-password-file"] ? fs.readFileSync(o["private-password-file"], "utf8").split("\n")[0] : undefined;
    await check(`rsync: private ${o.private.replace(/\/\/[^@/]*@/, "//")} is ${expectPrivate}`, () => {
      const r = rsyncClient(["--list-only", `${o.private!.replace(/\/+$/, "")}/`], { from, password });
      const first = r.out.trim().split("\n").find((l) => /@ERROR|error/i.test(l)) ?? r.out.trim().split("\n")[0] ?? "";
      if (expectPrivate === "served") return [r.code === 0, `rsync exit ${r.code}`];
      if (expectPrivate === "auth-failed") return [r.code !== 0 && /auth failed/.test(r.out), `rsync exit ${r.code}: ${first}`];
      // A daemon hides a module (list = no) from an address it denies: "Unknown module".
      return [r.code !== 0 && /access denied|unknown module|refused|reset by peer|closed/i.test(r.out) && !/auth failed/.test(r.out), `rsync exit ${r.code}: ${first}`];
    });
  }

  for (const kind of clients) {
    const url = `${base}/${trim(o.repo!)}`;
    await check(`${kind}: ${o.package} ${o.expect === "installed" ? "installs" : "is refused"} from /${trim(o.repo!)}`, () => {
      const r = runClient(kind, { url, dist: o.dist, pkg: o.package!, key: o.key! });
      if (o.expect === "installed") return [r.installed, r.installed ? `installed ${r.version}` : `failed: ${r.error}`];
      // Refused by the server (403/404), not failing for some other reason.
      const byServer = /\b40[34]\b|forbidden|not found|Permission to access .* denied|Valid metadata not found|does not have a Release/i.test(r.error);
      return [!r.installed && byServer, r.installed ? `installed ${r.version} from a repository that must not be served` : `${byServer ? "refused" : "failed, but not refused by the server"}: ${r.error}`];
    });
  }

  if (https) {
    const name = o.name ?? https.hostname;
    const cert = await tlsCertificate(https.href, { name, ca: o.ca }).catch((err: Error) => err);
    await check(`https: the certificate of ${https.host} verifies`, () =>
      cert instanceof Error ? [false, cert.message] : [cert.trusted, cert.trusted ? "chain verified" : `not trusted: ${cert.problem}`],
    );
    await check(`https: the certificate is valid for ${name}`, () =>
      cert instanceof Error ? [false, cert.message] : [cert.nameMatches, cert.nameMatches ? cert.names : `${cert.problem ?? "no match"} (it carries ${cert.names || "no names"})`],
    );
    await check(`https: the certificate has at least ${certMinDays} days left`, () =>
      cert instanceof Error ? [false, cert.message] : [cert.daysLeft >= certMinDays, `${cert.daysLeft} days left (until ${cert.validTo.toISOString()})`],
    );
    await check(`https: GET / answers`, () => (cert instanceof Error ? [false, cert.message] : [cert.status === 200, `status ${cert.status}`]));
  }
  if (results.length === 0) fail("nothing to probe: give --staged, --iso, --rpm, --file, --private, --client or --https");
  if (o.json) {
    process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  } else {
    for (const r of results) process.stdout.write(`${r.ok ? "ok  " : "FAIL"}  ${r.probe}: ${r.detail}\n`);
    const failed = results.filter((r) => !r.ok).length;
    process.stdout.write(failed === 0 ? `doctor: all ${results.length} probes passed\n` : `doctor: ${failed} of ${results.length} probes failed\n`);
  }
  process.exitCode = results.every((r) => r.ok) ? 0 : 1;
}

void main();
