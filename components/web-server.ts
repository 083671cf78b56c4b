// The node's web server, nginx or Apache, running as the http account under
// the kit's own sandboxed unit. The distribution's stock units are stopped
// and masked so only the kit's config serves the tree. Its files and unit
// are the plan's (plan/web.ts).
import * as pulumi from "@pulumi/pulumi";
import type { AccountsConfig, VolumeConfig, WebConfig } from "./config";
import type { Connection } from "./connection";
import { plannedFileArgs, RemoteFile } from "./remote-file";
import { KIT_TEMPLATES, type Templates } from "./render/templates";
import { plannedUnitArgs, SystemdUnit } from "./systemd-unit";
import { planWebServer } from "../plan/web";

export interface WebServerArgs {
  connection: pulumi.Input<Connection>;
  web: WebConfig;
  accounts: AccountsConfig;
  mirrorRoot: string;
  /** Name the server answers to (Apache's ServerName). */
  serverName: string;
  /** The node's data volumes: the server is wanted by their mounts, so it returns with them. */
  volumes: VolumeConfig[];
  /** The templates its files are rendered from (code, not config: not an input of the resource). */
  templates?: Templates;
}

export class WebServer extends pulumi.ComponentResource {
  readonly unitName: string;
  readonly httpPort: number;

  constructor(name: string, args: WebServerArgs, opts?: pulumi.ComponentResourceOptions) {
    const { templates = KIT_TEMPLATES, ...inputs } = args;
    super("mirrorkit:web:WebServer", name, inputs, opts);
    const plan = planWebServer(args, templates);
    this.unitName = plan.unit.unitName;
    this.httpPort = args.web.httpPort;

    // The config's own check reads these, so they go in first.
    const support = plan.support.map(
      (f) => new RemoteFile(`${name}-${f.key}`, plannedFileArgs(args.connection, f), { parent: this, dependsOn: opts?.dependsOn }),
    );
    // Checked with the real binary before it replaces the working file; waits
    // for what the component waits for, through the support files when there are any.
    const config = new RemoteFile(`${name}-${plan.config.key}`, plannedFileArgs(args.connection, plan.config), {
      parent: this,
      dependsOn: support.length > 0 ? support.map((f) => f.installed) : opts?.dependsOn,
    });
    // The log rotation reloads the unit, so it goes in after the config it would reload with.
    for (const f of plan.hostFiles) new RemoteFile(`${name}-${f.key}`, plannedFileArgs(args.connection, f), { parent: this, dependsOn: [config.installed] });
    const unit = new SystemdUnit(
      `${name}-${plan.unit.key}`,
      plannedUnitArgs(args.connection, plan.unit, [config.contentHash, ...support.map((f) => f.contentHash)]),
      { parent: this, dependsOn: [config.installed] },
    );
    if (plan.acme) {
      // The renewal answers challenges through the running server, and reloads it.
      const scriptHash = support[plan.support.indexOf(plan.acme.script)].contentHash;
      const service = new SystemdUnit(`${name}-${plan.acme.service.key}`, plannedUnitArgs(args.connection, plan.acme.service), { parent: this, dependsOn: [unit.active] });
      for (const timer of [plan.acme.timer, plan.acme.startTimer]) {
        new SystemdUnit(`${name}-${timer.key}`, plannedUnitArgs(args.connection, timer, timer.onConfigChange ? [scriptHash] : undefined), { parent: this, dependsOn: [service.active] });
      }
    }

    this.registerOutputs({ unitName: this.unitName, httpPort: this.httpPort });
  }
}
