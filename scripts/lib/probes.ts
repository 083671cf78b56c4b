// Probes of a mirror node from outside, as a client would: HTTP and rsync.
// Each can leave from a chosen local address (`from`), so one machine can
// play a public client, a second client and a downstream mirror. Used by
// `npm run doctor` and by the end-to-end tests.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import * as tls from "node:tls";

export interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The body, up to `maxBody` bytes. */
  body: string;
}

/** One HTTP/1.1 request on its own connection; reads at most maxBody bytes, then closes. */
export function httpRequest(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; from?: string; timeoutMs?: number; maxBody?: number } = {},
): Promise<HttpResult> {
  const u = new URL(url);
  const maxBody = opts.maxBody ?? 1 << 20;
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: u.hostname,
        port: u.port || 80,
        path: `${u.pathname}${u.search}`,
        method: opts.method ?? "GET",
        headers: opts.headers,
        localAddress: opts.from,
        agent: false,
        timeout: opts.timeoutMs ?? 20_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const done = () => {
          req.destroy();
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") });
        };
        res.on("data", (d: Buffer) => {
          if (size < maxBody) chunks.push(d.subarray(0, maxBody - size));
          size += d.length;
          if (size >= maxBody) done();
        });
        res.on("end", done);
        res.on("error", done);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`timed out: ${opts.method ?? "GET"} ${url}`)));
    req.on("error", reject);
    req.end();
  });
}

export interface LimitProbe {
  /** Statuses of the connections held open (their bodies unread). */
  held: number[];
  /** Status of the one past the limit. */
  extra: number;
  /** Status seen from `otherFrom` while the others are held (undefined when not asked). */
  other?: number;
}

/**
 * Opens `limit` concurrent downloads of a large file from one address and
 * keeps them open (bodies unread, so the server cannot finish), then one
 * more; then, while they are held, one from `otherFrom`. Bounded: limit + 2
 * requests, each with a timeout; all are closed at the end.
 */
export async function perAddressLimit(
  url: string,
  limit: number,
  opts: { from?: string; otherFrom?: string; timeoutMs?: number } = {},
): Promise<LimitProbe> {
  const u = new URL(url);
  const open: http.ClientRequest[] = [];
  const start = (from: string | undefined) =>
    new Promise<number>((resolve, reject) => {
      const req = http.request({
        host: u.hostname,
        port: u.port || 80,
        path: u.pathname,
        localAddress: from,
        agent: false,
        timeout: opts.timeoutMs ?? 20_000,
      });
      open.push(req);
      req.on("response", (res) => {
        res.pause();
        resolve(res.statusCode ?? 0);
      });
      req.on("timeout", () => req.destroy(new Error(`timed out: GET ${url}`)));
      req.on("error", reject);
      req.end();
    });
  try {
    const held: number[] = [];
    for (let i = 0; i < limit; i++) held.push(await start(opts.from));
    const extra = await start(opts.from);
    const other = opts.otherFrom === undefined ? undefined : await start(opts.otherFrom);
    return { held, extra, other };
  } finally {
    for (const req of open) req.destroy();
  }
}

