// The distributions' own package managers against a live node, each in a
// throwaway root with state of its own: the machine's package configuration is
// never read or touched. Signature checking is always on, with the archive key
// given. Used by `npm run doctor -- --client ...` and the end-to-end tests.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { scratchDir } from "./probes";

export const CLIENTS = ["apt", "dnf", "zypper", "pacman"] as const;
export type ClientKind = (typeof CLIENTS)[number];

export interface ClientRequest {
  /** URL of the repository: dnf/zypper the directory holding repodata/, apt the archive root, pacman the directory holding `<dist>.db`. */
  url: string;
  /** apt: the suite; pacman: the database (repository) name. */
  dist?: string;
  /** The package to install (with its dependencies). */
  pkg: string;
  /** The archive's armored public key. */
  key: string;
}

export interface ClientRun {
  /** The package landed in the throwaway root. */
  installed: boolean;
  /** name-version as the client's package database records it, when installed. */
  version?: string;
  /** Every step's command and the tail of its output. */
  transcript: string;
  /** The last lines that read like the client's own error. */
  error: string;
}

interface Step {
  cmd: string;
  args: string[];
  env?: Record<string, string>;
}

function runSteps(steps: Step[], cwd: string): { ok: boolean; transcript: string; error: string } {
  const lines: string[] = [];
  for (const s of steps) {
    const r = spawnSync(s.cmd, s.args, { cwd, encoding: "utf8", timeout: 180_000, env: { ...process.env, LC_ALL: "C.UTF-8", ...s.env } });
    const out = `${r.stdout ?? ""}${r.stderr ?? ""}`.trim();
    lines.push(`$ ${s.cmd} ${s.args.join(" ")}  # exit ${r.status ?? r.signal}`, ...out.split("\n").slice(-15));
    if (r.status !== 0) {
      const errors = out.split("\n").filter((l) => /error|fail|not |unable|denied|forbidden|40[34]|invalid|mismatch|could/i.test(l));
      return { ok: false, transcript: lines.join("\n"), error: (errors.length ? errors : out.split("\n")).slice(-3).join(" | ") || `exit ${r.status ?? r.signal}` };
    }
  }
  return { ok: true, transcript: lines.join("\n"), error: "" };
}

/** The fingerprint of the (single) key in an armored key file. */
export function fingerprintOf(key: string): string {
  const r = spawnSync("gpg", ["--batch", "--with-colons", "--import-options", "show-only", "--import", key], { encoding: "utf8" });
  const fpr = /^fpr:(?:[^:]*:){8}([0-9A-F]+):/m.exec(r.stdout ?? "")?.[1];
  if (!fpr) throw new Error(`no public key in ${key}`);
  return fpr;
}

/**
 * Stops what the clients left running with state under `dir`: gpg-agents (dnf
 * per repository, pacman-key) and dirmngrs (pacman looking a key up). gpgconf
 * does not always reach them, so they are found by their command line.
 */
export function stopDaemonsUnder(dir: string): void {
  for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const args = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      if (args.some((a) => a === dir || a.startsWith(`${dir}/`))) process.kill(Number(pid), "SIGTERM");
    } catch {
      // Gone already, or not ours to read.
    }
  }
}

function aptSteps(req: ClientRequest, dir: string): { steps: Step[]; query: Step } {
  if (!req.dist) throw new Error("apt needs the suite (--dist)");
  const state = (...p: string[]) => path.join(dir, ...p);
  for (const d of ["etc/apt/apt.conf.d", "etc/apt/preferences.d", "etc/apt/trusted.gpg.d", "var/lib/apt/lists/partial", "var/cache/apt/archives/partial", "var/log/apt", "root/var/lib/dpkg/updates", "root/var/lib/dpkg/info"]) {
    fs.mkdirSync(state(d), { recursive: true });
  }
  fs.writeFileSync(state("root/var/lib/dpkg/status"), "");
  // signed-by takes an armored key when its name ends in .asc.
  fs.copyFileSync(req.key, state("archive-key.asc"));
  fs.writeFileSync(state("etc/apt/sources.list"), `deb [signed-by=${state("archive-key.asc")}] ${req.url} ${req.dist} main\n`);
  // APT_CONFIG is read before the system's apt.conf.d, so pointing the parts away keeps every system hook out.
  fs.writeFileSync(
    state("etc/apt/apt.conf"),
    [
      `Dir::Etc::main "/dev/null";`,
      `Dir::Etc::parts "${state("etc/apt/apt.conf.d")}";`,
      `Dir::Etc::sourcelist "${state("etc/apt/sources.list")}";`,
      `Dir::Etc::sourceparts "-";`,
      `Dir::Etc::preferences "${state("etc/apt/preferences")}";`,
      `Dir::Etc::preferencesparts "${state("etc/apt/preferences.d")}";`,
      `Dir::Etc::trusted "${state("etc/apt/trusted.gpg")}";`,
      `Dir::Etc::trustedparts "${state("etc/apt/trusted.gpg.d")}";`,
      `Dir::State "${state("var/lib/apt")}";`,
      `Dir::State::status "${state("root/var/lib/dpkg/status")}";`,
      `Dir::Cache "${state("var/cache/apt")}";`,
      `Dir::Log "${state("var/log/apt")}";`,
      `APT::Architecture "amd64";`,
      `APT::Architectures { "amd64"; };`,
      `APT::Sandbox::User "root";`,
      `Acquire::Retries "0";`,
      `DPkg::Options { "--root=${state("root")}"; "--log=${state("dpkg.log")}"; "--force-not-root"; };`,
      "",
    ].join("\n"),
  );
  const env = { APT_CONFIG: state("etc/apt/apt.conf"), DEBIAN_FRONTEND: "noninteractive" };
  return {
    // apt-get update exits 0 on some fetch failures; -o APT::Update::Error-Mode=any makes each one an error.
    steps: [
      { cmd: "apt-get", args: ["-q", "-o", "APT::Update::Error-Mode=any", "update"], env },
      { cmd: "apt-get", args: ["-q", "-y", "install", req.pkg], env },
    ],
    query: { cmd: "dpkg-query", args: [`--admindir=${state("root/var/lib/dpkg")}`, "-W", "-f", "${Package}-${Version}\\n", req.pkg] },
  };
}

