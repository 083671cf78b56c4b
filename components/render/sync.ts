// The sync job of one upstream module: script (with its excludes), service and timer.
import type { NodeConfig, SyncModuleConfig } from "../config";
import { sq } from "../shell";
import { renderServiceUnit, renderTimerUnit } from "./systemd";
import { KIT_TEMPLATES, type Templates } from "./templates";
import { TIER_SYNC_DEFAULTS } from "../config";
import { HEADER } from "./systemd";
import { KIT_VERSION } from "../version";
import { PUSH_KEY_PATH, pushModel } from "./push";
import { METRICS_DIR, STATUS_DIR, STATUS_URL_PATH, syncPaths } from "../../plan/paths";

/** The flags the mirror guides require (Fedora, Parabola, openSUSE). */
export const RSYNC_SYNC_FLAGS = [
  "-rtlpH",
  "--safe-links",
  "--numeric-ids",
  "--delete-after",
  "--delay-updates",
  "--no-motd",
  "--timeout=600",
  "--contimeout=60",
] as const;

/** A job's rsync flags: the required ones, its deletion guard, no-delete mode and bandwidth limit. */
export function syncFlags(job: SyncModuleConfig): string[] {
  const flags: string[] = RSYNC_SYNC_FLAGS.filter((f) => !(job.noDelete && f === "--delete-after"));
  if (!job.noDelete) flags.push(`--max-delete=${job.maxDelete}`);
  if (job.bandwidthLimitKiB > 0) flags.push(`--bwlimit=${job.bandwidthLimitKiB}`);
  return flags;
}

/**
 * What the first pass of a two-stage sync leaves for the second: the indices
 * that name packages (Debian's ftpsync stage 1 excludes; RPM's repodata).
 */
export const INDEX_PATTERNS: Record<"debian" | "rpm", readonly string[]> = {
  debian: ["Packages*", "Sources*", "Release*", "InRelease", "Contents-*", "Translation-*", "i18n/", "dep11/", "ls-lR*"],
  rpm: ["repodata/"],
};

/** The first pass's flags: the job's, without deletions; the indices excluded. */
export function stageOneFlags(job: SyncModuleConfig): string[] {
  if (job.stages === "single") return [];
  return [...syncFlags({ ...job, noDelete: true }).filter((f) => !f.startsWith("--max-delete")), ...INDEX_PATTERNS[job.stages].map((p) => `--exclude=${sq(p)}`)];
}

/**
 * RPM's middle stage: the new hashed metadata files (repodata/<hash>-*.xml.gz),
 * still without repomd.xml (and its signature), which names them, and without
 * deletions. After it, swapping repomd.xml never names a file not yet here.
 */
export function metadataStageFlags(job: SyncModuleConfig): string[] {
  if (job.stages !== "rpm") return [];
  return [...syncFlags({ ...job, noDelete: true }).filter((f) => !f.startsWith("--max-delete")), `--exclude=${sq("repomd.xml*")}`];
}

export { METRICS_DIR };

/** rsync's own temp dirs are never copied from upstream. */
export const ALWAYS_EXCLUDED = [
  ".~tmp~/",
  // Upstream's "update under way" marker is not copied, and this node's own
  // (a trace job writes one while it syncs) is not deleted by the transfer.
  "/Archive-Update-in-Progress-*",
];

export interface SyncModel {
  job: SyncModuleConfig;
  tier: 1 | 2;
  dest: string;
  user: string;
  group: string;
  unitName: string;
  timerName: string;
  scriptPath: string;
  passwordPath: string;
  stateDir: string;
  metricsFile: string;
  /** The data volume the destination lives on ("" without volumes). */
  mountPoint: string;
  /** The timer's OnCalendar= expression. */
  schedule: string;
  /** Age of the last success past which the job is stale (exported for the alert rules). */
  staleAfterSeconds: number;
  /** The node's status page directory (shared by all jobs). */
  statusDir: string;
  /** The project the job belongs to, and that project's jobs (its status JSON lists them). */
  project: string;
  projectJobs: string[];
  /** Downstream nodes to push after a successful run. */
  pushTargets: { host: string; port: number; user: string }[];
  /** The push trigger this node's upstream rewrites ("" when nothing may push it). */
  pushTriggerFile: string;
}

