// The stack config schema: the one place input is validated and the one
// place defaults live. Components take the parsed, fully-defaulted types.
import { isIP } from "node:net";
import { z } from "zod";
import { PRESETS, PRESET_NAMES, presetModules, type DistroPreset } from "./presets";
import { coversEveryone, isSystemPath } from "./safety";
import { ACME_CERTIFICATE, ACME_KEY, REPORT_MIRROR_CONF } from "../plan/paths";

const name = z
  .string()
  .regex(/^[a-z_][a-z0-9_-]{0,31}$/, "a POSIX account name (lower case, digits, _ or -, at most 32)");
/**
 * The characters a path segment may hold. Paths land in shell scripts, unit
 * files, rsyncd.conf and web server configs: no space, quote, '$', '%' (a
 * systemd specifier), ';', '{', '#' or other character any of them reads.
 */
const SEGMENT = "[A-Za-z0-9._+~@,=-]+";
const PATH_CHARS_MESSAGE = "letters, digits and . _ + ~ @ , = - between slashes";
const absolutePath = z
  .string()
  .regex(/^\//, "an absolute path")
  .regex(new RegExp(`^(/${SEGMENT})*/?$`), PATH_CHARS_MESSAGE)
  .refine((p) => !p.split("/").includes(".."), "a path without '..'");
/** rsync://host[:port]/module[/path]/: a host name, IPv4 or [IPv6] address, and path segments. */
const rsyncUrl = z
  .string()
  .regex(new RegExp(`^rsync://([A-Za-z0-9.-]+|\\[[0-9A-Fa-f:.]+\\])(:\\d{1,5})?/(${SEGMENT}/)*(${SEGMENT})?$`), "an rsync:// URL (rsync://host[:port]/module/path/), in the path only letters, digits and . _ + ~ @ , = -");
const port = z.number().int().min(1).max(65535);

export const HostSchema = z
  .object({
    /** Address the engine connects to over SSH. */
    address: z.string().regex(/^[A-Za-z0-9.:-]+$/, "a host name or address"),
    port: port.default(22),
    user: z.string().min(1).default("root"),
    /** Path of the SSH private key, read when the program runs. */
    privateKeyPath: z.string().min(1).optional(),
    /** The key itself; set it with `pulumi config set --secret`. */
    privateKey: z.string().min(1).optional(),
  })
  .strict()
  .refine((h) => (h.privateKeyPath === undefined) !== (h.privateKey === undefined), {
    message: "set exactly one of privateKeyPath or privateKey",
    path: ["privateKeyPath"],
  });

const AccountSchema = z.object({ user: name, group: name }).strict();

export const AccountsSchema = z
  .object({
    /** Runs the sync and owns the tree; staged 0750 content is readable by its group only. */
    mirror: AccountSchema.default({ user: "mirror", group: "mirror" }),
    /** The web server's identity. */
    http: AccountSchema.default({ user: "mirror-http", group: "mirror-http" }),
    /** The public rsync daemon's identity (the guides' uid = nobody, gid = nogroup). */
    rsync: AccountSchema.default({ user: "nobody", group: "nogroup" }),
    /** The private tier daemon's identity: a member of the mirror group, owning nothing. */
    tier: z.object({ user: name }).strict().default({ user: "mirror-tier" }),
    /** Upstreams log in as this account to start a sync (push); its one command touches a trigger. */
    push: z.object({ user: name }).strict().default({ user: "mirror-push" }),
  })
  .strict();

export const sshPublicKey = z
  .string()
  .regex(/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/]+={0,3}( [^\n]*)?$/, "one OpenSSH public key line (type, key, comment)");

export const PushSchema = z
  .object({
    /**
     * Public keys allowed to start this node's syncs over SSH, ftpsync style
     * (the upstream's push key). A tier 2 with upstreamStack trusts its tier 1's key too.
     */
    authorizedKeys: z.array(sshPublicKey).default([]),
    /** After each successful sync, start the syncs of these downstream nodes over SSH. */
    downstreams: z
      .array(
        z
          .object({
            host: z.string().regex(/^[A-Za-z0-9.:-]+$/, "a host name or address"),
            port: port.default(22),
            /** The downstream's push account. */
            user: name.default("mirror-push"),
          })
          .strict(),
      )
      .default([]),
  })
  .strict();

const relativePath = z
  .string()
  .regex(/^[^/]/, "a path relative to mirrorRoot")
  .regex(new RegExp(`^${SEGMENT}(/${SEGMENT})*/?$`), PATH_CHARS_MESSAGE)
  .refine((p) => !p.split("/").includes(".."), "a path without '..'");
export const moduleName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "letters, digits, '.', '_' or '-'");
/** An rsync server, rsync://host[:port], without a module. */
export const rsyncServer = z.string().regex(/^rsync:\/\/([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?\/?$/, "rsync://host[:port], without a module");
/** systemd OnCalendar= expression; checked on the host with systemd-analyze calendar. */
const calendar = z.string().min(1).regex(/^[A-Za-z0-9*:,./~ +-]+$/, "one systemd calendar expression (letters, digits, space and * : , . / ~ + -)");
/** A tier: 1 (from tier 0, hands staged content on) or 2 (from a tier 1). */
const tierNumber = z.union([z.literal(1), z.literal(2)]);
const rsyncUser = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, "an rsync user name (letters, digits, . _ -)");
/** rsync exclude patterns, one per line. */
const excludePatterns = z.array(z.string().regex(/^[^\n]+$/, "one pattern")).default([]);
/** How long a sync waits while its upstream shows Archive-Update-in-Progress (ftpsync's UIPSLEEP), and how often (UIPRETRIES). */
const upstreamBusyWaitSeconds = z.number().int().min(1).max(7200);
const upstreamBusyRetries = z.number().int().min(0).max(10);
/** RandomizedDelaySec= of a sync timer. */
const startSpreadSeconds = z.number().int().min(0).max(3600);
/** How old a sync's last success may be before the MirrorkitSyncStale alert fires. */
const staleAfterSeconds = z.number().int().min(60).max(30 * 86400);

export const VolumeSchema = z
  .object({
    /** Key naming the volume's resources. */
    name: moduleName,
    /** Block device, ideally a stable path (/dev/disk/by-id/...). */
    device: absolutePath,
    fsType: z.enum(["ext4", "xfs"]).default("ext4"),
    /** Where it is mounted: mirrorRoot itself or a directory below it. */
    mountPoint: absolutePath,
  })
  .strict();

export const TlsSchema = z
  .object({
    certificatePath: absolutePath,
    keyPath: absolutePath,
    httpsPort: port.default(443),
  })
  .strict();

/** A DNS name a public CA will certify: labels of letters, digits and '-', at least one dot. */
const dnsName = z
  .string()
  .max(253)
  .regex(/^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z][A-Za-z0-9-]{0,61}[A-Za-z0-9]$/, "a DNS name (letters, digits and '-' in dot-separated labels)");