/** Does a second request reuse the first one's connection (keepalive)? Raw HTTP/1.1 on one socket. */
export async function keepaliveReuse(
  host: string,
  port: number,
  paths: [string, string],
  from?: string,
): Promise<{ statuses: number[]; connection: string }> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port, host, localAddress: from });
    let data = "";
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`keepalive probe timed out; got: ${data.slice(0, 200)}`));
    }, 15_000);
    sock.on("connect", () => {
      for (const p of paths) sock.write(`GET ${p} HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
    });
    sock.on("data", (d) => {
      data += d.toString("latin1");
      const statuses = [...data.matchAll(/^HTTP\/1\.1 (\d{3})/gm)].map((m) => Number(m[1]));
      if (statuses.length >= 2) {
        clearTimeout(timer);
        sock.destroy();
        const connection = /^Connection: (.*)$/im.exec(data)?.[1]?.trim() ?? "";
        resolve({ statuses, connection });
      }
    });
    sock.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

export interface RsyncResult {
  code: number;
  out: string;
}

/** The rsync client, bounded in time, optionally from a local address and with a password. */
export function rsyncClient(args: string[], opts: { password?: string; from?: string } = {}): RsyncResult {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.RSYNC_PASSWORD;
  if (opts.password !== undefined) env.RSYNC_PASSWORD = opts.password;
  const from = opts.from ? [`--address=${opts.from}`] : [];
  // No --no-motd: it also hides the daemon's module list.
  const r = spawnSync("rsync", ["--contimeout=10", "--timeout=30", ...from, ...args], { encoding: "utf8", env, timeout: 120_000 });
  return { code: r.status ?? -1, out: `${r.stdout ?? ""}${r.stderr ?? ""}` };
}

/**
 * The paths in an `rsync --list-only` listing. Each line is mode, size, date,
 * time, then the name, so matching the name alone keeps a time like 05:42:15
 * from looking like an entry "42".
 */
export function rsyncListedPaths(listing: string): string[] {
  const entry = /^([-dlpscb])[-rwxsStT]{9}\s+[\d,.]+\s+\d{4}\/\d\d\/\d\d\s+\d\d:\d\d:\d\d\s(.+)$/;
  return listing.split("\n").flatMap((line) => {
    const m = entry.exec(line);
    if (!m) return [];
    // Only a symlink's line carries " -> target".
    return [m[1] === "l" ? m[2].replace(/ -> .*$/, "") : m[2]];
  });
}

/** A fresh empty directory to fetch into. */
export function scratchDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `mirrorkit-${prefix}-`));
}

export interface CertificateProbe {
  /** The chain verifies against the trusted roots (the system's, or `ca`). */
  trusted: boolean;
  /** The certificate is valid for the name asked. */
  nameMatches: boolean;
  /** Why not trusted, or why the name does not match. */
  problem?: string;
  validTo: Date;
  daysLeft: number;
  /** The names the certificate carries (subjectAltName). */
  names: string;
  /** Status of GET / over the TLS connection. */
  status: number;
}

/** The certificate a TLS server shows for `name`, judged as a client would judge it; then GET / over it. Bounded by a timeout. */
export function tlsCertificate(url: string, opts: { name?: string; ca?: string; timeoutMs?: number } = {}): Promise<CertificateProbe> {
  const u = new URL(url);
  const name = opts.name ?? u.hostname;
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: u.hostname,
      port: Number(u.port || 443),
      servername: net.isIP(name) ? undefined : name,
      ...(opts.ca ? { ca: fs.readFileSync(opts.ca) } : {}),
      // Judged below instead of refused, so the probe can say what is wrong.
      rejectUnauthorized: false,
      timeout: opts.timeoutMs ?? 15_000,
    });
    socket.on("timeout", () => socket.destroy(new Error(`timed out: TLS to ${u.host}`)));
    socket.on("error", reject);
    socket.on("secureConnect", () => {
      const cert = socket.getPeerCertificate();
      const identity = tls.checkServerIdentity(name, cert);
      const validTo = new Date(cert.valid_to);
      const probe = {
        trusted: socket.authorized,
        nameMatches: identity === undefined,
        problem: socket.authorized ? identity?.message : String(socket.authorizationError),
        validTo,
        daysLeft: Math.floor((validTo.getTime() - Date.now()) / 86_400_000),
        names: cert.subjectaltname ?? "",
      };
      let head = "";
      socket.on("data", (d: Buffer) => {
        head += d.toString("latin1");
        const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
        if (m) {
          socket.destroy();
          resolve({ ...probe, status: Number(m[1]) });
        }
      });
      socket.on("end", () => resolve({ ...probe, status: 0 }));
      socket.write(`GET / HTTP/1.1\r\nHost: ${name}\r\nConnection: close\r\n\r\n`);
    });
  });
}
