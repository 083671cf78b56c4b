// The sync of one upstream module: a rendered script with the guides' rsync
// flags, a change check and a lock; a sandboxed oneshot service run as the
// mirror account at low priority; and the timer that schedules it. Its files
// and units are the plan's (plan/sync.ts).
import * as pulumi from "@pulumi/pulumi";
import type { Connection } from "./connection";
import { plannedFileArgs, RemoteFile } from "./remote-file";
import type { PushModel } from "./render/push";
import type { SyncModel } from "./render/sync";
import { KIT_TEMPLATES, type Templates } from "./render/templates";
import { plannedUnitArgs, SystemdUnit } from "./systemd-unit";
import { planSyncJob } from "../plan/sync";

export interface SyncJobArgs {
  connection: pulumi.Input<Connection>;
  model: SyncModel;
  /** The upstream module's password, kept secret. */
  password?: pulumi.Input<string>;
  /** Pushes start this job too (a path unit on the push trigger). */
  push?: { model: PushModel; ready: pulumi.Resource };
  /** The templates its files are rendered from (code, not config: not an input of the resource). */
  templates?: Templates;
}

export class SyncJob extends pulumi.ComponentResource {
  readonly timerName: string;
  readonly unitName: string;

  constructor(name: string, args: SyncJobArgs, opts?: pulumi.ComponentResourceOptions) {
    const { templates = KIT_TEMPLATES, ...inputs } = args;
    // The model's job holds the upstream password (for the password file, a
    // secret of its own below); the registered args, which reach the state, never do.
    const job = inputs.model.job;
    super("mirrorkit:sync:SyncJob", name, { ...inputs, model: { ...inputs.model, job: { ...job, password: job.password === undefined ? undefined : "[secret]" } } }, opts);
    const plan = planSyncJob(args.model, args.push?.model, templates);
    this.timerName = plan.timer.unitName;
    this.unitName = plan.service.unitName;
    const after = { parent: this, dependsOn: opts?.dependsOn };

    // The job's tree is the mirror tree's (MirrorTree makes it), which this job waits for.
    const files = [new RemoteFile(`${name}-${plan.script.key}`, plannedFileArgs(args.connection, plan.script), after)];
    if (plan.password && args.password !== undefined) {
      const content = pulumi.secret(pulumi.output(args.password).apply((p) => `${p}\n`));
      files.push(new RemoteFile(`${name}-${plan.password.key}`, plannedFileArgs(args.connection, plan.password, content), after));
    }
    const service = new SystemdUnit(
      `${name}-${plan.service.key}`,
      plannedUnitArgs(args.connection, plan.service, files.map((f) => f.contentHash)),
      { parent: this, dependsOn: files.map((f) => f.installed) },
    );
    new SystemdUnit(`${name}-${plan.timer.key}`, plannedUnitArgs(args.connection, plan.timer), { parent: this, dependsOn: [service.active] });
    if (plan.pushPath && args.push) {
      new SystemdUnit(`${name}-${plan.pushPath.key}`, plannedUnitArgs(args.connection, plan.pushPath), {
        parent: this,
        dependsOn: [service.active, args.push.ready],
      });
    }
    if (plan.hardlink) {
      const h = plan.hardlink;
      const hardlinkScript = new RemoteFile(`${name}-${h.script.key}`, plannedFileArgs(args.connection, h.script), after);
      const hardlinkService = new SystemdUnit(`${name}-${h.service.key}`, plannedUnitArgs(args.connection, h.service, [hardlinkScript.contentHash]), {
        parent: this,
        dependsOn: [hardlinkScript.installed],
      });
      new SystemdUnit(`${name}-${h.timer.key}`, plannedUnitArgs(args.connection, h.timer), { parent: this, dependsOn: [hardlinkService.active] });
    }
    this.registerOutputs({ timerName: this.timerName, unitName: this.unitName });
  }
}
