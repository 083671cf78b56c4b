// A tier-0 upstream fixture: an rsync daemon on loopback serving a
// distro-like tree with released (0755) and staged (0750) directories.
import { spawn, type ChildProcess } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import type { Lan } from "./lan";
import { freePort } from "../../vm/vm";
import { filesUnder, publishDebianArchive, publishDebianUpdate, publishPacmanRepo, publishRpmRepo, testPackages, type SigningKey } from "../../scripts/lib/repos";
import { tmpDir } from "./tools";

/** Where the fixture's signed RPM repositories sit (Fedora's layout), released and staged. */
export const RPM_REPO = "releases/41/Everything/x86_64/os";
export const STAGED_RPM_REPO = "releases/42/Everything/x86_64/os";
/** The packages each carries: a package and its dependency, the staged release a newer version. */
export const rpmPackages = testPackages;

/** Opens a staged tree as an upstream's bitflip does: it and every directory in it 0750 -> 0755. */
function openTree(dir: string): void {
  fs.chmodSync(dir, 0o755);
  for (const e of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) if (e.isDirectory()) fs.chmodSync(path.join(e.parentPath, e.name), 0o755);
}

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
  /**
   * Publishes a new version of the released RPM repository as a careful
   * upstream does, every moment consistent: new packages in beside the old,
   * then the new (signed) repodata swapped in, then the old packages out, then
   * the change marker. `payloadBytes` of incompressible data come with it, so
   * a downstream sync takes a while.
   */
  publishRpmUpdate(version: string, key: SigningKey, payloadBytes?: number): void;
  /** Opens a staged directory (0750 -> 0755), as the upstream's bitflip. */
  flip(relPath: string): void;
  stop(): Promise<void>;
}

/**
 * Writes the fixture tree: releases/41 public, releases/42 staged (0750).
 * `isoBytes` sizes the (sparse) ISO image.
 */
export function writeTree(root: string, isoBytes = 4 * 1024 * 1024, repoKey?: SigningKey): void {
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
  fs.truncateSync(iso, isoBytes);
  fs.writeFileSync(path.join(root, "releases/41/README"), "Fedora 41 is released\n");
  // The staged release: directories 0750, as upstream stages them.
  mk("releases/42/Everything/x86_64/os", 0o750);
  fs.writeFileSync(path.join(root, "releases/42/Everything/x86_64/os/STAGED-SECRET"), "unreleased\n");
  fs.chmodSync(path.join(root, "releases/42/Everything/x86_64"), 0o750);
  fs.chmodSync(path.join(root, "releases/42/Everything"), 0o750);
  fs.chmodSync(path.join(root, "releases/42"), 0o750);
  if (repoKey) {
    // Real signed repositories; the staged one stays behind its 0750 directories.
    publishRpmRepo(path.join(root, RPM_REPO), rpmPackages("1.0"), repoKey);
    publishRpmRepo(path.join(root, STAGED_RPM_REPO), rpmPackages("42.0"), repoKey);
    fs.chmodSync(path.join(root, STAGED_RPM_REPO), 0o750);
  }
  markChanged(root);
}

/** Rewrites the change markers, as an upstream does after publishing: lastupdate, and Fedora's (quick-fedora-mirror) file list, which the fedora preset checks. */
function markChanged(root: string): void {
  fs.writeFileSync(path.join(root, "lastupdate"), `${Date.now()}\n`);
  fs.writeFileSync(path.join(root, "fullfiletimelist-fedora"), `[Version]\n3\n[Files]\n${Date.now()}\n`);
}

export interface UpstreamOptions {
  /** Serve on the lan's gateway address, port 873, inside its namespace (default: loopback, a free port). */
  lan?: Lan;
  isoBytes?: number;
  /** Publish signed RPM repositories (RPM_REPO, STAGED_RPM_REPO) signed by this key. */
  repoKey?: SigningKey;
}

