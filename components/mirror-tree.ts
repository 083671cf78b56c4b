// The mirror tree's root directory and each sync job's tree in it, owned by
// the mirror account, made by one command. Their content belongs to the
// syncs; destroy keeps it (mirror data is expensive to fetch).
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import type { AccountsConfig } from "./config";
import type { Connection } from "./connection";
import { script, sq } from "./shell";
import type { PlannedDirectory } from "../plan/files";

export interface MirrorTreeArgs {
  connection: pulumi.Input<Connection>;
  mirrorRoot: string;
  accounts: AccountsConfig;
  /** The sync jobs' trees (plan/sync.ts). */
  jobTrees: PlannedDirectory[];
}

export class MirrorTree extends pulumi.ComponentResource {
  readonly root: string;
  /** Done when the root and every job's tree exist. */
  readonly ready: command.remote.Command;

  constructor(name: string, args: MirrorTreeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mirrorkit:node:MirrorTree", name, args, opts);
    this.root = args.mirrorRoot;
    this.ready = new command.remote.Command(
      `${name}-root`,
      {
        connection: args.connection,
        create: script(
          `install -d -m 0755 -o ${sq(args.accounts.mirror.user)} -g ${sq(args.accounts.mirror.group)} ${sq(args.mirrorRoot)}`,
          ...args.jobTrees.map((d) => `install -d -m ${d.mode} -o ${sq(d.owner)} -g ${sq(d.group)} ${sq(d.path)}`),
        ),
        // No delete: destroy keeps the mirror data.
      },
      { parent: this, dependsOn: opts?.dependsOn },
    );
    this.registerOutputs({ root: this.root });
  }
}
