// Distro presets: what a mirror of each distribution syncs, from where, how
// often and how much disk it needs, from the distributions' mirror guides
// (shared/seeds: AOSC 000, distri 001, openSUSE 002, Parabola 003, Fedora 004).
// A preset fills `sync` and (tier 1) `rsync.modules` when those are left
// empty, and `diskNeedGiB` when unset; anything set explicitly wins.

export interface PresetModule {
  /** Key of the sync job and of the public rsync module that serves it. */
  name: string;
  /** The upstream's rsync module. */
  upstreamModule: string;
  /** Where it lives under mirrorRoot. */
  path: string;
}

/** A module a project may choose instead of, or beside, the preset's default ones (its guide's offer). */
export interface OptionalModule extends PresetModule {
  description: string;
  /** Space it needs (GiB), summed into the node's disk need. */
  diskNeedGiB: number;
}

export interface DistroPreset {
  /** Name shown as the public rsync module's comment. */
  title: string;
  description: string;
  /** What a node syncs when it does not choose (the guide's recommended module). */
  modules: PresetModule[];
  /** The other modules its guide offers, for a project's `modules` choice. */
  optionalModules: OptionalModule[];
  excludes: string[];
  /** Upstream file whose change means new content; rsync runs only then. */
  checkFile?: string;
  /** Two-stage sync: packages first, then the indices ("debian") or repodata ("rpm") with deletions. */
  stages: "single" | "debian" | "rpm";
  /** Recommended OnCalendar= schedule per tier. */
  schedule: { 1: string; 2: string };
  /** Space the default modules need (GiB), for the size warning. */
  diskNeedGiB: number;
  /** A weekly hardlink pass over each of its trees (Fedora's guide asks for one). */
  hardlink?: boolean;
}

export const PRESETS = {
  fedora: {
    title: "Fedora",
    description: "Fedora (004): fedora-enchilada, hardlinked tree; runs after 08:00 and 14:00 UTC and more",
    modules: [{ name: "fedora", upstreamModule: "fedora-enchilada", path: "fedora" }],
    optionalModules: [
      // "We recommend using fedora-enchilada plus fedora-epel if you can."
      { name: "epel", upstreamModule: "fedora-epel", path: "epel", description: "Extra Packages for Enterprise Linux (/pub/epel)", diskNeedGiB: 512 },
      // "Do not put this content into the same directory structure as the other Fedora content."
      { name: "fedora-secondary", upstreamModule: "fedora-secondary", path: "fedora-secondary", description: "Fedora Secondary Arches, in a tree of its own", diskNeedGiB: 1024 },
    ],
    excludes: [],
    // quick-fedora-mirror's change detection: the module's file list.
    checkFile: "fullfiletimelist-fedora",
    stages: "rpm",
    schedule: { 1: "*:0/20", 2: "*:10" },
    diskNeedGiB: 2048,
    hardlink: true,
  },
  opensuse: {
    title: "openSUSE",
    description: "openSUSE (002): opensuse-full, with staged content on the stage server",
    modules: [{ name: "opensuse", upstreamModule: "opensuse-full", path: "opensuse" }],
    // The partial modules write the same tree as opensuse-full: a project takes one of them instead.
    optionalModules: [
      { name: "opensuse-hotstuff-160gb", upstreamModule: "opensuse-hotstuff-160gb", path: "opensuse", description: "the most requested files, within 160 GB (sync every 6 hours)", diskNeedGiB: 160 },
      { name: "opensuse-hotstuff-80gb", upstreamModule: "opensuse-hotstuff-80gb", path: "opensuse", description: "the most requested files, within 80 GB (sync every 6 hours)", diskNeedGiB: 80 },
      { name: "opensuse-updates", upstreamModule: "opensuse-updates", path: "opensuse/update", description: "the /update tree alone", diskNeedGiB: 300 },
    ],
    excludes: [],
    stages: "rpm",
    schedule: { 1: "*:0/30", 2: "*:25" },
    diskNeedGiB: 1024,
  },
  parabola: {
    title: "Parabola GNU/Linux-libre",
    description: "Parabola (003): tier-2 > 250 GB; check /lastupdate before syncing",
    modules: [{ name: "parabola", upstreamModule: "repos", path: "parabola" }],
    optionalModules: [],
    excludes: [],
    checkFile: "lastupdate",
    stages: "single",
    schedule: { 1: "*:0/15", 2: "*:05" },
    diskNeedGiB: 250,
  },
  archlinux: {
    title: "Arch Linux",
    description: "Arch Linux: the tier-1 module, gated by lastupdate as Arch's own mirror role does",
    modules: [{ name: "archlinux", upstreamModule: "archlinux", path: "archlinux" }],
    optionalModules: [],
    excludes: [],
    checkFile: "lastupdate",
    stages: "single",
    schedule: { 1: "*:0/15", 2: "*:05" },
    diskNeedGiB: 150,
  },
  aosc: {
    title: "AOSC OS",
    description: "AOSC OS (000): /anthon, 1.8 TiB in 2025, at least 2 TiB free",
    modules: [{ name: "anthon", upstreamModule: "anthon", path: "anthon" }],
    optionalModules: [
      // "If you are short in storage, you may consider to use /packages" (about 1 TiB after the monthly cleanup).
      { name: "aosc-packages", upstreamModule: "packages", path: "anthon", description: "everything but the tarball releases", diskNeedGiB: 1024 },
      { name: "aosc-releases", upstreamModule: "releases", path: "aosc-releases", description: "the releases alone (releases.aosc.io)", diskNeedGiB: 256 },
    ],
    excludes: [],
    stages: "debian",
    schedule: { 1: "*:0/30", 2: "*:15" },
    diskNeedGiB: 2048,
  },
  distri: {
    title: "distri",
    description: "distri (001): the distri module, at least every 24 hours, about 150 GiB",
    modules: [{ name: "distri", upstreamModule: "distri", path: "distri" }],
    optionalModules: [],
    excludes: [],
    stages: "single",
    schedule: { 1: "*:0/30", 2: "*:35" },
    diskNeedGiB: 150,
  },
  debian: {
    title: "Debian",
    description: "Debian: the archive, gated by the master trace file as ftpsync does",
    modules: [{ name: "debian", upstreamModule: "debian", path: "debian" }],
    optionalModules: [],
    excludes: [],
    checkFile: "project/trace/master",
    stages: "debian",
    schedule: { 1: "*:0/20", 2: "*:40" },
    diskNeedGiB: 4096,
  },
} as const satisfies Record<string, DistroPreset>;

export type PresetName = keyof typeof PRESETS;

/** Every module a preset offers, the default ones first. */
export function presetModules(preset: DistroPreset): (PresetModule & { diskNeedGiB?: number })[] {
  return [...preset.modules, ...preset.optionalModules];
}
export const PRESET_NAMES = Object.keys(PRESETS) as [PresetName, ...PresetName[]];