export async function startUpstream(module = "fedora", opts: UpstreamOptions = {}): Promise<Upstream> {
  const dir = tmpDir("upstream");
  fs.chmodSync(dir, 0o755);
  const root = path.join(dir, "tree");
  writeTree(root, opts.isoBytes, opts.repoKey);
  const lan = opts.lan;
  const address = lan ? lan.gateway : "127.0.0.1";
  const port = lan ? 873 : await freePort("127.0.0.1");
  const { start, stopDaemon } = rsyncDaemon(dir, { [module]: root }, address, port, lan);
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
    touchLastupdate: () => markChanged(root),
    publishRpmUpdate: (version, key, payloadBytes = 0) => {
      const live = path.join(root, RPM_REPO);
      const built = path.join(dir, "rpm-update");
      fs.rmSync(built, { recursive: true, force: true });
      publishRpmRepo(built, rpmPackages(version), key);
      if (payloadBytes > 0) {
        fs.mkdirSync(path.join(root, "updates"), { recursive: true });
        fs.writeFileSync(path.join(root, "updates", `payload-${version}.img`), crypto.randomBytes(payloadBytes));
      }
      const old = fs.readdirSync(path.join(live, "Packages"), { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
      for (const letter of fs.readdirSync(path.join(built, "Packages"))) {
        fs.mkdirSync(path.join(live, "Packages", letter), { recursive: true });
        for (const f of fs.readdirSync(path.join(built, "Packages", letter))) fs.copyFileSync(path.join(built, "Packages", letter, f), path.join(live, "Packages", letter, f));
      }
      fs.cpSync(path.join(built, "repodata"), path.join(live, "repodata.new"), { recursive: true });
      fs.renameSync(path.join(live, "repodata"), path.join(live, "repodata.old"));
      fs.renameSync(path.join(live, "repodata.new"), path.join(live, "repodata"));
      fs.rmSync(path.join(live, "repodata.old"), { recursive: true, force: true });
      for (const f of old) fs.rmSync(f);
      fs.rmSync(built, { recursive: true, force: true });
      markChanged(root);
    },
    flip: (rel) => openTree(path.join(root, rel)),
    stop: async () => {
      await stopDaemon();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A tier-0 rsync daemon (as root, like a tier 0 serving its own staged
 * content) with `modules` (name -> directory), on `address`:`port`, inside
 * the lan's namespace when there is one. start() waits until it answers.
 */
function rsyncDaemon(dir: string, modules: Record<string, string>, address: string, port: number, lan?: Lan) {
  const conf = path.join(dir, "rsyncd.conf");
  fs.writeFileSync(
    conf,
    [
      `pid file = ${dir}/rsyncd.pid`,
      "use chroot = no",
      "uid = root",
      "gid = root",
      "read only = yes",
      ...Object.entries(modules).flatMap(([name, root]) => [`[${name}]`, `    path = ${root}`]),
      "",
    ].join("\n"),
  );
  let daemon: ChildProcess | undefined;
  const start = async () => {
    const args = ["--daemon", "--no-detach", `--config=${conf}`, `--address=${address}`, `--port=${port}`, `--log-file=${dir}/rsyncd.log`];
    daemon = lan ? lan.spawn("rsync", args, { stdio: "ignore" }) : spawn("rsync", args, { stdio: "ignore" });
    // Wait until it answers.
    for (let i = 0; i < 50; i++) {
      const ok = lan
        ? lan.run("bash", ["-c", `exec 3<>/dev/tcp/${address}/${port}`]).code === 0
        : await new Promise<boolean>((resolve) => {
            const s = net.connect(port, address, () => {
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
  return { start, stopDaemon };
}

/** Where the Debian and Arch fixtures' repositories sit, as the presets lay them out. */
export const DEBIAN_SUITE = "stable-mk";
export const PACMAN_DB = "mk";
export const PACMAN_REPO = `${PACMAN_DB}/os/x86_64`;
export const DEBIAN_SERIAL = "2026112401";
/** Each one's staged next release (0750 until the bitflip), with the newer packages. */
export const DEBIAN_STAGED_SUITE = "next-mk";
export const PACMAN_STAGED_DB = "mk-next";
export const PACMAN_STAGED_REPO = `${PACMAN_STAGED_DB}/os/x86_64`;
export const STAGED_VERSION = "42.0";

export interface DistroUpstream {
  /** rsync://address:port, the project's upstream. */
  url: string;
  /** The served tree. */
  root: string;
  /** Opens the staged next release (0750 -> 0755) and marks the change, as the upstream's bitflip. */
  flip(): void;
  /**
   * Publishes a new version of the released repository as a careful upstream
   * does, every moment consistent: new packages in beside the old, then the
   * new signed indices swapped in, then the old packages out, then the change
   * marker; `payloadBytes` of incompressible data with it, so a sync takes a while.
   */
  publishUpdate(version: string, payloadBytes?: number): void;
  stop(): Promise<void>;
}

/** Copies `from` over `to` by a rename, so a reader sees the old file or the new, whole. */
function swapIn(from: string, to: string): void {
  fs.copyFileSync(from, `${to}.new`);
  fs.renameSync(`${to}.new`, to);
}

/**
 * A second kind of tier 0: one distribution's signed repository, built with
 * its own tools, served as module `kind` by a daemon of its own, with a staged
 * (0750) next release.
 * debian: an archive with suite DEBIAN_SUITE, staged suite DEBIAN_STAGED_SUITE
 * (dists/ and pool/ of its own), and ftpsync's master trace (the preset's
 * change check); archlinux: database PACMAN_DB, staged database
 * PACMAN_STAGED_DB, with lastupdate (the preset's check) and lastsync (what
 * Arch's mirror checker reads).
 */
export async function startDistroUpstream(kind: "debian" | "archlinux", lan: Lan, port: number, key: SigningKey): Promise<DistroUpstream> {
  const dir = tmpDir(`upstream-${kind}`);
  fs.chmodSync(dir, 0o755);
  const root = path.join(dir, "tree");
  fs.mkdirSync(root, { mode: 0o755 });
  let changes = 0;
  // The change marker the preset checks: new content on every call, even within one second.
  const markChanged = () => {
    const at = Math.floor(Date.now() / 1000) + changes;
    if (kind === "debian") {
      const date = new Date(at * 1000).toUTCString();
      const serial = String(Number(DEBIAN_SERIAL) + changes);
      fs.mkdirSync(path.join(root, "project", "trace"), { recursive: true });
      fs.writeFileSync(path.join(root, "project", "trace", "master"), [date, `Date: ${date}`, `Archive serial: ${serial}`, "Creator: ftpsync 20180513", "Running on host: tier0.invalid", ""].join("\n"));
    } else {
      fs.writeFileSync(path.join(root, "lastupdate"), `${at}\n`);
      fs.writeFileSync(path.join(root, "lastsync"), `${at}\n`);
    }
    changes++;
  };
  const staged =
    kind === "debian"
      ? [path.join(root, "dists", DEBIAN_STAGED_SUITE), path.join(root, "pool", DEBIAN_STAGED_SUITE)]
      : [path.join(root, PACMAN_STAGED_DB)];
  if (kind === "debian") {
    publishDebianArchive(root, DEBIAN_SUITE, rpmPackages("1.0"), key, { byHash: true });
    publishDebianArchive(root, DEBIAN_STAGED_SUITE, rpmPackages(STAGED_VERSION), key, { pool: DEBIAN_STAGED_SUITE, byHash: true });
  } else {
    fs.mkdirSync(path.join(root, PACMAN_REPO), { recursive: true });
    publishPacmanRepo(path.join(root, PACMAN_REPO), PACMAN_DB, rpmPackages("1.0"), key);
    fs.mkdirSync(path.join(root, PACMAN_STAGED_REPO), { recursive: true });
    publishPacmanRepo(path.join(root, PACMAN_STAGED_REPO), PACMAN_STAGED_DB, rpmPackages(STAGED_VERSION), key);
  }
  for (const d of staged) fs.chmodSync(d, 0o750);
  markChanged();
  const { start, stopDaemon } = rsyncDaemon(dir, { [kind]: root }, lan.gateway, port, lan);
  await start();

  const publishUpdate = (version: string, payloadBytes = 0) => {
    const payloads = path.join(root, "payload");
    const oldPayloads = filesUnder(payloads);
    if (payloadBytes > 0) {
      fs.mkdirSync(payloads, { recursive: true });
      fs.writeFileSync(path.join(payloads, `payload-${version}.img`), crypto.randomBytes(payloadBytes));
    }
    if (kind === "debian") {
      // As Debian's archive does: by-hash indices, and what the previous version named kept one version longer.
      publishDebianUpdate(root, DEBIAN_SUITE, rpmPackages(version), key);
    } else {
      const built = path.join(dir, "update");
      fs.rmSync(built, { recursive: true, force: true });
      // What is served now, to be removed once the new databases are in.
      const live = path.join(root, PACMAN_REPO);
      const isPackage = (f: string) => /\.pkg\.tar\.[a-z]+(\.sig)?$/.test(f);
      const old = filesUnder(live).filter(isPackage);
      publishPacmanRepo(built, PACMAN_DB, rpmPackages(version), key);
      const made = fs.readdirSync(built);
      for (const f of made.filter(isPackage)) fs.copyFileSync(path.join(built, f), path.join(live, f));
      // The databases (mk.db and mk.files are links to these), each renamed in.
      for (const f of made.filter((f) => !isPackage(f) && !fs.lstatSync(path.join(built, f)).isSymbolicLink())) swapIn(path.join(built, f), path.join(live, f));
      const kept = new Set(filesUnder(built));
      for (const f of old.filter((f) => !kept.has(f))) fs.rmSync(path.join(live, f));
      fs.rmSync(built, { recursive: true, force: true });
    }
    for (const f of oldPayloads) fs.rmSync(path.join(payloads, f));
    markChanged();
  };

  return {
    url: `rsync://${lan.gateway}:${port}`,
    root,
    flip: () => {
      for (const d of staged) openTree(d);
      markChanged();
    },
    publishUpdate,
    stop: async () => {
      await stopDaemon();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
