// One rsync daemon instance: the public one (modules read only, as
// nobody/nogroup, unreadable entries hidden) or the private tier one (its own
// port, hosts allow, auth users with a secrets file, not listed, running in
// the mirror group so it can read staged content). Each has its own unit.
// Its files and unit are the plan's (plan/rsyncd.ts).
import * as pulumi from "@pulumi/pulumi";
import type { Connection } from "./connection";
import { plannedFileArgs, RemoteFile } from "./remote-file";
import { renderRsyncdSecrets, type RsyncdModel } from "./render/rsync";
import { KIT_TEMPLATES, type Templates } from "./render/templates";
import { plannedUnitArgs, SystemdUnit } from "./systemd-unit";
import { planRsyncDaemon } from "../plan/rsyncd";

export interface RsyncDaemonArgs {
  connection: pulumi.Input<Connection>;
  model: RsyncdModel;
  /** Private and push instances: the users and their (secret) passwords. */
  users?: pulumi.Input<{ name: string; password: string }[]>;
  /** The templates its files are rendered from (code, not config: not an input of the resource). */
  templates?: Templates;
}

export class RsyncDaemon extends pulumi.ComponentResource {
  readonly port: number;
  readonly unitName: string;

  constructor(name: string, args: RsyncDaemonArgs, opts?: pulumi.ComponentResourceOptions) {
    const { templates = KIT_TEMPLATES, ...inputs } = args;
    super("mirrorkit:rsync:RsyncDaemon", name, inputs, opts);
    const plan = planRsyncDaemon(args.model, templates);
    this.port = plan.model.port;
    this.unitName = plan.unit.unitName;
    const childOpts = { parent: this, dependsOn: opts?.dependsOn };

    const files: RemoteFile[] = [];
    if (plan.secrets) {
      const content = pulumi.secret(pulumi.output(args.users ?? []).apply(renderRsyncdSecrets));
      files.push(new RemoteFile(`${name}-${plan.secrets.key}`, plannedFileArgs(args.connection, plan.secrets, content), childOpts));
    }
    if (plan.hook) files.push(new RemoteFile(`${name}-${plan.hook.key}`, plannedFileArgs(args.connection, plan.hook), childOpts));
    const conf = new RemoteFile(`${name}-${plan.config.key}`, plannedFileArgs(args.connection, plan.config), {
      parent: this,
      dependsOn: [...files.map((f) => f.installed)],
    });
    files.push(conf);

    new SystemdUnit(
      `${name}-${plan.unit.key}`,
      plannedUnitArgs(args.connection, plan.unit, files.map((f) => f.contentHash)),
      { parent: this, dependsOn: files.map((f) => f.installed) },
    );
    this.registerOutputs({ port: this.port, unitName: this.unitName });
  }
}