function dnfSteps(req: ClientRequest, dir: string): { steps: Step[]; query: Step } {
  const root = path.join(dir, "root");
  fs.mkdirSync(path.join(dir, "repos.d"), { recursive: true });
  fs.mkdirSync(path.join(dir, "log"), { recursive: true });
  fs.mkdirSync(root, { recursive: true });
  fs.writeFileSync(
    path.join(dir, "dnf.conf"),
    ["[main]", "gpgcheck=1", "repo_gpgcheck=1", `reposdir=${path.join(dir, "repos.d")}`, `logdir=${path.join(dir, "log")}`, "install_weak_deps=0", "retries=1", "skip_if_unavailable=0", ""].join("\n"),
  );
  fs.writeFileSync(
    path.join(dir, "repos.d", "doctor.repo"),
    ["[doctor]", "name=mirrorkit doctor", `baseurl=${req.url}`, "gpgcheck=1", "repo_gpgcheck=1", `gpgkey=file://${req.key}`, "metadata_expire=0", ""].join("\n"),
  );
  const common = ["-y", `--config=${path.join(dir, "dnf.conf")}`, `--installroot=${root}`, "--releasever=41", "--disableplugin=*"];
  return {
    steps: [
      { cmd: "dnf", args: [...common, "makecache"] },
      { cmd: "dnf", args: [...common, "install", req.pkg] },
    ],
    query: { cmd: "rpm", args: [`--root=${root}`, "-q", "--qf", "%{NAME}-%{VERSION}\\n", req.pkg] },
  };
}

function zypperSteps(req: ClientRequest, dir: string): { steps: Step[]; query: Step } {
  const root = path.join(dir, "root");
  fs.mkdirSync(root, { recursive: true });
  const z = ["-n", "--root", root];
  return {
    // The key goes into the root's rpm database first: no auto-import, so the signature is checked against it.
    steps: [
      { cmd: "rpm", args: [`--root=${root}`, "--import", req.key] },
      { cmd: "zypper", args: [...z, "addrepo", req.url, "doctor"] },
      { cmd: "zypper", args: [...z, "refresh"] },
      { cmd: "zypper", args: [...z, "install", req.pkg] },
    ],
    query: { cmd: "rpm", args: [`--root=${root}`, "-q", "--qf", "%{NAME}-%{VERSION}\\n", req.pkg] },
  };
}

function pacmanSteps(req: ClientRequest, dir: string): { steps: Step[]; query: Step } {
  if (!req.dist) throw new Error("pacman needs the repository's database name (--dist)");
  const p = (...s: string[]) => path.join(dir, ...s);
  fs.mkdirSync(p("root", "var", "lib", "pacman"), { recursive: true });
  fs.mkdirSync(p("cache"), { recursive: true });
  fs.mkdirSync(p("hooks"), { recursive: true });
  fs.writeFileSync(
    p("pacman.conf"),
    [
      "[options]",
      `RootDir = ${p("root")}`,
      `DBPath = ${p("root", "var", "lib", "pacman")}/`,
      `CacheDir = ${p("cache")}/`,
      `LogFile = ${p("pacman.log")}`,
      `GPGDir = ${p("gnupg")}/`,
      `HookDir = ${p("hooks")}/`,
      "Architecture = x86_64",
      "SigLevel = Required DatabaseRequired",
      "LocalFileSigLevel = Required",
      `[${req.dist}]`,
      `Server = ${req.url}`,
      "",
    ].join("\n"),
  );
  const po = ["--config", p("pacman.conf"), "--root", p("root"), "--dbpath", p("root", "var", "lib", "pacman"), "--cachedir", p("cache"), "--noconfirm"];
  const fpr = fingerprintOf(req.key);
  return {
    steps: [
      { cmd: "pacman-key", args: ["--gpgdir", p("gnupg"), "--init"] },
      { cmd: "pacman-key", args: ["--gpgdir", p("gnupg"), "--add", req.key] },
      { cmd: "pacman-key", args: ["--gpgdir", p("gnupg"), "--lsign-key", fpr] },
      { cmd: "pacman", args: [...po, "-Sy"] },
      { cmd: "pacman", args: [...po, "-S", req.pkg] },
    ],
    query: { cmd: "pacman", args: [...po.slice(0, -1), "-Q", req.pkg] },
  };
}

/** Refreshes the repository's metadata and installs `pkg` with the real client, in a throwaway root. */
export function runClient(kind: ClientKind, req: ClientRequest): ClientRun {
  const dir = scratchDir(`client-${kind}`);
  try {
    const { steps, query } = { apt: aptSteps, dnf: dnfSteps, zypper: zypperSteps, pacman: pacmanSteps }[kind](req, dir);
    const r = runSteps(steps, dir);
    const q = spawnSync(query.cmd, query.args, { encoding: "utf8", env: { ...process.env, ...query.env } });
    const version = q.status === 0 ? String(q.stdout).trim().replace(/\s+/g, "-") : undefined;
    return { installed: r.ok && version !== undefined, version, transcript: r.transcript, error: r.error };
  } finally {
    stopDaemonsUnder(dir);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