export const AcmeSchema = z
  .object({
    /** Registration contact: the CA writes here before a certificate expires. */
    contact: z.string().regex(/^[^@\s'"\\]+@[A-Za-z0-9.-]+$/, "an email address"),
    /** The CA's ACME directory. */
    directoryUrl: z.string().regex(/^https:\/\/[A-Za-z0-9.:[\]-]+(\/[A-Za-z0-9._~/%-]*)?$/, "an https:// URL").default("https://acme-v02.api.letsencrypt.org/directory"),
    /** Names on the certificate (http-01: each must reach this node on port 80); the first names it. */
    names: z.array(dnsName).min(1, "at least one name").refine((n) => new Set(n.map((x) => x.toLowerCase())).size === n.length, "each name once"),
    /** PEM of the CA that signs the directory's own HTTPS certificate, when it is not a public one (a private or test CA). */
    directoryCaCertificate: z.string().regex(/^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----\n?$/, "one PEM certificate").optional(),
    httpsPort: port.default(443),
    /** When the renewal runs (it renews only within renewDaysBefore of expiry). */
    renewSchedule: calendar.default("*-*-* 04,16:23:00"),
    randomizedDelaySeconds: z.number().int().min(0).max(43200).default(3600),
    /** Renew when the certificate has fewer days left than this. */
    renewDaysBefore: z.number().int().min(1).max(60).default(30),
    /** Send HTTP clients to HTTPS (301). Off by default: apt and mirror checkers build http:// URLs. */
    redirectHttp: z.boolean().default(false),
  })
  .strict();

export const WebSchema = z
  .object({
    server: z.enum(["nginx", "apache"]).default("nginx"),
    httpPort: port.default(80),
    /** Addresses to listen on (HTTP and HTTPS); empty: every IPv4 and IPv6 address. */
    listenAddresses: z
      .array(z.string().refine((a) => isIP(a) !== 0, "an IPv4 or IPv6 address, without brackets"))
      .refine((a) => new Set(a).size === a.length, "each address once")
      .default([]),
    /** Keepalive per the Fedora mirror guide: on, ~2 s, ~100 requests. */
    keepaliveTimeoutSeconds: z.number().int().min(1).max(300).default(2),
    keepaliveRequests: z.number().int().min(1).max(100000).default(100),
    /** Concurrent connections one client address may hold on ISO images (Fedora uses 6). */
    isoConnectionsPerIp: z.number().int().min(1).max(1000).default(6),
    /**
     * One "client address" for that limit: IPv6 clients are grouped by this
     * prefix (a home or a host holds a whole /64), IPv4 clients by theirs.
     * Apache takes whole groups only (IPv6 by 16 bits, IPv4 by 8): it has no address arithmetic.
     */
    ipv6ClientPrefix: z.number().int().min(16).max(128).default(64),
    ipv4ClientPrefix: z.number().int().min(8).max(32).default(32),
    /** Retry-After of the 429 a client past the limit gets. */
    retryAfterSeconds: z.number().int().min(1).max(3600).default(30),
    /** Certificates you manage yourself. */
    tls: TlsSchema.optional(),
    /** Certificates from an ACME CA (http-01 through this server), renewed by a timer; the served paths are the kit's. */
    acme: AcmeSchema.optional(),
    /** Rotation of the server's logs (/var/log/mirrorkit-web): a busy mirror fills a root disk with them. */
    logRotation: z
      .object({
        period: z.enum(["daily", "weekly"]).default("daily"),
        /** Rotated files kept (compressed). */
        keep: z.number().int().min(1).max(366).default(14),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((web, ctx) => {
    if (web.server === "apache") {
      if (web.ipv6ClientPrefix % 16 !== 0) ctx.addIssue({ code: "custom", path: ["ipv6ClientPrefix"], message: "with Apache, a multiple of 16 (16, 32, 48, 64, ... 128): it groups addresses by whole 16-bit groups" });
      if (web.ipv4ClientPrefix % 8 !== 0) ctx.addIssue({ code: "custom", path: ["ipv4ClientPrefix"], message: "with Apache, 8, 16, 24 or 32: it groups addresses by whole octets" });
    }
    if (web.acme && web.tls) {
      ctx.addIssue({ code: "custom", path: ["tls"], message: "web.acme provides the certificate: remove web.tls (its HTTPS port is web.acme.httpsPort)" });
    }
  })
  // With ACME the server serves the kit's certificate paths, which the renewal fills.
  .transform((web) => (web.acme ? { ...web, tls: { certificatePath: ACME_CERTIFICATE, keyPath: ACME_KEY, httpsPort: web.acme.httpsPort } } : web));

const PublicModuleSchema = z
  .object({
    name: moduleName,
    /** Directory served, relative to mirrorRoot. */
    path: relativePath,
    // rsyncd.conf has no quoting and expands %VAR% from the daemon's
    // environment in values (its '%%' escape is not honoured in comments).
    comment: z.string().regex(/^[^\n%]*$/, "one line, without '%' (rsyncd.conf expands %VAR%)").default(""),
  })
  .strict();

const TierUserSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,31}$/, "lower-case letters, digits, '.', '_' or '-'"),
    /** The secret; set it with `pulumi config set --secret`. */
    password: z.string().min(8, "at least 8 characters"),
  })
  .strict();

const hostPattern = z
  .string()
  .regex(/^[0-9A-Za-z.:/*_-]+$/, "an address, CIDR range or host name pattern");

export const PrivateRsyncSchema = z
  .object({
    /** Fedora's example port; also rsync-over-TLS's default, hence configurable. */
    port: port.default(874),
    /** Modules as written; tier-1 projects add theirs (at least one in all). */
    modules: z.array(PublicModuleSchema).default([]),
    /** Downstream mirrors allowed to connect. Required: the module is never open to all. */
    hostsAllow: z.array(hostPattern).min(1, "at least one downstream address"),
    users: z.array(TierUserSchema).min(1, "at least one authenticated user"),
    maxConnections: z.number().int().min(1).max(10000).default(10),
  })
  .strict();

export const RsyncSchema = z
  .object({
    port: port.default(873),
    maxConnections: z.number().int().min(1).max(10000).default(50),
    modules: z.array(PublicModuleSchema).default([]),
    private: PrivateRsyncSchema.optional(),
    /** The push daemon's port, when a project takes pushes (projects[].push). */
    pushPort: port.default(8873),
  })
  .strict();

export const SyncModuleSchema = z
  .object({
    /** Key naming the job's unit, script and resources. */
    name: moduleName,
    /** rsync URL of the upstream module, e.g. rsync://tier1.example.org/fedora/. */
    upstream: rsyncUrl,
    /** Destination directory, relative to mirrorRoot. */
    path: relativePath,
    /** OnCalendar= schedule; default by tier (1: every 15 min, 2: hourly). */
    schedule: calendar.optional(),
    /** Spread of start times across nodes (RandomizedDelaySec=); default by tier (60 s, 300 s). */
    randomizedDelaySeconds: startSpreadSeconds.optional(),
    excludes: excludePatterns,
    /** Upstream file whose change means new content (e.g. "lastupdate"); rsync runs only then. */
    checkFile: relativePath.optional(),
    /** The tier this tree is mirrored at, when it differs from the node's (a project's tier). */
    tier: tierNumber.optional(),
    /**
     * A pass of util-linux `hardlink` over this tree on this OnCalendar= schedule, at idle priority and
     * never while the job syncs (Fedora's guide: weekly). None by default.
     */
    hardlinkSchedule: calendar.optional(),
    /** The project the job belongs to, shown on the status page and as a metrics label; default the job's name. */
    project: moduleName.optional(),
    /** Credentials for a private upstream module. */
    user: rsyncUser.optional(),
    password: z.string().min(1).optional(),
    /** A command run as the mirror account after a successful sync (e.g. report_mirror). */
    postHook: z.string().regex(/^[^\n]+$/, "one command line").optional(),
    /** A time limit for one run (none by default: a stopped first sync resumes on its next run). */
    timeoutSeconds: z.number().int().min(60).max(7 * 86400).optional(),
    /** How old its last success may be before the MirrorkitSyncStale alert fires; default by tier. */
    staleAfterSeconds: staleAfterSeconds.optional(),
    /** rsync --max-delete: a run that would delete more stops (a broken or emptied upstream). */
    maxDelete: z.number().int().min(0).default(5000),
    /** Never delete (e.g. while an upstream is being rebuilt). */
    noDelete: z.boolean().default(false),
    /** Attempts after a failed transfer, with doubling delays from retryDelaySeconds. */
    retries: z.number().int().min(0).max(10).default(2),
    retryDelaySeconds: z.number().int().min(1).max(3600).default(60),
    /** rsync --bwlimit in KiB/s (0: unlimited). */
    bandwidthLimitKiB: z.number().int().min(0).default(0),
    /**
     * Two-stage sync: first everything but the indices, without deletions, then
     * the indices with deletions, so clients never see an index naming packages
     * not there yet. "debian": Packages/Sources/Release/InRelease/i18n/dep11;
     * "rpm": repodata/. "single": one pass.
     */
    stages: z.enum(["single", "debian", "rpm"]).default("single"),
    /** Write a Debian-format trace file (project/trace/<host>) into the tree after each success. */
    trace: z.boolean().default(true),
    /**
     * While upstream shows Archive-Update-in-Progress-* (ftpsync's marker of
     * an update under way), wait this long before looking again (ftpsync's UIPSLEEP) ...
     */
    upstreamBusyWaitSeconds: upstreamBusyWaitSeconds.default(1200),
    /** ... this many times (UIPRETRIES); then the run is deferred to the next one. */
    upstreamBusyRetries: upstreamBusyRetries.default(3),
  })
  .strict()
  .refine((m) => (m.user === undefined) === (m.password === undefined), {
    message: "set both user and password, or neither",
    path: ["password"],
  });

export const BitflipSchema = z
  .object({
    name: moduleName,
    /** Staged directories to open to the public, relative to mirrorRoot. */
    paths: z.array(relativePath).min(1),
    /** When, as an OnCalendar= expression (an announced release time). */
    at: calendar,
  })
  .strict();

/** A tier-1 stack to sync from (a StackReference name) and the tier user to authenticate as. */
const UpstreamStackSchema = z.object({ name: z.string().min(1), user: z.string().min(1) }).strict();

/** A project no preset covers: its modules, stages and change check, as its guide gives them. */
const CustomProjectSchema = z
  .object({
    title: z.string().regex(/^[^\n%]+$/, "one line, without '%' (rsyncd.conf expands %VAR%)"),
    modules: z
      .array(z.object({ name: moduleName, upstreamModule: moduleName, path: relativePath }).strict())
      .min(1, "at least one module"),
    stages: z.enum(["single", "debian", "rpm"]).default("single"),
    checkFile: relativePath.optional(),
    diskNeedGiB: z.number().int().min(1).default(100),
  })
  .strict();

/**
 * One distribution the node carries: where it comes from, at which tier, which of
 * its guide's modules, and how it is served. A node lists several.
 */
export const ProjectSchema = z
  .object({
    /** Key of the project (status rows, metrics label, resources); default the preset's name. */
    name: moduleName.optional(),
    preset: z.enum(PRESET_NAMES).optional(),
    custom: CustomProjectSchema.optional(),
    /** Tier 1 (from tier 0, offers a private module) or tier 2 (from a tier 1); default the node's tier. */
    tier: tierNumber.optional(),
    /** The upstream rsync server, rsync://host[:port]. */
    upstream: rsyncServer.optional(),
    /** Or, for a tier 2, the tier-1 stack whose private modules it syncs (host, modules and password by StackReference). */
    upstreamStack: UpstreamStackSchema.optional(),
    user: rsyncUser.optional(),
    password: z.string().min(1).optional(),
    /** Which of the guide's modules to sync; default the preset's recommended ones. */
    modules: z.array(moduleName).min(1).optional(),
    /** Per module, the upstream module to sync it from (e.g. a tier 1's private module). */
    upstreamModules: z.record(moduleName, moduleName).default({}),
    /** OnCalendar= of its sync jobs; default the preset's, by tier. */
    schedule: calendar.optional(),
    randomizedDelaySeconds: startSpreadSeconds.optional(),
    staleAfterSeconds: staleAfterSeconds.optional(),
    /** While its upstream shows Archive-Update-in-Progress: wait this long, this many times (default ftpsync's 1200 s, 3). */
    upstreamBusyWaitSeconds: upstreamBusyWaitSeconds.optional(),
    upstreamBusyRetries: upstreamBusyRetries.optional(),
    /** rsync exclude patterns on top of the preset's (e.g. architectures the node does not carry). */
    excludes: excludePatterns,
    /** Serve each module on the public rsync daemon, under the module's name. */
    publicModule: z.boolean().default(true),
    /** Offer each module to tier 2s on the private daemon as <module>-tier; default on for a tier 1. */
    privateModule: z.boolean().optional(),
    /** Override of the disk need (GiB); default the chosen modules' sum. */
    diskNeedGiB: z.number().int().min(1).optional(),
    /**
     * openSUSE-style push: the upstream writes into this project's trees through
     * a writable rsync module (<module>-push) on the node's push daemon
     * (rsync.pushPort), as the mirror account, from these addresses and users only.
     * The pull job stays: it reconciles and says how fresh the tree is.
     */
    push: z
      .object({
        hostsAllow: z.array(hostPattern).min(1, "at least one upstream address: a writable module is never open to all"),
        users: z.array(TierUserSchema).min(1, "at least one authenticated user: a writable module always asks for a password"),
      })
      .strict()
      .optional(),
    /**
     * A hardlink pass over each of its trees: on for presets whose guide asks for one (Fedora),
     * weekly at DEFAULT_HARDLINK_SCHEDULE; `false` turns it off.
     */
    hardlink: z.union([z.literal(false), z.object({ schedule: calendar.default(() => DEFAULT_HARDLINK_SCHEDULE) }).strict()]).optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    if ((p.preset === undefined) === (p.custom === undefined)) {
      ctx.addIssue({ code: "custom", path: ["preset"], message: `set exactly one of preset (${PRESET_NAMES.join(", ")}) or custom` });
    }
    if (p.custom && p.name === undefined) ctx.addIssue({ code: "custom", path: ["name"], message: "a custom project needs a name" });
    if ((p.user === undefined) !== (p.password === undefined)) {
      ctx.addIssue({ code: "custom", path: ["password"], message: "set both user and password, or neither" });
    }
    if ((p.upstream === undefined) === (p.upstreamStack === undefined)) {
      ctx.addIssue({ code: "custom", path: ["upstream"], message: "set exactly one of upstream (rsync://host[:port]) or upstreamStack (a tier-1 stack)" });
    }
    if (p.upstreamStack && p.tier === 1) ctx.addIssue({ code: "custom", path: ["upstreamStack"], message: "only a tier-2 project syncs from a tier-1 stack" });
    if (p.upstreamStack && p.user !== undefined) ctx.addIssue({ code: "custom", path: ["user"], message: "comes from upstreamStack.user" });
    if (p.preset && p.modules) {
      const offered = presetModules(PRESETS[p.preset]).map((m) => m.name);
      p.modules.forEach((m, i) => {
        if (!offered.includes(m)) ctx.addIssue({ code: "custom", path: ["modules", i], message: `"${m}" is not a ${p.preset} module; choose from ${offered.join(", ")}` });
      });
    }
    if (p.custom && p.modules) ctx.addIssue({ code: "custom", path: ["modules"], message: "a custom project syncs its custom.modules" });
  });

export type ProjectConfig = z.output<typeof ProjectSchema>;

/** Fedora's "say, weekly": early Sunday, away from its 08:00 and 14:00 UTC pushes. */
export const DEFAULT_HARDLINK_SCHEDULE = "Sun *-*-* 03:30:00 UTC";

/** A project's effective tier. */
function projectTier(project: ProjectConfig, nodeTier: 1 | 2): 1 | 2 {
  return project.tier ?? nodeTier;
}

/** A project's key. */
export function projectName(project: ProjectConfig): string {
  return project.name ?? project.preset ?? "custom";
}

/** What a project syncs and how, from its preset or its custom description. */
function projectSource(project: ProjectConfig) {
  if (project.custom) {
    const c = project.custom;
    return { title: c.title, modules: c.modules.map((m) => ({ ...m, diskNeedGiB: c.diskNeedGiB / c.modules.length })), excludes: [] as string[], stages: c.stages, checkFile: c.checkFile, schedule: { 1: TIER_SYNC_DEFAULTS[1].schedule, 2: TIER_SYNC_DEFAULTS[2].schedule }, hardlink: false };
  }
  const preset: DistroPreset = PRESETS[project.preset ?? "debian"];
  const all = presetModules(preset);
  const chosen = project.modules ? all.filter((m) => project.modules!.includes(m.name)) : preset.modules.map((m) => ({ ...m, diskNeedGiB: preset.diskNeedGiB / preset.modules.length }));
  return { title: preset.title, modules: chosen.map((m) => ({ ...m, diskNeedGiB: m.diskNeedGiB ?? preset.diskNeedGiB })), excludes: preset.excludes, stages: preset.stages, checkFile: preset.checkFile, schedule: preset.schedule, hardlink: preset.hardlink === true };
}

/** What a project adds to the node: sync jobs, public and private modules, disk need. */
export interface ProjectExpansion {
  sync: SyncModuleConfig[];
  publicModules: { name: string; path: string; comment: string }[];
  privateModules: { name: string; path: string; comment: string }[];
  diskNeedGiB: number;
}

/** The private module through which a tier-1 project hands a module to its tier 2s. */
function privateModuleName(module: string): string {
  return `${module}-tier`;
}

export function expandProject(project: ProjectConfig, nodeTier: 1 | 2): ProjectExpansion {
  const tier = projectTier(project, nodeTier);
  const source = projectSource(project);
  const upstream = (project.upstream ?? "rsync://unresolved-upstream-stack").replace(/\/+$/, "");
  const hardlinkSchedule = project.hardlink === false ? undefined : (project.hardlink?.schedule ?? (source.hardlink ? DEFAULT_HARDLINK_SCHEDULE : undefined));
  const sync = source.modules.map((m) =>
    // Through the job schema, so its defaults stay the only ones.
    SyncModuleSchema.parse({
      name: m.name,
      upstream: `${upstream}/${project.upstreamModules[m.name] ?? m.upstreamModule}/`,
      path: m.path,
      schedule: project.schedule ?? source.schedule[tier],
      randomizedDelaySeconds: project.randomizedDelaySeconds ?? TIER_SYNC_DEFAULTS[tier].randomizedDelaySeconds,
      ...(project.staleAfterSeconds !== undefined ? { staleAfterSeconds: project.staleAfterSeconds } : {}),
      ...(project.upstreamBusyWaitSeconds !== undefined ? { upstreamBusyWaitSeconds: project.upstreamBusyWaitSeconds } : {}),
      ...(project.upstreamBusyRetries !== undefined ? { upstreamBusyRetries: project.upstreamBusyRetries } : {}),
      excludes: [...source.excludes, ...project.excludes],
      ...(source.checkFile !== undefined ? { checkFile: source.checkFile } : {}),
      stages: source.stages,
      tier,
      project: projectName(project),
      ...(hardlinkSchedule !== undefined ? { hardlinkSchedule } : {}),
      ...(project.user !== undefined ? { user: project.user, password: project.password } : {}),
    }),
  );
  const publicModules = project.publicModule ? source.modules.map((m) => ({ name: m.name, path: m.path, comment: source.title })) : [];
  const privateModules =
    (project.privateModule ?? tier === 1)
      ? source.modules.map((m) => ({ name: privateModuleName(m.name), path: m.path, comment: `${source.title}, staged content included, for tier-2 mirrors` }))
      : [];
  const diskNeedGiB = project.diskNeedGiB ?? Math.ceil(source.modules.reduce((sum, m) => sum + m.diskNeedGiB, 0));
  return { sync, publicModules, privateModules, diskNeedGiB };
}

/** A node as written and validated, before its preset fills the sync jobs (a tier 2 resolves its upstream here). */
export type NodeBaseConfig = z.output<typeof NodeBaseSchema>;

/**
 * Expands the one-project shape (`distro`): sync jobs when none are given,
 * public rsync modules for a tier 1 when none are given. Kept as it was, so a
 * deployed single-distro node's jobs stay the same.
 */
function applyDistro(node: NodeBaseConfig): NodeBaseConfig {
  const d = node.distro;
  if (!d) return node;
  const preset = PRESETS[d.preset];
  const upstream = (d.upstream ?? "rsync://unresolved-upstream-stack").replace(/\/+$/, "");
  const sync =
    node.sync.length > 0
      ? node.sync
      : preset.modules.map((m) =>
          // Through the job schema, so its defaults stay the only ones.
          SyncModuleSchema.parse({
            name: m.name,
            upstream: `${upstream}/${d.upstreamModules[m.name] ?? `${m.upstreamModule}${d.moduleSuffix}`}/`,
            path: m.path,
            schedule: d.schedule ?? preset.schedule[node.tier],
            ...(d.randomizedDelaySeconds !== undefined ? { randomizedDelaySeconds: d.randomizedDelaySeconds } : {}),
            excludes: [...preset.excludes],
            ...("checkFile" in preset ? { checkFile: preset.checkFile } : {}),
            stages: preset.stages,
            ...(d.user !== undefined ? { user: d.user, password: d.password } : {}),
          }),
        );
  const modules =
    node.rsync.modules.length > 0 || node.tier !== 1
      ? node.rsync.modules
      : preset.modules.map((m) => ({ name: m.name, path: m.path, comment: preset.title }));
  return { ...node, sync, rsync: { ...node.rsync, modules }, diskNeedGiB: node.diskNeedGiB ?? preset.diskNeedGiB };
}

/** Adds each project's jobs and modules after those written by hand; the disk need is their sum. */
function applyProjects(node: NodeBaseConfig): NodeBaseConfig {
  if (node.projects.length === 0) return node;
  const parts = node.projects.map((p) => expandProject(p, node.tier));
  const privateModules = parts.flatMap((p) => p.privateModules);
  return {
    ...node,
    sync: [...node.sync, ...parts.flatMap((p) => p.sync)],
    rsync: {
      ...node.rsync,
      modules: [...node.rsync.modules, ...parts.flatMap((p) => p.publicModules)],
      private: node.rsync.private && { ...node.rsync.private, modules: [...node.rsync.private.modules, ...privateModules] },
    },
    diskNeedGiB: node.diskNeedGiB ?? parts.reduce((sum, p) => sum + p.diskNeedGiB, 0),
  };
}

/** The node's sync jobs and modules as they will be: hand-written, then the preset's or the projects'. */
export function expandNode(node: NodeBaseConfig): Omit<NodeBaseConfig, "diskNeedGiB"> & { diskNeedGiB: number } {
  const expanded = applyProjects(applyDistro(node));
  return { ...expanded, diskNeedGiB: expanded.diskNeedGiB ?? 100 };
}

/** The Docker runtime's daemon and image. */
export const DockerSchema = z
  .object({
    /** The Docker daemon: unix:///var/run/docker.sock, or ssh://root@host. */
    daemon: z.string().min(1).default("unix:///var/run/docker.sock"),
    /** Image name the kit builds from docker/Dockerfile. */
    image: z.string().min(1).default("mirrorkit/node:latest"),
  })
  .strict();

const NodeBaseSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "lower-case letters, digits and '-'"),
    tier: tierNumber.default(2),
    region: z.string().min(1).default("local"),
    host: HostSchema,
    mirrorRoot: absolutePath.refine((p) => !isSystemPath(p), "never the filesystem root or a system directory: the web server and public rsync serve this tree").default("/srv/mirror"),
    /** A distro preset: fills sync jobs (and tier-1 public modules) when left empty. */
    distro: z
      .object({
        preset: z.enum(PRESET_NAMES),
        /**
         * The upstream rsync server: rsync://host[:port] (tier 0 for a tier 1, a tier 1 for a
         * tier 2). Filled from `upstreamStack` when that is set.
         */
        upstream: rsyncServer.optional(),
        /** Appended to the preset's module names, e.g. "-tier" for a tier 1's private modules. */
        moduleSuffix: z.string().regex(/^[A-Za-z0-9._-]*$/, "letters, digits, '.', '_' or '-'").default(""),
        /** Per preset module, the upstream module to sync it from (e.g. a tier 1's private module). */
        upstreamModules: z.record(moduleName, moduleName).default({}),
        user: rsyncUser.optional(),
        password: z.string().min(1).optional(),
        /** The preset's sync jobs' OnCalendar= schedule; default the preset's, by tier. */
        schedule: calendar.optional(),
        /** Their RandomizedDelaySec=; default by tier. */
        randomizedDelaySeconds: startSpreadSeconds.optional(),
      })
      .strict()
      .refine((d) => (d.user === undefined) === (d.password === undefined), {
        message: "set both user and password, or neither",
        path: ["password"],
      })
      .optional(),
    /**
     * A tier 2's upstream: the tier-1 stack (a StackReference name) whose private
     * module it syncs from, and the tier user it authenticates as. Host, module
     * names and the password (a secret) come from that stack's outputs.
     */
    upstreamStack: UpstreamStackSchema.optional(),
    /**
     * The distributions the node carries, each with its own upstream, tier and
     * modules (the many-project shape; `distro` is the one-project shape).
     */
    projects: z.array(ProjectSchema).default([]),
    /** The name clients use (DNS); default host.address. */
    publicName: z.string().regex(/^[A-Za-z0-9.:-]+$/, "a host name or address").optional(),
    /** Free space the distro needs, for the size warning (GiB); default from the preset, else 100. */
    diskNeedGiB: z.number().int().min(1).optional(),
    volumes: z.array(VolumeSchema).default([]),
    accounts: AccountsSchema.prefault({}),
    /**
     * Fedora MirrorManager's report_mirror (guide 004: run it after every sync):
     * the kit writes its report_mirror.conf and makes it the post-sync hook
     * of the jobs that carry a category (unless a job has its own hook).
     */
    reportMirror: z
      .object({
        server: z.string().regex(/^https?:\/\/\S+$/, "an http(s) URL").default("https://mirrormanager.fedoraproject.org/xmlrpc"),
        /** The site and host as registered in MirrorManager. */
        site: z.string().regex(/^[^\n]+$/, "one line"),
        /** The site password; set it with `pulumi config set --secret`. */
        sitePassword: z.string().min(1),
        host: z.string().regex(/^[^\n]+$/, "one line"),
        /** MirrorManager category -> the sync job whose tree carries it, e.g. {"Fedora Linux": "fedora"}. */
        categories: z.record(z.string().regex(/^[^\]\n]+$/, "a category name"), moduleName),
        /** The report_mirror program (not packaged by Debian: install it, or give its path). */
        command: z.string().regex(/^[^\n]+$/, "one command").default("report_mirror"),
        /**
         * The host is registered in MirrorManager as a private mirror: the only
         * kind whose report_mirror it accepts (public mirrors are crawled).
         * Without it, `up` and `preview` warn.
         */
        registeredPrivate: z.boolean().default(false),
      })
      .strict()
      .optional(),
    /** Push-triggered sync: who may start this node's syncs, and whom it starts after its own. */
    push: PushSchema.prefault({}),
    web: WebSchema.prefault({}),
    rsync: RsyncSchema.prefault({}),
    sync: z.array(SyncModuleSchema).default([]),
    bitflips: z.array(BitflipSchema).default([]),
    /** Where the node runs: services on the host (systemd), or containers through Docker. */
    runtime: z.enum(["host", "docker"]).default("host"),
    docker: DockerSchema.optional(),
    /** Monitoring on the node. */
    monitoring: z
      .object({
        /**
         * Run Prometheus's node_exporter (Debian's prometheus-node-exporter) under the kit's
         * own unit, with the sync metrics directory as its textfile directory. `listen` is
         * address:port, e.g. "10.0.0.5:9100", or ":9100" for every address (no default:
         * what it exposes is the operator's choice).
         */
        nodeExporter: z
          .object({ listen: z.string().regex(/^([0-9.]+|\[[0-9A-Fa-f:.]+\])?:\d{1,5}$/, 'address:port, ":port" or "[v6]:port"') })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
    /** A directory of template overrides, relative to the project: <dir>/<name> replaces templates/<name>. */
    templateDir: z.union([relativePath, absolutePath], { error: "a directory inside the project (relative, without '..') or an absolute path" }).optional(),
  })
  .strict()
  .superRefine((node, ctx) => {
    const { mirror, http, rsync, tier, push } = node.accounts;
    const users: [string, string][] = [
      ["mirror", mirror.user],
      ["http", http.user],
      ["rsync", rsync.user],
      ["tier", tier.user],
      ["push", push.user],
    ];
    for (let i = 0; i < users.length; i++) {
      for (let j = i + 1; j < users.length; j++) {
        if (users[i][1] === users[j][1]) {
          ctx.addIssue({
            code: "custom",
            path: ["accounts", users[j][0], "user"],
            message: `must differ from accounts.${users[i][0]}.user ("${users[i][1]}"): the sync, web and rsync identities are separate`,
          });
        }
      }
    }
    for (const role of ["http", "rsync"] as const) {
      if (node.accounts[role].group === mirror.group) {
        ctx.addIssue({
          code: "custom",
          path: ["accounts", role, "group"],
          message: `must not be the mirror group "${mirror.group}": that would expose staged 0750 content`,
        });
      }
    }
    for (const [role, user] of users) {
      if (user === "root") {
        ctx.addIssue({ code: "custom", path: ["accounts", role, "user"], message: "must not be root" });
      }
    }
    // Groups are checked like users: a service in group root reads what root's group may.
    for (const role of ["mirror", "http", "rsync"] as const) {
      if (node.accounts[role].group === "root") {
        ctx.addIssue({ code: "custom", path: ["accounts", role, "group"], message: "must not be root" });
      }
    }

    // Every listening port is distinct.
    const ports: [string[], number][] = [
      [["web", "httpPort"], node.web.httpPort],
      [["rsync", "port"], node.rsync.port],
    ];
    // With web.acme the HTTPS port is its own (web.tls is derived from it).
    if (node.web.tls) ports.push([node.web.acme ? ["web", "acme", "httpsPort"] : ["web", "tls", "httpsPort"], node.web.tls.httpsPort]);
    if (node.rsync.private) ports.push([["rsync", "private", "port"], node.rsync.private.port]);
    if (node.projects.some((p) => p.push)) ports.push([["rsync", "pushPort"], node.rsync.pushPort]);
    for (let i = 0; i < ports.length; i++) {
      for (let j = 0; j < i; j++) {
        if (ports[i][1] === ports[j][1]) {
          ctx.addIssue({
            code: "custom",
            path: ports[i][0],
            message: `port ${ports[i][1]} is already used by ${ports[j][0].join(".")}`,
          });
        }
      }
    }

    const unique = (items: { name: string }[], path: string[], what: string) => {
      const seen = new Set<string>();
      items.forEach((item, index) => {
        if (seen.has(item.name)) {
          ctx.addIssue({ code: "custom", path: [...path, index, "name"], message: `duplicate ${what} name "${item.name}"` });
        }
        seen.add(item.name);
      });
    };
    unique(node.rsync.modules, ["rsync", "modules"], "module");
    if (node.rsync.private) {
      unique(node.rsync.private.modules, ["rsync", "private", "modules"], "module");
      node.rsync.private.hostsAllow.forEach((h, index) => {
        if (coversEveryone(h)) {
          ctx.addIssue({
            code: "custom",
            path: ["rsync", "private", "hostsAllow", index],
            message: `"${h}" opens the private module to everyone; list the downstream mirrors`,
          });
        }
      });
      const publicNames = new Set(node.rsync.modules.map((m) => m.name));
      node.rsync.private.modules.forEach((m, index) => {
        if (publicNames.has(m.name)) {
          ctx.addIssue({
            code: "custom",
            path: ["rsync", "private", "modules", index, "name"],
            message: `"${m.name}" is also a public module name`,
          });
        }
      });
    }
    // A project that failed its own checks has its problems reported already; it adds nothing here.
    const expansions = node.projects.map((p) => {
      try {
        return expandProject(p, node.tier);
      } catch {
        return undefined;
      }
    });
    if (node.projects.length > 0) {
      if (node.distro) {
        ctx.addIssue({ code: "custom", path: ["distro"], message: `set projects or distro, not both: write it as projects: [{ preset: "${node.distro.preset}", upstream: ... }]` });
      }
      if (node.upstreamStack) {
        ctx.addIssue({ code: "custom", path: ["upstreamStack"], message: "with projects, each tier-2 project names its own upstreamStack (projects[].upstreamStack)" });
      }
      const names = new Map<string, number>();
      node.projects.forEach((p, index) => {
        const key = projectName(p);
        const first = names.get(key);
        if (first !== undefined) ctx.addIssue({ code: "custom", path: ["projects", index, "name"], message: `projects[${first}] is already named "${key}"; give this one a name of its own` });
        else names.set(key, index);
        p.push?.hostsAllow.forEach((h, i) => {
          if (coversEveryone(h)) ctx.addIssue({ code: "custom", path: ["projects", index, "push", "hostsAllow", i], message: `"${h}" lets everyone write into the tree; list the upstream's push hosts` });
        });
        if ((expansions[index]?.privateModules.length ?? 0) > 0 && !node.rsync.private) {
          ctx.addIssue({
            code: "custom",
            path: ["projects", index, "privateModule"],
            message: `a tier-1 project offers its modules to tier 2s on the private daemon: set rsync.private (port, hostsAllow, users), or privateModule: false`,
          });
        }
      });
      if (node.runtime === "docker") ctx.addIssue({ code: "custom", path: ["projects"], message: `not supported by runtime "docker" (they fill sync jobs; use runtime "host")` });
    }
    // Jobs and modules as the projects make them, each named where it was written.
    const projectJobs = expansions.flatMap((e, index) => (e?.sync ?? []).map((job) => ({ job, at: ["projects", index, "modules"] as PropertyKey[] })));
    const allJobs = [...node.sync.map((job, index) => ({ job, at: ["sync", index] as PropertyKey[] })), ...projectJobs];
    const projectModules = expansions.flatMap((e, index) => (e?.publicModules ?? []).map((m) => ({ name: m.name, at: ["projects", index, "publicModule"] as PropertyKey[] })));
    const projectPrivate = expansions.flatMap((e, index) => (e?.privateModules ?? []).map((m) => ({ name: m.name, at: ["projects", index, "privateModule"] as PropertyKey[] })));
    const duplicates = (items: { name: string; at: PropertyKey[] }[], taken: Set<string>, what: string) => {
      for (const item of items) {
        if (taken.has(item.name)) ctx.addIssue({ code: "custom", path: item.at, message: `makes ${what} "${item.name}", which the node already has` });
        taken.add(item.name);
      }
    };
    duplicates(projectJobs.map(({ job, at }) => ({ name: job.name, at })), new Set(node.sync.map((j) => j.name)), "sync job");
    duplicates(projectModules, new Set(node.rsync.modules.map((m) => m.name)), "public rsync module");
    duplicates(projectPrivate, new Set(node.rsync.private?.modules.map((m) => m.name) ?? []), "private rsync module");
    if (node.rsync.private && node.rsync.private.modules.length === 0 && projectPrivate.length === 0) {
      ctx.addIssue({ code: "custom", path: ["rsync", "private", "modules"], message: "at least one private module (write one, or carry a tier-1 project)" });
    }
    // Two jobs writing one tree, or one inside another's, delete each other's files.
    allJobs.forEach(({ job, at }, index) => {
      const mine = job.path.replace(/\/+$/, "");
      // A hand-written job's path field; a project's modules choice.
      const where = at[0] === "sync" ? [...at, "path"] : at;
      allJobs.slice(0, index).forEach(({ job: other }) => {
        const theirs = other.path.replace(/\/+$/, "");
        if (mine === theirs) ctx.addIssue({ code: "custom", path: where, message: `sync job "${other.name}" already writes to "${job.path}"` });
        else if (mine.startsWith(`${theirs}/`) || theirs.startsWith(`${mine}/`)) {
          ctx.addIssue({ code: "custom", path: where, message: `"${job.path}" and sync job "${other.name}"'s "${other.path}" nest: each run would delete the other's files` });
        }
      });
    });
    if (node.upstreamStack && !node.distro) {
      ctx.addIssue({ code: "custom", path: ["upstreamStack"], message: "needs distro.preset: the preset names the modules to sync" });
    }
    if (node.distro && node.distro.upstream === undefined && !node.upstreamStack && node.sync.length === 0) {
      ctx.addIssue({ code: "custom", path: ["distro", "upstream"], message: "set distro.upstream, or upstreamStack for a tier 2" });
    }
    if (node.upstreamStack && node.tier !== 2) {
      ctx.addIssue({ code: "custom", path: ["upstreamStack"], message: "only a tier 2 syncs from a tier-1 stack" });
    }
    if (node.runtime === "docker") {
      // Containers serve the tree; syncing and disks stay with the host runtime.
      for (const key of ["sync", "bitflips", "volumes"] as const) {
        if (node[key].length > 0) {
          ctx.addIssue({ code: "custom", path: [key], message: `not supported by runtime "docker" (use runtime "host")` });
        }
      }
      if (node.distro) ctx.addIssue({ code: "custom", path: ["distro"], message: `not supported by runtime "docker" (it fills sync jobs)` });
      if (node.monitoring?.nodeExporter) {
        ctx.addIssue({ code: "custom", path: ["monitoring", "nodeExporter"], message: `not supported by runtime "docker" (use runtime "host")` });
      }
      if (node.web.acme) {
        ctx.addIssue({ code: "custom", path: ["web", "acme"], message: `not supported by runtime "docker" (its renewal timer runs on the host; use runtime "host", or web.tls)` });
      }
      // Pushes start syncs, which only the host runtime runs.
      if (node.push.authorizedKeys.length > 0 || node.push.downstreams.length > 0) {
        ctx.addIssue({ code: "custom", path: ["push"], message: `not supported by runtime "docker" (pushes start syncs; use runtime "host")` });
      }
    }
    if (node.reportMirror) {
      const categories = Object.entries(node.reportMirror.categories);
      if (categories.length === 0) ctx.addIssue({ code: "custom", path: ["reportMirror", "categories"], message: "name at least one category and its sync job" });
      const jobs = new Set([...allJobs.map(({ job }) => job.name), ...(node.distro ? PRESETS[node.distro.preset].modules.map((m) => m.name) : [])]);
      for (const [category, job] of categories) {
        if (!jobs.has(job)) {
          ctx.addIssue({ code: "custom", path: ["reportMirror", "categories", category], message: `"${job}" is not one of this node's sync jobs` });
        }
      }
    }
    unique(node.sync, ["sync"], "sync module");
    unique(node.bitflips, ["bitflips"], "bitflip");
    unique(node.volumes, ["volumes"], "volume");
    const devices = new Set<string>();
    node.volumes.forEach((v, index) => {
      if (devices.has(v.device)) {
        ctx.addIssue({ code: "custom", path: ["volumes", index, "device"], message: `device ${v.device} is used by another volume` });
      }
      devices.add(v.device);
      const first = node.volumes.findIndex((o) => o.mountPoint.replace(/\/+$/, "") === v.mountPoint.replace(/\/+$/, ""));
      if (first < index) {
        ctx.addIssue({ code: "custom", path: ["volumes", index, "mountPoint"], message: `volumes[${first}] is already mounted at ${v.mountPoint}` });
      }
      if (v.mountPoint !== node.mirrorRoot && !v.mountPoint.startsWith(`${node.mirrorRoot}/`)) {
        ctx.addIssue({
          code: "custom",
          path: ["volumes", index, "mountPoint"],
          message: `must be mirrorRoot (${node.mirrorRoot}) or below it`,
        });
      }
    });
    if (node.volumes.length > 0 && !node.volumes.some((v) => v.mountPoint === node.mirrorRoot)) {
      ctx.addIssue({ code: "custom", path: ["volumes"], message: `one volume must be mounted at mirrorRoot (${node.mirrorRoot})` });
    }
  });

