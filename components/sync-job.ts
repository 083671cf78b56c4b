// The sync of one upstream module: a rendered script with the guides' rsync
// flags, a change check and a lock; a sandboxed oneshot service run as the
// mirror account at low priority; and the timer that schedules it.
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import type { Connection } from "./connection";
import { RemoteFile } from "./remote-file";
import { renderPushPathUnit, type PushModel } from "./render/push";
import { renderSyncExcludes, renderSyncScript, renderSyncService, renderSyncTimer, type SyncModel } from "./render/sync";
import { script, sq } from "./shell";
import { SystemdUnit } from "./systemd-unit";

export interface SyncJobArgs {
  connection: pulumi.Input<Connection>;
  model: SyncModel;
  /** The upstream module's password, kept secret. */
  password?: pulumi.Input<string>;
  /** Pushes start this job too (a path unit on the push trigger). */
  push?: { model: PushModel; ready: pulumi.Resource };
}

export class SyncJob extends pulumi.ComponentResource {
  readonly timerName: string;
  readonly unitName: string;

  constructor(name: string, args: SyncJobArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mirrorkit:sync:SyncJob", name, args, opts);
    const m = args.model;
    this.timerName = m.timerName;
    this.unitName = m.unitName;
    const after = { parent: this, dependsOn: opts?.dependsOn };

    const dest = new command.remote.Command(
      `${name}-dest`,
      {
        connection: args.connection,
        create: script(`install -d -m 0755 -o ${sq(m.user)} -g ${sq(m.group)} ${sq(m.dest)}`),
        // No delete: the synced data stays.
      },
      after,
    );
    const files: RemoteFile[] = [
      new RemoteFile(
        `${name}-script`,
        {
          connection: args.connection,
          path: m.scriptPath,
          content: renderSyncScript(m),
          mode: "0755",
          owner: "root",
          group: "root",
          validate: 'sh -n "$STAGED"',
        },
        after,
      ),
      new RemoteFile(
        `${name}-excludes`,
        { connection: args.connection, path: m.excludePath, content: renderSyncExcludes(m), mode: "0644", owner: "root", group: "root" },
        after,
      ),
    ];
    if (args.password !== undefined) {
      files.push(
        new RemoteFile(
          `${name}-password`,
          {
            connection: args.connection,
            path: m.passwordPath,
            content: pulumi.secret(pulumi.output(args.password).apply((p) => `${p}\n`)),
            // rsync refuses a password file others can read.
            mode: "0600",
            owner: m.user,
            group: m.group,
          },
          after,
        ),
      );
    }
    const service = new SystemdUnit(
      `${name}-service`,
      {
        connection: args.connection,
        unitName: m.unitName,
        content: renderSyncService(m),
        activation: "install",
        configHashes: files.map((f) => f.contentHash),
      },
      { parent: this, dependsOn: [dest, ...files.map((f) => f.installed)] },
    );
    new SystemdUnit(
      `${name}-timer`,
      { connection: args.connection, unitName: m.timerName, content: renderSyncTimer(m), activation: "start" },
      { parent: this, dependsOn: [service.active] },
    );
    if (args.push) {
      new SystemdUnit(
        `${name}-push-path`,
        {
          connection: args.connection,
          unitName: m.unitName.replace(/\.service$/, ".path"),
          content: renderPushPathUnit(args.push.model, { name: m.job.name, unitName: m.unitName }),
          activation: "start",
        },
        { parent: this, dependsOn: [service.active, args.push.ready] },
      );
    }
    this.registerOutputs({ timerName: this.timerName, unitName: this.unitName });
  }
}
