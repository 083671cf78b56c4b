// The sending side of push-triggered sync: the SSH key a node uses to start
// its downstreams' syncs. Made on the host, once; only the public half leaves
// it (a tier 1 exports it for its tier 2s' stacks to trust).
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import type { Connection } from "./connection";
import { PUSH_KEY_PATH } from "./render/push";
import { script, sq } from "./shell";

export interface PushKeyArgs {
  connection: pulumi.Input<Connection>;
  /** The account that signs in with it: the mirror account, which runs the syncs. */
  user: string;
  group: string;
}

export class PushKey extends pulumi.ComponentResource {
  /** The public key line. */
  readonly publicKey: pulumi.Output<string>;

  constructor(name: string, args: PushKeyArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mirrorkit:sync:PushKey", name, args, opts);
    const key = sq(PUSH_KEY_PATH);
    const make = new command.remote.Command(
      `${name}-keygen`,
      {
        connection: args.connection,
        create: script(
          `install -d -m 0755 ${sq(PUSH_KEY_PATH.replace(/\/[^/]+$/, ""))}`,
          `[ -f ${key} ] || ssh-keygen -q -t ed25519 -N '' -C "mirrorkit push $(hostname)" -f ${key}`,
          `chown ${sq(`${args.user}:${args.group}`)} ${key} ${key}.pub`,
          `chmod 0600 ${key}`,
          `cat ${key}.pub`,
        ),
        delete: script(`rm -f ${key} ${key}.pub`),
      },
      { parent: this, dependsOn: opts?.dependsOn },
    );
    this.publicKey = make.stdout.apply((out) => out.trim().split("\n").pop() ?? "");
    this.registerOutputs({ publicKey: this.publicKey });
  }
}