/** The report path MirrorManager's client reads. */
export { REPORT_MIRROR_CONF };

/** report_mirror becomes the post-sync hook of the jobs that carry a category. */
function withReportMirror<T extends { sync: SyncModuleConfig[]; reportMirror?: { command: string; categories: Record<string, string> } }>(node: T): T {
  const rm = node.reportMirror;
  if (!rm) return node;
  const reporting = new Set(Object.values(rm.categories));
  return {
    ...node,
    sync: node.sync.map((j) => (reporting.has(j.name) && j.postHook === undefined ? { ...j, postHook: `${rm.command} -c ${REPORT_MIRROR_CONF}` } : j)),
  };
}

/**
 * A sync job's staleness threshold, and a hand-written job's schedule and timer spread, when it sets none, by
 * the node's tier: tier 1 several times an hour, tier 2 hourly (Parabola,
 * Fedora guides) (a preset's jobs take the preset's). Applied when the job's
 * model is made, not written into the job: a deployed job's inputs stay as
 * they were.
 */
export const TIER_SYNC_DEFAULTS: Record<1 | 2, { schedule: string; randomizedDelaySeconds: number; staleAfterSeconds: number }> = {
  1: { schedule: "*:0/15", randomizedDelaySeconds: 60, staleAfterSeconds: 2 * 3600 },
  2: { schedule: "*:05", randomizedDelaySeconds: 300, staleAfterSeconds: 6 * 3600 },
};

