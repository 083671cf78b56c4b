// A bitflip scheduled on the node, removable by deleting it from config.
import * as pulumi from "@pulumi/pulumi";
import type { Connection } from "./connection";
import { renderBitflipService, renderBitflipTimer, type BitflipModel } from "./render/bitflip";
import { SystemdUnit } from "./systemd-unit";

export interface BitflipArgs {
  connection: pulumi.Input<Connection>;
  model: BitflipModel;
}

export class Bitflip extends pulumi.ComponentResource {
  readonly timerName: string;

  constructor(name: string, args: BitflipArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mirrorkit:sync:Bitflip", name, args, opts);
    this.timerName = args.model.timerName;
    const service = new SystemdUnit(
      `${name}-service`,
      { connection: args.connection, unitName: args.model.unitName, content: renderBitflipService(args.model), activation: "install" },
      { parent: this, dependsOn: opts?.dependsOn },
    );
    new SystemdUnit(
      `${name}-timer`,
      { connection: args.connection, unitName: args.model.timerName, content: renderBitflipTimer(args.model), activation: "start" },
      { parent: this, dependsOn: [service.active] },
    );
    this.registerOutputs({ timerName: this.timerName });
  }
}
