// The kit's own nginx config serving a directory tree on loopback (real
// nginx, workers as nobody): for tests of what a client sees from the
// kit's web server without a VM.
import * as fs from "node:fs";
import * as path from "node:path";
import { spawn } from "node:child_process";
import { renderNginxConf, runtimeDirName, webModel } from "../../components/render/nginx";
import { webSupportFiles } from "../../components/render/web";
import { freePort } from "../../vm/vm";
import { nodeConfig } from "./fixtures";

/**
 * Serves `root` with the kit's nginx config (real nginx, loopback, workers as
 * nobody); with `tls` (certificate and key files), HTTPS on a port of its own too.
 */
export async function serveTree(dir: string, root: string, tls?: { certificatePath: string; keyPath: string }) {
  fs.chmodSync(dir, 0o755);
  const port = await freePort("127.0.0.1");
  const httpsPort = tls ? await freePort("127.0.0.1") : 0;
  const web = { httpPort: port, listenAddresses: ["127.0.0.1", "::1"], ...(tls ? { tls: { ...tls, httpsPort } } : {}) };
  const m = { ...webModel(nodeConfig({ web, mirrorRoot: root })), listingFilterPath: path.join(dir, "listing-filter.js") };
  for (const f of webSupportFiles(m)) fs.writeFileSync(f.path, f.content);
  const conf = path.join(dir, "nginx.conf");
  // Run as root, nginx's workers take the unprivileged "nobody".
  fs.writeFileSync(conf, renderNginxConf(m));
  fs.mkdirSync(`/run/${runtimeDirName(m.unitName)}`, { recursive: true });
  fs.mkdirSync(`/var/log/${runtimeDirName(m.unitName)}`, { recursive: true });
  const nginx = spawn("nginx", ["-c", conf, "-e", "stderr", "-g", "daemon off;"], { stdio: "ignore" });
  return { port, httpsPort, nginx };
}
