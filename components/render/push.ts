// Push-triggered sync, ftpsync style: an upstream logs in over SSH as the
// push account, whose only command (forced by sshd and by its key options)
// rewrites a trigger file; each sync job's path unit starts its sync on it.
// A node with downstreams pushes them the same way after each success.
import type { NodeConfig } from "../config";
import { sq } from "../shell";
import { HEADER, renderPathUnit } from "./systemd";
import { renderTemplate } from "./templates";

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

export const PUSH_TRIGGER_DIR = "/var/lib/mirrorkit-push";
/** The push key a node with downstreams signs in with (owned by the mirror account). */
export const PUSH_KEY_PATH = "/etc/mirrorkit/push/id_ed25519";

/** The push model of a node that accepts pushes; undefined when no key may push. */
export function pushModel(node: NodeConfig): PushModel | undefined {
  if (node.push.authorizedKeys.length === 0) return undefined;
  return {
    user: node.accounts.push.user,
    triggerDir: PUSH_TRIGGER_DIR,
    triggerFile: `${PUSH_TRIGGER_DIR}/trigger`,
    triggerScript: "/usr/local/lib/mirrorkit/push-trigger",
    authorizedKeysFile: "/etc/mirrorkit/push/authorized_keys",
    sshdDropIn: "/etc/ssh/sshd_config.d/mirrorkit-push.conf",
    authorizedKeys: node.push.authorizedKeys,
  };
}

export function renderPushTrigger(m: PushModel): string {
  return renderTemplate("push/push-trigger.sh.hbs", { header: HEADER, user: m.user, triggerFileQ: sq(m.triggerFile) });
}

/** Each key may run the trigger and nothing else, even without the sshd drop-in. */
export function renderPushAuthorizedKeys(m: PushModel): string {
  return `# ${HEADER}\n${m.authorizedKeys.map((k) => `restrict,command="${m.triggerScript}" ${k}\n`).join("")}`;
}

export function renderSshdPushDropIn(m: PushModel): string {
  return renderTemplate("push/sshd-push.conf.hbs", {
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
export function renderPushPathUnit(m: PushModel, job: { name: string; unitName: string }): string {
  return renderPathUnit({
    description: `mirrorkit sync of ${job.name}: started by a push`,
    path: [`PathModified=${m.triggerFile}`, `Unit=${job.unitName}`],
  });
}