/** What a validated node becomes: its preset's jobs and modules, report_mirror as their hook, the Docker runtime's settings. */
export function completeNode(node: NodeBaseConfig) {
  const complete = withReportMirror(expandNode(node));
  return complete.runtime === "docker" && complete.docker === undefined ? { ...complete, docker: DockerSchema.parse({}) } : complete;
}

export const NodeConfigSchema = NodeBaseSchema.transform(completeNode);

export type HostConfig = z.output<typeof HostSchema>;
export type AccountsConfig = z.output<typeof AccountsSchema>;
export type WebConfig = z.output<typeof WebSchema>;
export type AcmeConfig = z.output<typeof AcmeSchema>;
export type RsyncConfig = z.output<typeof RsyncSchema>;
export type PrivateRsyncConfig = z.output<typeof PrivateRsyncSchema>;
export type SyncModuleConfig = z.output<typeof SyncModuleSchema>;
export type BitflipConfig = z.output<typeof BitflipSchema>;
export type VolumeConfig = z.output<typeof VolumeSchema>;
export type PushConfig = z.output<typeof PushSchema>;
export type NodeConfig = z.output<typeof NodeConfigSchema>;

/** A stack config that failed validation; the message names every bad field. */
export class ConfigError extends Error {
  constructor(
    readonly key: string,
    readonly problems: { path: string; message: string }[],
  ) {
    super(
      `invalid stack config "${key}":\n` + problems.map((p) => `  - ${p.path}: ${p.message}`).join("\n"),
    );
    this.name = "ConfigError";
  }
}

