// One plan of the node: every file it has, every unit it runs, the
// directories and packages it needs, computed from its config alone. The
// host runtime (MirrorNode) delivers it, the Docker runtime uploads the
// files its containers read, `npm run render` writes it, and the tests hold
// each of them to it. No @pulumi imports: a pure function of the config.
import type { NodeConfig } from "../components/config";
import { bitflipModel } from "../components/render/bitflip";
import { pushModel } from "../components/render/push";
import { renderReportMirrorConf, reportMirrorModel } from "../components/render/report-mirror";
import { rsyncdModels } from "../components/render/rsync";
import { syncModel } from "../components/render/sync";
import type { Templates } from "../components/render/templates";
import { NODE_EXPORTER_UNIT, renderNodeExporterUnit } from "../components/render/node-exporter";
import { planBitflip, type BitflipPlan } from "./bitflip";
import { SECRET_VALUE_PLACEHOLDER, unitFile, type PlannedDirectory, type PlannedFile, type PlannedUnit } from "./files";
import { planPushTrigger, type PushPlan } from "./push";
import { planRsyncDaemon, type RsyncdPlan } from "./rsyncd";
import { planSyncJob, type SyncPlan } from "./sync";
import { planVolume, planVolumeMetrics, type VolumePlan } from "./volume";
import { planWebServer, type WebPlan } from "./web";
import { KIT_CONFIG_DIR, KIT_INCOMING_DIR, KIT_STATE_DIR } from "./paths";

/** Debian packages each web server choice needs. */
export const WEB_PACKAGES: Record<NodeConfig["web"]["server"], string[]> = {
  nginx: ["nginx-light", "libnginx-mod-http-js"],
  apache: ["apache2", "libapache2-mod-qos", "libpcre3"],
};

/** Debian packages that unpack RPM metadata (gzip is always there). */
export const RPM_METADATA_TOOLS = ["zstd", "xz-utils", "bzip2"];

export function nodePackages(node: NodeConfig): string[] {
  // logrotate for the web server's logs.
  const packages = new Set([...WEB_PACKAGES[node.web.server], "rsync", "logrotate"]);
  if (node.volumes.some((v) => v.fsType === "xfs")) packages.add("xfsprogs");
  // RPM syncs read primary lists, which upstreams compress with any of these.
  if (node.sync.some((job) => job.stages === "rpm")) for (const p of RPM_METADATA_TOOLS) packages.add(p);
  if (node.monitoring?.nodeExporter) packages.add("prometheus-node-exporter");
  // ACME client; openssl makes the placeholder and reads expiry dates.
  if (node.web.acme) for (const p of ["lego", "openssl"]) packages.add(p);
  return [...packages];
}

/** The kit's own directories on every host: its records, its config, its staging area (root's alone). */
export const KIT_DIRECTORIES: PlannedDirectory[] = [
  { path: KIT_STATE_DIR, owner: "root", group: "root", mode: "0755" },
  { path: KIT_CONFIG_DIR, owner: "root", group: "root", mode: "0755" },
  { path: KIT_INCOMING_DIR, owner: "root", group: "root", mode: "0700" },
];

export interface NodePlan {
  packages: string[];
  /** The tree every service serves or fills. */
  tree: PlannedDirectory;
  volumes: VolumePlan[];
  /** The volumes as a metric, for the alert rules (when the node has volumes). */
  volumeMetrics?: PlannedFile;
  web: WebPlan;
  rsyncd: RsyncdPlan[];
  /** The MirrorManager client config (holds the site password: a secret file). */
  reportMirror?: PlannedFile;
  /** Present when an upstream may push this node. */
  push?: PushPlan;
  /** node_exporter, when monitoring.nodeExporter is set. */
  nodeExporter?: PlannedUnit;
  sync: SyncPlan[];
  bitflips: BitflipPlan[];
  /** Every file of the node, unit files included: the one list. */
  files: PlannedFile[];
  units: PlannedUnit[];
  directories: PlannedDirectory[];
}

