// A bitflip scheduled on the node, removable by deleting it from config.
// Its units are the plan's (plan/bitflip.ts).
import * as pulumi from "@pulumi/pulumi";
import type { Connection } from "./connection";
import type { BitflipModel } from "./render/bitflip";
import { KIT_TEMPLATES, type Templates } from "./render/templates";
import { plannedUnitArgs, SystemdUnit } from "./systemd-unit";
import { planBitflip } from "../plan/bitflip";

export interface BitflipArgs {
  connection: pulumi.Input<Connection>;
  model: BitflipModel;
  /** The templates its units are rendered from (code, not config: not an input of the resource). */
  templates?: Templates;
}

export class Bitflip extends pulumi.ComponentResource {
  readonly timerName: string;

  constructor(name: string, args: BitflipArgs, opts?: pulumi.ComponentResourceOptions) {
    const { templates = KIT_TEMPLATES, ...inputs } = args;
    super("mirrorkit:sync:Bitflip", name, inputs, opts);
    const plan = planBitflip(args.model, templates);
    this.timerName = plan.timer.unitName;
    const service = new SystemdUnit(`${name}-${plan.service.key}`, plannedUnitArgs(args.connection, plan.service), { parent: this, dependsOn: opts?.dependsOn });
    new SystemdUnit(`${name}-${plan.timer.key}`, plannedUnitArgs(args.connection, plan.timer), { parent: this, dependsOn: [service.active] });
    this.registerOutputs({ timerName: this.timerName });
  }
}
