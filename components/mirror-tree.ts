// The mirror tree's root directory, owned by the mirror account. Its content
// belongs to the sync; destroy keeps it (mirror data is expensive to fetch).
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import type { AccountsConfig } from "./config";
import type { Connection } from "./connection";
import { script, sq } from "./shell";

export interface MirrorTreeArgs {
  connection: pulumi.Input<Connection>;
  mirrorRoot: string;
  accounts: AccountsConfig;
}

export class MirrorTree extends pulumi.ComponentResource {
  readonly root: string;
  readonly ready: command.remote.Command;

  constructor(name: string, args: MirrorTreeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mirrorkit:node:MirrorTree", name, args, opts);
    this.root = args.mirrorRoot;
    this.ready = new command.remote.Command(
      `${name}-root`,
      {
        connection: args.connection,
        create: script(`install -d -m 0755 -o ${sq(args.accounts.mirror.user)} -g ${sq(args.accounts.mirror.group)} ${sq(args.mirrorRoot)}`),
        // No delete: destroy keeps the mirror data.
      },
      { parent: this, dependsOn: opts?.dependsOn },
    );
    this.registerOutputs({ root: this.root });
  }
}