export function syncModel(node: NodeConfig, job: SyncModuleConfig): SyncModel {
  const paths = syncPaths(job.name);
  const tier = job.tier ?? node.tier;
  const project = job.project ?? job.name;
  return {
    job,
    tier,
    dest: `${node.mirrorRoot}/${job.path}`.replace(/\/+$/, ""),
    user: node.accounts.mirror.user,
    group: node.accounts.mirror.group,
    unitName: paths.unitName,
    timerName: paths.timerName,
    scriptPath: paths.scriptPath,
    passwordPath: paths.passwordPath,
    stateDir: paths.stateDir,
    metricsFile: paths.metricsFile,
    mountPoint: volumeOf(node, `${node.mirrorRoot}/${job.path}`),
    schedule: job.schedule ?? TIER_SYNC_DEFAULTS[tier].schedule,
    staleAfterSeconds: job.staleAfterSeconds ?? TIER_SYNC_DEFAULTS[tier].staleAfterSeconds,
    statusDir: STATUS_DIR,
    project,
    projectJobs: node.sync.filter((j) => (j.project ?? j.name) === project).map((j) => j.name),
    pushTargets: node.push.downstreams,
    pushTriggerFile: pushModel(node)?.triggerFile ?? "",
  };
}

/** The mount point of the volume holding `p`: the longest mount point that contains it. */
function volumeOf(node: NodeConfig, p: string): string {
  return node.volumes
    .map((v) => v.mountPoint)
    .filter((mp) => p === mp || p.startsWith(`${mp}/`))
    .sort((a, b) => b.length - a.length)[0] ?? "";
}

