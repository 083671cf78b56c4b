// A sync job's part of a node: its script (checked by sh -n; it holds the
// job's excludes), its upstream password, the service, its timer and, when pushes start it,
// the path unit on the push trigger.
import { hardlinkModel, renderHardlinkScript, renderHardlinkService, renderHardlinkTimer, type HardlinkModel } from "../components/render/hardlink";
import { renderPushPathUnit, type PushModel } from "../components/render/push";
import { renderSyncScript, renderSyncService, renderSyncTimer, type SyncModel } from "../components/render/sync";
import type { Templates } from "../components/render/templates";
import { rootFile, SECRET_PLACEHOLDER, type PlannedDirectory, type PlannedFile, type PlannedUnit } from "./files";
import { syncPaths } from "./paths";

export interface SyncPlan {
  model: SyncModel;
  /** The tree the job fills. */
  dest: PlannedDirectory;
  script: PlannedFile;
  /** The upstream module's password: rsync refuses a password file others can read. */
  password?: PlannedFile;
  service: PlannedUnit;
  timer: PlannedUnit;
  pushPath?: PlannedUnit;
  /** The hardlink pass over the tree, when the job has a schedule for it. */
  hardlink?: { script: PlannedFile; service: PlannedUnit; timer: PlannedUnit };
}

export function planSyncJob(model: SyncModel, push: PushModel | undefined, t: Templates): SyncPlan {
  return {
    model,
    dest: { path: model.dest, owner: model.user, group: model.group, mode: "0755" },
    script: rootFile("script", model.scriptPath, renderSyncScript(model, t), "0755", 'sh -n "$STAGED"'),
    ...(model.job.password !== undefined
      ? { password: { key: "password", path: model.passwordPath, content: SECRET_PLACEHOLDER, mode: "0600", owner: model.user, group: model.group, secret: true as const } }
      : {}),
    service: { key: "service", unitName: model.unitName, content: renderSyncService(model, t), activation: "install" },
    timer: { key: "timer", unitName: model.timerName, content: renderSyncTimer(model, t), activation: "start" },
    ...(model.job.hardlinkSchedule !== undefined ? { hardlink: planHardlink(hardlinkModel(model, model.job.hardlinkSchedule), t) } : {}),
    ...(push
      ? {
          pushPath: {
            key: "push-path",
            unitName: syncPaths(model.job.name).pathUnitName,
            content: renderPushPathUnit(push, { name: model.job.name, unitName: model.unitName }, t),
            activation: "start" as const,
          },
        }
      : {}),
  };
}

/** The hardlink pass's script (checked by sh -n), its service and its timer. */
function planHardlink(h: HardlinkModel, t: Templates): NonNullable<SyncPlan["hardlink"]> {
  return {
    script: rootFile("hardlink-script", h.scriptPath, renderHardlinkScript(h, t), "0755", 'sh -n "$STAGED"'),
    service: { key: "hardlink-service", unitName: h.unitName, content: renderHardlinkService(h, t), activation: "install" },
    timer: { key: "hardlink-timer", unitName: h.timerName, content: renderHardlinkTimer(h, t), activation: "start" },
  };
}
