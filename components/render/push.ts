// Push-triggered sync, ftpsync style: an upstream logs in over SSH as the
// push account, whose only command (forced by sshd and by its key options)
// rewrites a trigger file; each sync job's path unit starts its sync on it.
// A node with downstreams pushes them the same way after each success.
import type { NodeConfig } from "../config";
import { sq } from "../shell";
import { HEADER, renderPathUnit } from "./systemd";
import { KIT_TEMPLATES, type Templates } from "./templates";
import { PUSH_AUTHORIZED_KEYS, PUSH_KEY_PATH, PUSH_TRIGGER_DIR, PUSH_TRIGGER_FILE, PUSH_TRIGGER_SCRIPT, SSHD_PUSH_DROP_IN } from "../../plan/paths";

export interface PushModel {
  user: string;
  /** What the push account's command rewrites. */
  triggerDir: string;
  triggerFile: string;
  triggerScript: string;
  authorizedKeysFile: string;
  sshdDropIn: string;
  authorizedKeys: string[];
}

export { PUSH_KEY_PATH, PUSH_TRIGGER_DIR };

/** The push model of a node that accepts pushes; undefined when no key may push. */
export function pushModel(node: NodeConfig): PushModel | undefined {
  if (node.push.authorizedKeys.length === 0) return undefined;
  return {
    user: node.accounts.push.user,
    triggerDir: PUSH_TRIGGER_DIR,
    triggerFile: PUSH_TRIGGER_FILE,
    triggerScript: PUSH_TRIGGER_SCRIPT,
    authorizedKeysFile: PUSH_AUTHORIZED_KEYS,
    sshdDropIn: SSHD_PUSH_DROP_IN,
    authorizedKeys: node.push.authorizedKeys,
  };
}

export function renderPushTrigger(m: PushModel, t: Templates = KIT_TEMPLATES): string {
  return t.render("push/push-trigger.sh.hbs", { header: HEADER, user: m.user, triggerFileQ: sq(m.triggerFile) });
}

/** Each key may run the trigger and nothing else, even without the sshd drop-in. */
export function renderPushAuthorizedKeys(m: PushModel): string {
  return `# ${HEADER}\n${m.authorizedKeys.map((k) => `restrict,command="${m.triggerScript}" ${k}\n`).join("")}`;
}

export function renderSshdPushDropIn(m: PushModel, t: Templates = KIT_TEMPLATES): string {
  return t.render("push/sshd-push.conf.hbs", {
    header: HEADER,
    user: m.user,
    authorizedKeysFile: m.authorizedKeysFile,
    triggerScript: m.triggerScript,
  });
}

/** sshd's check of the staged drop-in ("$STAGED"): the full server config with it included. */
export function sshdDropInCheck(): string {
  return [
    `{ echo "Include $STAGED"; grep -v '^Include /etc/ssh/sshd_config.d/' /etc/ssh/sshd_config; } > "$STAGED.check"`,
    'sshd -t -f "$STAGED.check"; rc=$?; rm -f "$STAGED.check"; exit $rc',
  ].join(" && ");
}

/** The path unit that starts a sync job when a push arrives. */
export function renderPushPathUnit(m: PushModel, job: { name: string; unitName: string }, t: Templates = KIT_TEMPLATES): string {
  return renderPathUnit({
    description: `mirrorkit sync of ${job.name}: started by a push`,
    path: [`PathModified=${m.triggerFile}`, `Unit=${job.unitName}`],
  }, t);
}