/** A field's path as an operator writes it: `a.b[0]`, and `a["Fedora EPEL"]` for a key that is not a plain name. */
export function describePath(key: string, path: PropertyKey[]): string {
  return [key, ...path.map((p) => (typeof p === "number" ? `[${p}]` : /^[A-Za-z_][\w-]*$/.test(String(p)) ? String(p) : `[${JSON.stringify(String(p))}]`))]
    .join(".")
    .replace(/\.\[/g, "[");
}

/** Fields whose value is multi-line by nature (a PEM key); every other string is one line. */
const MULTILINE_FIELDS = new Set(["host.privateKey", "web.acme.directoryCaCertificate"]);

/** C0 and C1 controls, DEL, and Unicode's line and paragraph separators. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

function controlName(c: string): string {
  const named: Record<string, string> = { "\n": "a newline (\\n)", "\r": "a carriage return (\\r)", "\t": "a tab (\\t)", "\0": "a NUL byte" };
  return named[c] ?? `the control character U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}`;
}

/**
 * Every string of the raw config, wherever it will be rendered (a shell
 * script, rsyncd.conf, a unit file, JSON, HTML), is refused when it holds a
 * control character: a newline or carriage return there starts a new line,
 * i.e. a new command, module or directive. Checked on the raw input, before
 * the schema, so no field and no preset or stack-reference value escapes it.
 */
function controlCharacterProblems(raw: unknown, key: string): { path: string; message: string }[] {
  const problems: { path: string; message: string }[] = [];
  const walk = (value: unknown, at: PropertyKey[]) => {
    if (typeof value === "string") {
      const c = CONTROL.exec(value)?.[0];
      const field = at.filter((p) => typeof p === "string").join(".");
      if (c !== undefined && !MULTILINE_FIELDS.has(field)) {
        problems.push({ path: describePath(key, at), message: `holds ${controlName(c)}; control characters are not allowed in stack config values` });
      }
    } else if (Array.isArray(value)) {
      value.forEach((v, i) => walk(v, [...at, i]));
    } else if (typeof value === "object" && value !== null) {
      for (const [k, v] of Object.entries(value)) {
        if (CONTROL.test(k)) problems.push({ path: describePath(key, at), message: `a key holds ${controlName(CONTROL.exec(k)![0])}` });
        walk(v, [...at, k]);
      }
    }
  };
  walk(raw, []);
  return problems;
}

/** Parses raw stack config (as read from Pulumi config) into a NodeConfig. */
export function parseNodeConfig(raw: unknown, key = "mirrorkit:node"): NodeConfig {
  return completeNode(parseNodeBase(raw, key));
}

/** Validates a node as written (every problem named, as parseNodeConfig), without completing it. */
export function parseNodeBase(raw: unknown, key = "mirrorkit:node"): NodeBaseConfig {
  const controls = controlCharacterProblems(raw, key);
  const result = NodeBaseSchema.safeParse(raw);
  if (result.success && controls.length === 0) return result.data;
  const schemaProblems = result.success ? [] : result.error.issues.map((issue) => ({ path: describePath(key, issue.path), message: issue.message }));
  // One problem per field: the control character is the one to fix first.
  const flagged = new Set(controls.map((p) => p.path));
  throw new ConfigError(key, [...controls, ...schemaProblems.filter((p) => !flagged.has(p.path))]);
}

const REDACTED = "[secret]";

/**
 * The config with every secret value replaced, for component args (which
 * reach the state and policies in plain text).
 */
export function redactSecrets(node: NodeConfig): NodeConfig {
  return {
    ...node,
    host: { ...node.host, privateKey: node.host.privateKey === undefined ? undefined : REDACTED },
    rsync: {
      ...node.rsync,
      private: node.rsync.private && {
        ...node.rsync.private,
        users: node.rsync.private.users.map((u) => ({ ...u, password: REDACTED })),
      },
    },
    sync: node.sync.map((s) => ({ ...s, password: s.password === undefined ? undefined : REDACTED })),
    distro: node.distro && { ...node.distro, password: node.distro.password === undefined ? undefined : REDACTED },
    projects: node.projects.map((p) => ({
      ...p,
      password: p.password === undefined ? undefined : REDACTED,
      push: p.push && { ...p.push, users: p.push.users.map((u) => ({ ...u, password: REDACTED })) },
    })),
    reportMirror: node.reportMirror && { ...node.reportMirror, sitePassword: REDACTED },
  };
}

/**
 * What a valid config may still get wrong, said as warnings (the config is
 * accepted; the operator decides).
 */
export function configWarnings(node: NodeConfig): string[] {
  const warnings: string[] = [];
  if (node.reportMirror && !node.reportMirror.registeredPrivate) {
    warnings.push(
      "reportMirror: MirrorManager accepts report_mirror only from mirrors registered as private; this node serves the public " +
        "(HTTP" + (node.rsync.modules.length > 0 ? " and rsync" : "") + "), and a public mirror is found by MirrorManager's crawler instead. " +
        "Remove reportMirror, or set reportMirror.registeredPrivate: true if the host is registered as private.",
    );
  }
  return warnings;
}