/** The upstream URL with the user (if any) in it; never the password. */
export function upstreamUrl(job: SyncModuleConfig): string {
  const url = job.upstream.endsWith("/") ? job.upstream : `${job.upstream}/`;
  return job.user ? url.replace(/^rsync:\/\//, `rsync://${job.user}@`) : url;
}

export function renderSyncScript(m: SyncModel, t: Templates = KIT_TEMPLATES): string {
  const auth = m.job.password !== undefined ? `--password-file=${m.passwordPath}` : "";
  return t.render("sync/mirror-sync.sh.hbs", {
    header: HEADER,
    name: m.job.name,
    upstreamDisplay: upstreamUrl(m.job),
    upstreamQ: sq(upstreamUrl(m.job)),
    dest: m.dest,
    destQ: sq(m.dest),
    unitName: m.unitName,
    user: m.user,
    stateDirQ: sq(m.stateDir),
    statusDirQ: sq(m.statusDir),
    nameQ: sq(m.job.name),
    upstreamShownQ: sq(upstreamUrl(m.job)),
    nameJsonQ: sq(JSON.stringify(m.job.name)),
    upstreamJsonQ: sq(JSON.stringify(upstreamUrl(m.job))),
    nameHtmlQ: sq(escapeHtml(m.job.name)),
    upstreamHtmlQ: sq(escapeHtml(upstreamUrl(m.job))),
    nameLabelQ: sq(prometheusLabel(m.job.name)),
    projectQ: sq(m.project),
    projectJsonQ: sq(JSON.stringify(m.project)),
    projectHtmlQ: sq(escapeHtml(m.project)),
    projectLabelQ: sq(prometheusLabel(m.project)),
    projectJobsQ: sq(m.projectJobs.join(" ")),
    authArgs: sq(auth),
    checkFile: m.job.checkFile ?? "",
    checkFileQ: sq(m.job.checkFile ?? ""),
    rsyncFlags: syncFlags(m.job).join(" "),
    stages: m.job.stages === "single" ? "" : m.job.stages,
    stageOneFlags: stageOneFlags(m.job).join(" "),
    metadataStageFlags: metadataStageFlags(m.job).join(" "),
    stageCount: m.job.stages === "rpm" ? 3 : 2,
    schedule: m.schedule,
    scheduleQ: sq(m.schedule),
    statusDir: m.statusDir,
    statusUrlPath: STATUS_URL_PATH,
    pushTargets: m.pushTargets.map((t) => sq(`${t.user}@${t.host}:${t.port}`)).join(" "),
    pushKeyQ: sq(PUSH_KEY_PATH),
    pushTriggerFile: m.pushTriggerFile,
    pushTriggerFileQ: sq(m.pushTriggerFile),
    metricsFileQ: sq(m.metricsFile),
    staleAfterSeconds: m.staleAfterSeconds,
    mountPoint: m.mountPoint,
    mountPointQ: sq(m.mountPoint),
    retries: m.job.retries,
    retryDelaySeconds: m.job.retryDelaySeconds,
    maxDelete: m.job.maxDelete,
    trace: m.job.trace,
    // ftpsync's "update under way" marker is a Debian-archive convention.
    marksUpdates: m.job.stages === "debian",
    busyWaitSeconds: m.job.upstreamBusyWaitSeconds,
    busyRetries: m.job.upstreamBusyRetries,
    kitVersion: KIT_VERSION,
    excludePatternsQ: syncExcludePatterns(m).map(sq).join(" "),
    postHook: m.job.postHook ?? "",
    postHookQ: sq(m.job.postHook ?? ""),
  });
}

/** Text for HTML element content or an attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A Prometheus label value, quoted (text format: backslash, quote and newline escaped). */
export function prometheusLabel(value: string): string {
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
}

/** What the job never copies: rsync's own temp dirs and markers, then the job's excludes. */
export function syncExcludePatterns(m: SyncModel): string[] {
  return [...ALWAYS_EXCLUDED, ...m.job.excludes];
}

export function renderSyncService(m: SyncModel, t: Templates = KIT_TEMPLATES): string {
  return renderServiceUnit({
    description: `mirrorkit sync of ${m.job.name} from ${upstreamUrl(m.job)}`,
    unit: ["After=network-online.target", "Wants=network-online.target", `RequiresMountsFor=${m.dest}`],
    service: [
      "Type=oneshot",
      `User=${m.user}`,
      `Group=${m.group}`,
      `ExecStart=${m.scriptPath}`,
      // However the run ended (stopped, timed out, killed, out of memory),
      // the script writes a true status from systemd's view of it.
      `ExecStopPost=${m.scriptPath} --after`,
      `StateDirectory=${[m.stateDir, METRICS_DIR, m.statusDir].map((d) => d.replace(/^\/var\/lib\//, "")).join(" ")}`,
      `ReadWritePaths=${m.dest}`,
      // Low priority: the node keeps serving while it syncs.
      "Nice=10",
      "IOSchedulingClass=idle",
      "CPUSchedulingPolicy=batch",
      // No time limit unless the operator sets one: a first sync of a large
      // tree may take days; rsync's own --timeout ends a hung transfer.
      `TimeoutStartSec=${m.job.timeoutSeconds ?? "infinity"}`,
      "CapabilityBoundingSet=",
      "PrivateUsers=yes",
      "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
    ],
  }, t);
}

export function renderSyncTimer(m: SyncModel, t: Templates = KIT_TEMPLATES): string {
  return renderTimerUnit({
    description: `mirrorkit sync of ${m.job.name}: schedule`,
    timer: [
      `OnCalendar=${m.schedule}`,
      `RandomizedDelaySec=${m.job.randomizedDelaySeconds ?? TIER_SYNC_DEFAULTS[m.tier].randomizedDelaySeconds}`,
      "Persistent=true",
      `Unit=${m.unitName}`,
    ],
  }, t);
}
