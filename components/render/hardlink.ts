// The hardlink pass over a sync job's tree (Fedora's guide: weekly, with a
// tool like hardlink): script, service and timer.
import { sq } from "../shell";
import { prometheusLabel, type SyncModel } from "./sync";
import { HEADER, renderServiceUnit, renderTimerUnit } from "./systemd";
import { KIT_TEMPLATES, type Templates } from "./templates";
import { METRICS_DIR, syncPaths } from "../../plan/paths";

/** How long a pass waits for a running sync of its tree before it gives up until next time. */
export const HARDLINK_LOCK_WAIT_SECONDS = 6 * 3600;

/** A job's hardlink pass: the job's model (tree, account, lock in its state directory) and the pass's own paths. */
export interface HardlinkModel {
  sync: SyncModel;
  schedule: string;
  unitName: string;
  timerName: string;
  scriptPath: string;
  metricsFile: string;
  statusFile: string;
}

/** The pass of a job with a hardlink schedule. */
export function hardlinkModel(sync: SyncModel, schedule: string): HardlinkModel {
  const paths = syncPaths(sync.job.name);
  return {
    sync,
    schedule,
    unitName: paths.hardlinkUnitName,
    timerName: paths.hardlinkTimerName,
    scriptPath: paths.hardlinkScriptPath,
    metricsFile: paths.hardlinkMetricsFile,
    statusFile: paths.hardlinkStatusFile,
  };
}

export function renderHardlinkScript(h: HardlinkModel, t: Templates = KIT_TEMPLATES): string {
  const m = h.sync;
  return t.render("sync/hardlink.sh.hbs", {
    header: HEADER,
    // Shown in a comment only.
    name: m.job.name,
    dest: m.dest,
    destQ: sq(m.dest),
    unitName: h.unitName,
    user: m.user,
    stateDirQ: sq(m.stateDir),
    metricsFileQ: sq(h.metricsFile),
    statusFileQ: sq(h.statusFile),
    nameJsonQ: sq(JSON.stringify(m.job.name)),
    projectJsonQ: sq(JSON.stringify(m.project)),
    labelsQ: sq(`module=${prometheusLabel(m.job.name)},project=${prometheusLabel(m.project)}`),
    mountPointQ: sq(m.mountPoint),
    lockWaitSeconds: HARDLINK_LOCK_WAIT_SECONDS,
  });
}

export function renderHardlinkService(h: HardlinkModel, t: Templates = KIT_TEMPLATES): string {
  const m = h.sync;
  return renderServiceUnit({
    description: `mirrorkit hardlink pass over ${m.job.name}`,
    unit: [`RequiresMountsFor=${m.dest}`],
    service: [
      "Type=oneshot",
      `User=${m.user}`,
      `Group=${m.group}`,
      `ExecStart=${h.scriptPath}`,
      `StateDirectory=${[m.stateDir, METRICS_DIR, m.statusDir].map((d) => d.replace(/^\/var\/lib\//, "")).join(" ")}`,
      `ReadWritePaths=${m.dest}`,
      // The lowest priority there is: serving and syncing come first.
      "Nice=19",
      "IOSchedulingClass=idle",
      "CPUSchedulingPolicy=idle",
      "TimeoutStartSec=infinity",
      "CapabilityBoundingSet=",
      "PrivateUsers=yes",
      "PrivateNetwork=yes",
    ],
  }, t);
}

export function renderHardlinkTimer(h: HardlinkModel, t: Templates = KIT_TEMPLATES): string {
  return renderTimerUnit({
    description: `mirrorkit hardlink pass over ${h.sync.job.name}: schedule`,
    timer: [`OnCalendar=${h.schedule}`, "RandomizedDelaySec=1800", "Persistent=true", `Unit=${h.unitName}`],
  }, t);
}
