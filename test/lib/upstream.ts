// A tier-0 upstream fixture: an rsync daemon on loopback serving a
// distro-like tree with released (0755) and staged (0750) directories.
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { tmpDir } from "./tools";

export interface Upstream {
  root: string;
  port: number;
  module: string;
  /** Stops answering (a dead upstream); start() brings it back on the same port. */
  stopDaemon(): Promise<void>;
  start(): Promise<void>;
  /** Moves the whole tree away (an emptied upstream); restoreTree() puts it back. */
  emptyTree(): void;
  restoreTree(): void;
  /** Rewrites lastupdate, as an upstream does after publishing. */
  touchLastupdate(): void;
  /** Opens a staged directory (0750 -> 0755), as the upstream's bitflip. */
  flip(relPath: string): void;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Writes the fixture tree: releases/41 public, releases/42 staged (0750). */
export function writeTree(root: string): void {
  const mk = (rel: string, mode = 0o755) => {
    fs.mkdirSync(path.join(root, rel), { recursive: true });
    fs.chmodSync(path.join(root, rel), mode);
  };
  mk("releases");
  mk("releases/41/Everything/x86_64/os/Packages");
  mk("releases/41/Everything/x86_64/iso");
  fs.writeFileSync(path.join(root, "releases/41/Everything/x86_64/os/Packages/hello-2.12-1.fc41.x86_64.rpm"), "rpm-bytes\n".repeat(100));
  const iso = path.join(root, "releases/41/Everything/x86_64/iso/Fedora-41-netinst.iso");
  fs.closeSync(fs.openSync(iso, "w"));
  fs.truncateSync(iso, 4 * 1024 * 1024);
  fs.writeFileSync(path.join(root, "releases/41/README"), "Fedora 41 is released\n");
  // The staged release: directories 0750, as upstream stages them.
  mk("releases/42/Everything/x86_64/os", 0o750);
  fs.writeFileSync(path.join(root, "releases/42/Everything/x86_64/os/STAGED-SECRET"), "unreleased\n");
  fs.chmodSync(path.join(root, "releases/42/Everything/x86_64"), 0o750);
  fs.chmodSync(path.join(root, "releases/42/Everything"), 0o750);
  fs.chmodSync(path.join(root, "releases/42"), 0o750);
  fs.writeFileSync(path.join(root, "lastupdate"), `${Date.now()}\n`);
}

export async function startUpstream(module = "fedora"): Promise<Upstream> {
  const dir = tmpDir("upstream");
  const root = path.join(dir, "tree");
  writeTree(root);
  const port = await freePort();
  const conf = path.join(dir, "rsyncd.conf");
  // Runs as root, like a tier-0 serving its own staged content to tier-1s.
  fs.writeFileSync(
    conf,
    [
      `pid file = ${dir}/rsyncd.pid`,
      "use chroot = no",
      "uid = root",
      "gid = root",
      "read only = yes",
      `[${module}]`,
      `    path = ${root}`,
      "",
    ].join("\n"),
  );
  let daemon: ChildProcess | undefined;
  const start = async () => {
    daemon = spawn(
      "rsync",
      ["--daemon", "--no-detach", `--config=${conf}`, "--address=127.0.0.1", `--port=${port}`, `--log-file=${dir}/rsyncd.log`],
      { stdio: "ignore" },
    );
    // Wait until it answers.
    for (let i = 0; i < 50; i++) {
      const ok = await new Promise<boolean>((resolve) => {
        const s = net.connect(port, "127.0.0.1", () => {
          s.end();
          resolve(true);
        });
        s.on("error", () => resolve(false));
      });
      if (ok) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const stopDaemon = async () => {
    if (!daemon || daemon.exitCode !== null) return;
    const exited = new Promise((r) => daemon!.once("exit", r));
    daemon.kill();
    await exited;
  };
  await start();
  const aside = path.join(dir, "tree-aside");
  return {
    root,
    port,
    module,
    stopDaemon,
    start,
    emptyTree: () => {
      fs.renameSync(root, aside);
      fs.mkdirSync(root);
    },
    restoreTree: () => {
      fs.rmSync(root, { recursive: true, force: true });
      fs.renameSync(aside, root);
    },
    touchLastupdate: () => fs.writeFileSync(path.join(root, "lastupdate"), `${Date.now()}\n`),
    flip: (rel) => {
      const walk = (p: string) => {
        if (fs.statSync(p).isDirectory()) {
          fs.chmodSync(p, 0o755);
          for (const e of fs.readdirSync(p)) walk(path.join(p, e));
        }
      };
      walk(path.join(root, rel));
    },
    stop: async () => {
      await stopDaemon();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
