// Real, signed package repositories for test fixtures and benchmarks, built
// with the distributions' own tools (Debian packages them all): an RPM
// repository (rpmbuild, rpmsign, createrepo_c, signed repomd.xml) as dnf and
// zypper read it, a Debian archive (dpkg-deb, apt-ftparchive, signed
// InRelease) as apt reads it, and a pacman repository (makepkg, repo-add
// --sign) as pacman reads it. Packages are tiny: one README each.
import { spawnSync, type SpawnSyncOptions } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fingerprintOf, stopDaemonsUnder } from "./clients";
import { scratchDir as tmpDir } from "./probes";

export interface SigningKey {
  /** GNUPGHOME holding the secret key. */
  home: string;
  fingerprint: string;
  /** Armored public key (rpm, dnf, zypper, pacman-key). */
  armored: string;
  /** Binary public key (apt's signed-by). */
  keyring: string;
  /** Stops the gpg-agent this home spawned. */
  close(): void;
}

export interface PackageSpec {
  name: string;
  version: string;
  /** Another package of the set, at least this version: "mk-hello>=1.0". */
  requires?: { name: string; version: string };
}

/** The fixtures' and benchmarks' packages: one and its dependency, at `version`. */
export const testPackages = (version: string): PackageSpec[] => [
  { name: "mk-hello", version },
  { name: "mk-world", version, requires: { name: "mk-hello", version } },
];

