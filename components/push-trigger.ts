// The accepting side of push-triggered sync: the push account's forced
// command, its authorized keys, the sshd drop-in that confines it, and the
// trigger directory the sync jobs' path units watch.
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { KIT_STATE_DIR, type Connection } from "./connection";
import { RemoteFile } from "./remote-file";
import { renderPushAuthorizedKeys, renderPushTrigger, renderSshdPushDropIn, sshdDropInCheck, type PushModel } from "./render/push";
import { script, sq } from "./shell";

/** The drop-in hash sshd last reloaded with. */
const RELOADED = `${KIT_STATE_DIR}/units/ssh-push-drop-in.hash`;

export interface PushTriggerArgs {
  connection: pulumi.Input<Connection>;
  model: PushModel;
}

export class PushTrigger extends pulumi.ComponentResource {
  readonly triggerFile: string;
  /** Depend on this before starting units that watch the trigger. */
  readonly ready: command.remote.Command;

  constructor(name: string, args: PushTriggerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mirrorkit:sync:PushTrigger", name, args, opts);
    const m = args.model;
    this.triggerFile = m.triggerFile;
    const after = { parent: this, dependsOn: opts?.dependsOn };

    const dir = new command.remote.Command(
      `${name}-dir`,
      {
        connection: args.connection,
        create: script(`install -d -m 0755 -o ${sq(m.user)} -g ${sq(m.user)} ${sq(m.triggerDir)}`),
        delete: script(`rm -rf ${sq(m.triggerDir)}`),
      },
      after,
    );
    const trigger = new RemoteFile(
      `${name}-script`,
      { connection: args.connection, path: m.triggerScript, content: renderPushTrigger(m), mode: "0755", owner: "root", group: "root", validate: 'sh -n "$STAGED"' },
      after,
    );
    const keys = new RemoteFile(
      `${name}-keys`,
      { connection: args.connection, path: m.authorizedKeysFile, content: renderPushAuthorizedKeys(m), mode: "0644", owner: "root", group: "root" },
      after,
    );
    const dropIn = new RemoteFile(
      `${name}-sshd`,
      {
        connection: args.connection,
        path: m.sshdDropIn,
        content: renderSshdPushDropIn(m),
        mode: "0644",
        owner: "root",
        group: "root",
        validate: sshdDropInCheck(),
      },
      { parent: this, dependsOn: [trigger.installed, keys.installed] },
    );
    this.ready = new command.remote.Command(
      `${name}-sshd-reload`,
      {
        connection: args.connection,
        // Reloaded when the drop-in changed, not on every run of this
        // command (the provider re-runs it on a new connection too).
        create: dropIn.contentHash.apply((hash) =>
          script(
            `install -d -m 0755 ${KIT_STATE_DIR}/units`,
            `if [ "$(cat ${RELOADED} 2>/dev/null)" != ${sq(hash)} ]; then systemctl reload ssh.service; echo ${sq(hash)} > ${RELOADED}; fi`,
          ),
        ),
        delete: script(`rm -f ${sq(m.sshdDropIn)} ${RELOADED}`, "systemctl reload ssh.service || true"),
      },
      { parent: this, dependsOn: [dir, dropIn.installed] },
    );
    this.registerOutputs({ triggerFile: this.triggerFile });
  }
}