export function planNode(node: NodeConfig, t: Templates): NodePlan {
  const push = pushModel(node);
  const report = reportMirrorModel(node);
  const plan = {
    packages: nodePackages(node),
    tree: { path: node.mirrorRoot, owner: node.accounts.mirror.user, group: node.accounts.mirror.group, mode: "0755" },
    volumes: node.volumes.map((v) => planVolume(v, t)),
    volumeMetrics: planVolumeMetrics(node.volumes, node.accounts.mirror),
    web: planWebServer(
      { web: node.web, accounts: node.accounts, mirrorRoot: node.mirrorRoot, serverName: node.publicName ?? node.host.address, volumes: node.volumes },
      t,
    ),
    rsyncd: rsyncdModels(node).map((m) => planRsyncDaemon(m, t)),
    ...(report
      ? {
          reportMirror: {
            key: "report-mirror",
            path: report.path,
            content: renderReportMirrorConf(report, SECRET_VALUE_PLACEHOLDER, t),
            // The mirror account, which runs the hook, reads it.
            mode: "0640",
            owner: "root",
            group: report.group,
            secret: true as const,
          },
        }
      : {}),
    ...(push ? { push: planPushTrigger(push, t) } : {}),
    ...(node.monitoring?.nodeExporter
      ? {
          nodeExporter: {
            key: "node-exporter",
            unitName: NODE_EXPORTER_UNIT,
            content: renderNodeExporterUnit(node.monitoring.nodeExporter.listen, t),
            activation: "start" as const,
            onConfigChange: "restart" as const,
            masks: ["prometheus-node-exporter.service"],
          },
        }
      : {}),
    sync: node.sync.map((job) => planSyncJob(syncModel(node, job), push, t)),
    bitflips: node.bitflips.map((flip) => planBitflip(bitflipModel(node, flip), t)),
  };
  const units: PlannedUnit[] = [
    ...plan.volumes.map((v) => v.mount),
    plan.web.unit,
    ...(plan.web.acme ? [plan.web.acme.service, plan.web.acme.timer, plan.web.acme.startTimer] : []),
    ...plan.rsyncd.map((r) => r.unit),
    ...plan.sync.flatMap((s) => [s.service, s.timer, ...(s.pushPath ? [s.pushPath] : []), ...(s.hardlink ? [s.hardlink.service, s.hardlink.timer] : [])]),
    ...plan.bitflips.flatMap((b) => [b.service, b.timer]),
    ...(plan.nodeExporter ? [plan.nodeExporter] : []),
  ];
  const files: PlannedFile[] = [
    ...plan.web.support,
    plan.web.config,
    ...plan.web.hostFiles,
    ...(plan.volumeMetrics ? [plan.volumeMetrics] : []),
    ...plan.rsyncd.flatMap((r) => [...(r.secrets ? [r.secrets] : []), ...(r.hook ? [r.hook] : []), r.config]),
    ...(plan.reportMirror ? [plan.reportMirror] : []),
    ...(plan.push ? [plan.push.script, plan.push.keys, plan.push.sshd] : []),
    ...plan.sync.flatMap((s) => [s.script, ...(s.password ? [s.password] : []), ...(s.hardlink ? [s.hardlink.script] : [])]),
    ...units.map(unitFile),
  ];
  const directories = [
    // The kit's own, made with the packages (HostBase).
    ...KIT_DIRECTORIES,
    plan.tree,
    ...plan.sync.map((s) => s.dest),
    ...(plan.push ? [plan.push.triggerDir] : []),
  ];
  return { ...plan, files, units, directories };
}

/**
 * The files the serving daemons read: all the Docker runtime delivers, since
 * its containers run only the web server and the rsync daemons (config
 * refuses syncs, bitflips, volumes and pushes there).
 */
export function servingFiles(plan: NodePlan): PlannedFile[] {
  return [...plan.web.support, plan.web.config, ...plan.rsyncd.flatMap((r) => [...(r.secrets ? [r.secrets] : []), r.config])];
}
