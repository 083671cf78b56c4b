// The accepting side of push-triggered sync: the push account's forced
// command, its authorized keys, the sshd drop-in that confines it, and the
// trigger directory the sync jobs' path units watch.
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import type { Connection } from "./connection";
import { SSHD_RELOADED_HASH as RELOADED, UNIT_HASH_DIR } from "../plan/paths";
import { plannedFileArgs, RemoteFile } from "./remote-file";
import type { PushModel } from "./render/push";
import { KIT_TEMPLATES, type Templates } from "./render/templates";
import { planPushTrigger } from "../plan/push";
import { script, sq } from "./shell";


export interface PushTriggerArgs {
  connection: pulumi.Input<Connection>;
  model: PushModel;
  /** The templates its files are rendered from (code, not config: not an input of the resource). */
  templates?: Templates;
}

export class PushTrigger extends pulumi.ComponentResource {
  readonly triggerFile: string;
  /** Depend on this before starting units that watch the trigger. */
  readonly ready: command.remote.Command;

  constructor(name: string, args: PushTriggerArgs, opts?: pulumi.ComponentResourceOptions) {
    const { templates = KIT_TEMPLATES, ...inputs } = args;
    super("mirrorkit:sync:PushTrigger", name, inputs, opts);
    const plan = planPushTrigger(args.model, templates);
    this.triggerFile = plan.model.triggerFile;
    const after = { parent: this, dependsOn: opts?.dependsOn };

    const d = plan.triggerDir;
    const dir = new command.remote.Command(
      `${name}-dir`,
      {
        connection: args.connection,
        create: script(`install -d -m ${d.mode} -o ${sq(d.owner)} -g ${sq(d.group)} ${sq(d.path)}`),
        delete: script(`rm -rf ${sq(d.path)}`),
      },
      after,
    );
    const trigger = new RemoteFile(`${name}-${plan.script.key}`, plannedFileArgs(args.connection, plan.script), after);
    const keys = new RemoteFile(`${name}-${plan.keys.key}`, plannedFileArgs(args.connection, plan.keys), after);
    const dropIn = new RemoteFile(`${name}-${plan.sshd.key}`, plannedFileArgs(args.connection, plan.sshd), {
      parent: this,
      dependsOn: [trigger.installed, keys.installed],
    });
    this.ready = new command.remote.Command(
      `${name}-sshd-reload`,
      {
        connection: args.connection,
        // Reloaded when the drop-in changed, not on every run of this
        // command (the provider re-runs it on a new connection too).
        create: dropIn.contentHash.apply((hash) =>
          script(
            `install -d -m 0755 ${UNIT_HASH_DIR}`,
            `if [ "$(cat ${RELOADED} 2>/dev/null)" != ${sq(hash)} ]; then systemctl reload ssh.service; echo ${sq(hash)} > ${RELOADED}; fi`,
          ),
        ),
        delete: script(`rm -f ${sq(plan.sshd.path)} ${RELOADED}`, "systemctl reload ssh.service || true"),
      },
      { parent: this, dependsOn: [dir, dropIn.installed] },
    );
    this.registerOutputs({ triggerFile: this.triggerFile });
  }
}