function run(cmd: string, args: string[], opts: SpawnSyncOptions = {}): string {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 120_000, ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: exit ${r.status}\n${r.stdout}${r.stderr}`);
  return String(r.stdout);
}

const gpgEnv = (key: SigningKey) => ({ ...process.env, GNUPGHOME: key.home });
const gpg = (key: SigningKey, args: string[]) => run("gpg", ["--batch", "--yes", "--pinentry-mode", "loopback", "--passphrase", "", ...args], { env: gpgEnv(key) });

/** A throwaway ed25519 signing key (apt, rpm 4.18, dnf, zypper and pacman all take it). */
export function makeSigningKey(): SigningKey {
  const dir = tmpDir("signing-key");
  const home = path.join(dir, "gnupg");
  fs.mkdirSync(home, { mode: 0o700 });
  const key: SigningKey = {
    home,
    fingerprint: "",
    armored: path.join(dir, "test-key.asc"),
    keyring: path.join(dir, "test-archive-keyring.gpg"),
    close: () => {
      spawnSync("gpgconf", ["--homedir", home, "--kill", "all"]);
      stopDaemonsUnder(home);
    },
  };
  gpg(key, ["--quick-gen-key", "mirrorkit tier-0 <tier0@example.invalid>", "ed25519", "sign", "never"]);
  // The new home holds this one key.
  fs.writeFileSync(key.armored, gpg(key, ["--armor", "--export"]));
  key.fingerprint = fingerprintOf(key.armored);
  run("gpg", ["--batch", "--yes", "--output", key.keyring, "--export", key.fingerprint], { env: gpgEnv(key) });
  return key;
}

/** Replaces `dir`'s contents with `files` built elsewhere: what is not in the new set goes. */
function replaceFiles(dir: string, files: string[]): void {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  for (const f of files) fs.copyFileSync(f, path.join(dir, path.basename(f)));
}

/**
 * Publishes `packages` as a signed RPM repository at `repo` (Packages/<letter>/,
 * repodata/ with repomd.xml.asc and repomd.xml.key), as Fedora and openSUSE
 * lay them out. Packages no longer in the set are removed.
 */
export function publishRpmRepo(repo: string, packages: PackageSpec[], key: SigningKey): string[] {
  const top = tmpDir("rpmbuild");
  try {
    const built: string[] = [];
    for (const p of packages) {
      const spec = path.join(top, `${p.name}.spec`);
      fs.writeFileSync(
        spec,
        [
          `Name: ${p.name}`,
          `Version: ${p.version}`,
          "Release: 1",
          `Summary: mirrorkit test package ${p.name}`,
          "License: MIT",
          "BuildArch: noarch",
          ...(p.requires ? [`Requires: ${p.requires.name} >= ${p.requires.version}`] : []),
          "%description",
          `Test package ${p.name} ${p.version}.`,
          "%install",
          `mkdir -p %{buildroot}/usr/share/doc/${p.name}`,
          `echo '${p.name} ${p.version}' > %{buildroot}/usr/share/doc/${p.name}/README`,
          "%files",
          `/usr/share/doc/${p.name}/README`,
          "",
        ].join("\n"),
      );
      run("rpmbuild", ["--quiet", "--define", `_topdir ${top}`, "--nodeps", "-bb", spec]);
      built.push(path.join(top, "RPMS", "noarch", `${p.name}-${p.version}-1.noarch.rpm`));
    }
    // Debian's rpm names gpg2 as its signer; the binary here is gpg.
    run("rpmsign", ["--addsign", "--define", "__gpg /usr/bin/gpg", "--define", `_gpg_name ${key.fingerprint}`, "--define", `_gpg_path ${key.home}`, ...built], {
      env: gpgEnv(key),
    });
    fs.rmSync(path.join(repo, "Packages"), { recursive: true, force: true });
    for (const letter of new Set(packages.map((p) => p.name[0]))) {
      replaceFiles(
        path.join(repo, "Packages", letter),
        built.filter((f) => path.basename(f).startsWith(letter)),
      );
    }
    // createrepo_c writes the new repodata beside the old and swaps it in.
    run("createrepo_c", ["-q", repo]);
    gpg(key, ["--detach-sign", "--armor", "--output", path.join(repo, "repodata", "repomd.xml.asc"), path.join(repo, "repodata", "repomd.xml")]);
    fs.copyFileSync(key.armored, path.join(repo, "repodata", "repomd.xml.key"));
    return built.map((f) => path.basename(f));
  } finally {
    fs.rmSync(top, { recursive: true, force: true });
  }
}

export interface DebianArchiveOptions {
  /** The suite's pool (pool/<pool>/): a suite with one of its own leaves the other suites' packages alone. */
  pool?: string;
  /** The indices also under by-hash/SHA256/ (and SHA512), with Acquire-By-Hash: yes, as Debian publishes them. */
  byHash?: boolean;
}

/**
 * Publishes `packages` as a signed Debian archive at `archive`: pool/<pool>/<letter>/<name>/,
 * dists/<suite>/main/binary-amd64/Packages{,.gz}, Release, InRelease and Release.gpg.
 */
export function publishDebianArchive(archive: string, suite: string, packages: PackageSpec[], key: SigningKey, options: DebianArchiveOptions = {}): string[] {
  const { pool: poolName = "main", byHash = false } = options;
  const work = tmpDir("debs");
  try {
    const pool = path.join(archive, "pool", poolName);
    fs.rmSync(pool, { recursive: true, force: true });
    const names: string[] = [];
    for (const p of packages) {
      const src = path.join(work, p.name);
      fs.mkdirSync(path.join(src, "DEBIAN"), { recursive: true });
      fs.mkdirSync(path.join(src, "usr", "share", "doc", p.name), { recursive: true });
      fs.writeFileSync(path.join(src, "usr", "share", "doc", p.name, "README"), `${p.name} ${p.version}\n`);
      fs.writeFileSync(
        path.join(src, "DEBIAN", "control"),
        [
          `Package: ${p.name}`,
          `Version: ${p.version}`,
          "Architecture: all",
          "Section: misc",
          "Priority: optional",
          "Maintainer: mirrorkit tier-0 <tier0@example.invalid>",
          ...(p.requires ? [`Depends: ${p.requires.name} (>= ${p.requires.version})`] : []),
          `Description: mirrorkit test package ${p.name}`,
          "",
        ].join("\n"),
      );
      const file = `${p.name}_${p.version}_all.deb`;
      const dir = path.join(pool, p.name[0], p.name);
      fs.mkdirSync(dir, { recursive: true });
      run("dpkg-deb", ["--root-owner-group", "-Zgzip", "--build", src, path.join(dir, file)]);
      names.push(file);
    }
    const dist = path.join(archive, "dists", suite);
    const binary = path.join(dist, "main", "binary-amd64");
    fs.rmSync(dist, { recursive: true, force: true });
    fs.mkdirSync(binary, { recursive: true });
    fs.writeFileSync(path.join(binary, "Packages"), run("apt-ftparchive", ["packages", path.join("pool", poolName)], { cwd: archive }));
    run("gzip", ["-9kn", path.join(binary, "Packages")]);
    // Written outside dists/, or the Release file would list itself.
    const release = path.join(work, "Release");
    const fields = { Origin: "mirrorkit-test", Label: "mirrorkit-test", Suite: suite, Codename: suite, Architectures: "amd64", Components: "main" };
    const opts = Object.entries(fields).flatMap(([k, v]) => ["-o", `APT::FTPArchive::Release::${k}=${v}`]);
    if (byHash) opts.push("-o", "APT::FTPArchive::DoByHash=true");
    fs.writeFileSync(release, run("apt-ftparchive", [...opts, "release", `dists/${suite}`], { cwd: archive }));
    fs.copyFileSync(release, path.join(dist, "Release"));
    gpg(key, ["--clearsign", "--output", path.join(dist, "InRelease"), path.join(dist, "Release")]);
    gpg(key, ["-abs", "--output", path.join(dist, "Release.gpg"), path.join(dist, "Release")]);
    return names;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** Every regular file under `dir`, relative to it. */
export function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

/** The pool/main files a Packages index references, relative to pool/main. */
function debianPoolFiles(packagesIndex: string): Set<string> {
  const text = fs.existsSync(packagesIndex) ? fs.readFileSync(packagesIndex, "utf8") : "";
  return new Set([...text.matchAll(/^Filename: pool\/main\/(.+)$/gm)].map((m) => m[1]));
}

/**
 * Publishes a new version of suite `suite` (pool main) of the by-hash
 * archive at `archive` as Debian's archive software does, every moment
 * consistent: the new pool files in beside the old, then the suite's indices
 * swapped in at once (its dists/ directory renamed). As dak does, what the
 * previous version referenced stays one version longer: its pool files and
 * its indices' by-hash files (a client that read the old InRelease fetches
 * them after the swap).
 */
export function publishDebianUpdate(archive: string, suite: string, packages: PackageSpec[], key: SigningKey): void {
  const built = tmpDir("debian-update");
  try {
    publishDebianArchive(built, suite, packages, key, { byHash: true });
    const dist = path.join(archive, "dists", suite);
    // The pool files the version being replaced references (its Packages' Filename: fields).
    const previous = debianPoolFiles(path.join(dist, "main", "binary-amd64", "Packages"));
    const pool = path.join(archive, "pool", "main");
    fs.cpSync(path.join(built, "pool", "main"), pool, { recursive: true });
    const next = `${dist}.new`;
    fs.cpSync(path.join(built, "dists", suite), next, { recursive: true });
    // The previous versions' by-hash files, beside the new ones.
    for (const f of filesUnder(dist).filter((f) => f.includes("/by-hash/"))) {
      if (!fs.existsSync(path.join(next, f))) {
        fs.mkdirSync(path.dirname(path.join(next, f)), { recursive: true });
        fs.copyFileSync(path.join(dist, f), path.join(next, f));
      }
    }
    fs.renameSync(dist, `${dist}.old`);
    fs.renameSync(next, dist);
    fs.rmSync(`${dist}.old`, { recursive: true, force: true });
    // Older pool files, referenced by neither version, go.
    const current = new Set(filesUnder(path.join(built, "pool", "main")));
    for (const f of filesUnder(pool)) if (!current.has(f) && !previous.has(f)) fs.rmSync(path.join(pool, f));
  } finally {
    fs.rmSync(built, { recursive: true, force: true });
  }
}

/**
 * Publishes `packages` as a signed pacman repository `<db>` in `dir` (the
 * `$repo/os/$arch` directory): signed packages and a signed database, with
 * repo-add's `<db>.db` and `<db>.files` symlinks, which a mirror must keep.
 */
export function publishPacmanRepo(dir: string, db: string, packages: PackageSpec[], key: SigningKey): string[] {
  const work = tmpDir("makepkg");
  try {
    // makepkg refuses root; nobody builds.
    fs.chmodSync(work, 0o755);
    const built: string[] = [];
    for (const p of packages) {
      const build = path.join(work, p.name);
      fs.mkdirSync(build);
      fs.writeFileSync(
        path.join(build, "PKGBUILD"),
        [
          `pkgname=${p.name}`,
          `pkgver=${p.version}`,
          "pkgrel=1",
          `pkgdesc="mirrorkit test package ${p.name}"`,
          "arch=('any')",
          "license=('MIT')",
          ...(p.requires ? [`depends=('${p.requires.name}>=${p.requires.version}')`] : []),
          `package() { install -d "$pkgdir/usr/share/doc/$pkgname"; echo "$pkgname $pkgver" > "$pkgdir/usr/share/doc/$pkgname/README"; }`,
          "",
        ].join("\n"),
      );
      run("chown", ["-R", "nobody:nogroup", build]);
      run("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "env", `HOME=${build}`, `PKGDEST=${build}`, "makepkg", "--nodeps", "--noconfirm"], {
        cwd: build,
        env: { PATH: process.env.PATH, LANG: "C" },
      });
      const file = fs.readdirSync(build).find((f) => f.startsWith(`${p.name}-${p.version}-1-any.pkg.tar`));
      if (!file) throw new Error(`makepkg built no package for ${p.name}`);
      built.push(path.join(build, file));
    }
    replaceFiles(dir, built);
    for (const f of fs.readdirSync(dir)) gpg(key, ["--detach-sign", "--output", path.join(dir, `${f}.sig`), path.join(dir, f)]);
    run("repo-add", ["-q", "--sign", "--key", key.fingerprint, `${db}.db.tar.gz`, ...built.map((f) => path.basename(f))], { cwd: dir, env: gpgEnv(key) });
    return built.map((f) => path.basename(f));
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
