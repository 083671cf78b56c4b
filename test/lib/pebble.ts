// pebble, Let's Encrypt's test ACME CA (Debian package), as the CA of a
// test: its own HTTPS certificate from a throwaway CA, pebble-challtestsrv
// as the DNS that answers every name with the node's address, and the
// validation sleeps and nonce rejections off. Loopback only.
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { freePort } from "../../vm/vm";
import { sh, tmpDir } from "./tools";

export interface Pebble {
  /** The loopback port pebble's ACME server listens on. */
  port: number;
  /** The ACME directory, as the client names it (`directoryHost`). */
  directoryUrl: string;
  /** PEM of the CA that signed pebble's own HTTPS certificate (the client's web.acme.directoryCaCertificate). */
  directoryCa: string;
  /** PEM of the root that signs issued certificates (new at each start), read from pebble's management API. */
  issuingRoot(): Promise<string>;
  stop(): void;
}

export interface PebbleOptions {
  /** Port pebble's validation connects to for http-01 (the node's port 80 as seen from here). */
  httpPort: number;
  /** The address every name resolves to for the validation. */
  nodeAddress: string;
  /** Host (IP) the ACME client uses to reach pebble; its certificate names it. Default 127.0.0.1. */
  directoryHost?: string;
  /** Port the client reaches pebble's directory on, when something forwards to it. Default: pebble's own. */
  directoryPort?: number;
}

function openssl(args: string[]): void {
  const r = sh("openssl", args);
  if (r.code !== 0) throw new Error(`openssl ${args.join(" ")}: ${r.out}`);
}

export async function startPebble(opts: PebbleOptions): Promise<Pebble> {
  const dir = tmpDir("pebble");
  const directoryHost = opts.directoryHost ?? "127.0.0.1";
  const ca = path.join(dir, "ca.pem");
  openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "7", "-subj", "/CN=mirrorkit pebble test CA", "-keyout", path.join(dir, "ca.key"), "-out", ca]);
  openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=pebble", "-keyout", path.join(dir, "key.pem"), "-out", path.join(dir, "csr.pem")]);
  fs.writeFileSync(path.join(dir, "ext.cnf"), `subjectAltName=IP:127.0.0.1,IP:${directoryHost},DNS:localhost\nextendedKeyUsage=serverAuth\n`);
  openssl(["x509", "-req", "-in", path.join(dir, "csr.pem"), "-CA", ca, "-CAkey", path.join(dir, "ca.key"), "-CAcreateserial", "-days", "7", "-extfile", path.join(dir, "ext.cnf"), "-out", path.join(dir, "cert.pem")]);

  const port = await freePort("127.0.0.1");
  const management = await freePort("127.0.0.1");
  const dns = await freePort("127.0.0.1");
  const ctsManagement = await freePort("127.0.0.1");
  fs.writeFileSync(
    path.join(dir, "pebble.json"),
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${port}`,
        managementListenAddress: `127.0.0.1:${management}`,
        certificate: path.join(dir, "cert.pem"),
        privateKey: path.join(dir, "key.pem"),
        httpPort: opts.httpPort,
        tlsPort: 5001,
        ocspResponderURL: "",
        externalAccountBindingRequired: false,
      },
    }),
  );
  const children: ChildProcess[] = [];
  const log = fs.openSync(path.join(dir, "pebble.log"), "a");
  children.push(
    spawn("pebble-challtestsrv", ["-dns01", `127.0.0.1:${dns}`, "-http01", "", "-https01", "", "-tlsalpn01", "", "-management", `127.0.0.1:${ctsManagement}`, "-defaultIPv4", opts.nodeAddress, "-defaultIPv6", ""], { stdio: ["ignore", log, log] }),
  );
  children.push(
    spawn("pebble", ["-config", path.join(dir, "pebble.json"), "-dnsserver", `127.0.0.1:${dns}`], {
      stdio: ["ignore", log, log],
      env: { ...process.env, PEBBLE_VA_NOSLEEP: "1", PEBBLE_WFE_NONCEREJECT: "0" },
    }),
  );
  const stop = () => children.forEach((c) => c.kill());
  const caPem = fs.readFileSync(ca, "utf8");
  const get = (url: string) =>
    new Promise<string>((resolve, reject) => {
      const r = sh("curl", ["-fsS", "--max-time", "5", "--cacert", ca, url]);
      if (r.code === 0) resolve(r.out);
      else reject(new Error(r.out));
    });
  // Up in well under a second; bounded.
  for (let i = 0; ; i++) {
    const ok = await get(`https://127.0.0.1:${port}/dir`).then(() => true, () => false);
    if (ok) break;
    if (i >= 100) {
      stop();
      throw new Error(`pebble did not start: ${fs.readFileSync(path.join(dir, "pebble.log"), "utf8")}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port,
    directoryUrl: `https://${directoryHost}:${opts.directoryPort ?? port}/dir`,
    directoryCa: caPem,
    issuingRoot: () => get(`https://127.0.0.1:${management}/roots/0`),
    stop,
  };
}
