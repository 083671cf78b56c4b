// One rsync daemon instance: the public one (modules read only, as
// nobody/nogroup, unreadable entries hidden) or the private tier one (its own
// port, hosts allow, auth users with a secrets file, not listed, running in
// the mirror group so it can read staged content). Each has its own unit.
import * as pulumi from "@pulumi/pulumi";
import type { Connection } from "./connection";
import { RemoteFile } from "./remote-file";
import { renderRsyncdConf, renderRsyncdSecrets, renderRsyncdUnit, rsyncdCheckCommand, type RsyncdModel } from "./render/rsync";
import { SystemdUnit } from "./systemd-unit";

export interface RsyncDaemonArgs {
  connection: pulumi.Input<Connection>;
  model: RsyncdModel;
  /** Private instance: the tier users and their (secret) passwords. */
  users?: pulumi.Input<{ name: string; password: string }[]>;
}

export class RsyncDaemon extends pulumi.ComponentResource {
  readonly port: number;
  readonly unitName: string;

  constructor(name: string, args: RsyncDaemonArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mirrorkit:rsync:RsyncDaemon", name, args, opts);
    const m = args.model;
    this.port = m.port;
    this.unitName = m.unitName;
    const childOpts = { parent: this, dependsOn: opts?.dependsOn };

    const files: RemoteFile[] = [];
    if (m.instance === "private") {
      // Readable by the daemon (root) only: rsync's strict modes.
      files.push(
        new RemoteFile(
          `${name}-secrets`,
          {
            connection: args.connection,
            path: m.secretsPath,
            content: pulumi.secret(pulumi.output(args.users ?? []).apply(renderRsyncdSecrets)),
            mode: "0600",
            owner: "root",
            group: "root",
          },
          childOpts,
        ),
      );
    }
    const conf = new RemoteFile(
      `${name}-conf`,
      {
        connection: args.connection,
        path: m.configPath,
        content: renderRsyncdConf(m),
        mode: "0644",
        owner: "root",
        group: "root",
        validate: rsyncdCheckCommand('"$STAGED"'),
      },
      { parent: this, dependsOn: [...files.map((f) => f.installed)] },
    );
    files.push(conf);

    new SystemdUnit(
      `${name}-unit`,
      {
        connection: args.connection,
        unitName: m.unitName,
        content: renderRsyncdUnit(m),
        activation: "start",
        // rsync re-reads its config per connection; a restart also picks up the port.
        onConfigChange: "restart",
        configHashes: files.map((f) => f.contentHash),
        masks: m.instance === "public" ? ["rsync.service"] : [],
      },
      { parent: this, dependsOn: files.map((f) => f.installed) },
    );
    this.registerOutputs({ port: this.port, unitName: this.unitName });
  }
}
