// The accepting side of push-triggered sync: the push account's forced
// command, its authorized keys, the sshd drop-in that confines it (checked by
// sshd -t) and the trigger directory the sync jobs' path units watch.
import { renderPushAuthorizedKeys, renderPushTrigger, renderSshdPushDropIn, sshdDropInCheck, type PushModel } from "../components/render/push";
import type { Templates } from "../components/render/templates";
import { rootFile, type PlannedDirectory, type PlannedFile } from "./files";

export interface PushPlan {
  model: PushModel;
  triggerDir: PlannedDirectory;
  script: PlannedFile;
  keys: PlannedFile;
  sshd: PlannedFile;
}

export function planPushTrigger(model: PushModel, t: Templates): PushPlan {
  return {
    model,
    triggerDir: { path: model.triggerDir, owner: model.user, group: model.user, mode: "0755" },
    script: rootFile("script", model.triggerScript, renderPushTrigger(model, t), "0755", 'sh -n "$STAGED"'),
    keys: rootFile("keys", model.authorizedKeysFile, renderPushAuthorizedKeys(model)),
    sshd: rootFile("sshd", model.sshdDropIn, renderSshdPushDropIn(model, t), "0644", sshdDropInCheck()),
  };
}
