// The node's web server, nginx or Apache, running as the http account under
// the kit's own sandboxed unit. The distribution's stock units are stopped
// and masked so only the kit's config serves the tree.
import * as pulumi from "@pulumi/pulumi";
import type { AccountsConfig, VolumeConfig, WebConfig } from "./config";
import type { Connection } from "./connection";
import { RemoteFile } from "./remote-file";
import { runtimeDirName, WEB_UNIT, webModel, type WebModel } from "./render/nginx";
import { renderWebConf, renderWebServerUnit, webConfigCheck, webSupportFiles } from "./render/web";
import { SystemdUnit } from "./systemd-unit";

export interface WebServerArgs {
  connection: pulumi.Input<Connection>;
  web: WebConfig;
  accounts: AccountsConfig;
  mirrorRoot: string;
  /** Name the server answers to (Apache's ServerName). */
  serverName: string;
  /** The node's data volumes: the server is wanted by their mounts, so it returns with them. */
  volumes: VolumeConfig[];
}


export class WebServer extends pulumi.ComponentResource {
  readonly unitName: string;
  readonly httpPort: number;

  constructor(name: string, args: WebServerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mirrorkit:web:WebServer", name, args, opts);
    this.unitName = WEB_UNIT;
    this.httpPort = args.web.httpPort;

    const model: WebModel = webModel(args);
    const rt = runtimeDirName(WEB_UNIT);
    // Checked with the real binary before it replaces the working file.
    const prepare = `install -d -m 0755 /run/${rt} /var/log/${rt}`;
    // The config's own check reads these, so they go in first.
    const support = webSupportFiles(model).map(
      (f) =>
        new RemoteFile(
          `${name}-${f.key}`,
          { connection: args.connection, path: f.path, content: f.content, mode: "0644", owner: "root", group: "root", validate: f.validate },
          { parent: this, dependsOn: opts?.dependsOn },
        ),
    );
    const config = new RemoteFile(
      `${name}-${args.web.server}-conf`,
      {
        connection: args.connection,
        path: model.configPath,
        content: renderWebConf(model, args.serverName),
        mode: "0644",
        owner: "root",
        group: "root",
        validate: `${prepare} && ${webConfigCheck(args.web.server)}`,
      },
      // Waits for what the component waits for, through the support files when there are any.
      { parent: this, dependsOn: support.length > 0 ? support.map((f) => f.installed) : opts?.dependsOn },
    );
    new SystemdUnit(
      `${name}-unit`,
      {
        connection: args.connection,
        unitName: WEB_UNIT,
        content: renderWebServerUnit(model),
        activation: "start",
        onConfigChange: "reload",
        configHashes: [config.contentHash, ...support.map((f) => f.contentHash)],
        masks: ["nginx.service", "apache2.service"],
      },
      { parent: this, dependsOn: [config.installed] },
    );

    this.registerOutputs({ unitName: this.unitName, httpPort: this.httpPort });
  }
}
