// An rsync daemon's part of a node: its config (checked by a throwaway
// daemon), the private instance's secrets file, and its unit.
import { renderPushReceivedScript, renderRsyncdConf, renderRsyncdUnit, rsyncdCheckCommand, type RsyncdModel } from "../components/render/rsync";
import { PUSH_RECEIVED_SCRIPT } from "./paths";
import type { Templates } from "../components/render/templates";
import { rootFile, SECRET_PLACEHOLDER, type PlannedFile, type PlannedUnit } from "./files";

export interface RsyncdPlan {
  model: RsyncdModel;
  /** Private and push instances: the auth users' passwords, readable by the daemon (root) only: rsync's strict modes. */
  secrets?: PlannedFile;
  config: PlannedFile;
  /** Push instance: the hook that records each push. */
  hook?: PlannedFile;
  unit: PlannedUnit;
}

export function planRsyncDaemon(model: RsyncdModel, t: Templates): RsyncdPlan {
  return {
    model,
    ...(model.instance === "push" ? { hook: rootFile("push-received", PUSH_RECEIVED_SCRIPT, renderPushReceivedScript(model, undefined, t), "0755", 'sh -n "$STAGED"') } : {}),
    ...(model.instance !== "public" ? { secrets: { ...rootFile("secrets", model.secretsPath, SECRET_PLACEHOLDER, "0600"), secret: true as const } } : {}),
    config: rootFile("conf", model.configPath, renderRsyncdConf(model, t), "0644", rsyncdCheckCommand('"$STAGED"')),
    unit: {
      key: "unit",
      unitName: model.unitName,
      content: renderRsyncdUnit(model, t),
      activation: "start",
      // rsync re-reads its config per connection; a restart also picks up the port.
      onConfigChange: "restart",
      masks: model.instance === "public" ? ["rsync.service"] : [],
    },
  };
}
