// The node's web server, nginx or Apache, running as the http account under
// the kit's own sandboxed unit. The distribution's stock units are stopped
// and masked so only the kit's config serves the tree.
import * as pulumi from "@pulumi/pulumi";
import type { AccountsConfig, WebConfig } from "./config";
import { KIT_CONFIG_DIR } from "./connection";
import type { Connection } from "./connection";
import { RemoteFile } from "./remote-file";
import { renderNginxConf, renderNginxUnit, runtimeDirName, type WebModel } from "./render/nginx";
import { SystemdUnit } from "./systemd-unit";

export interface WebServerArgs {
  connection: pulumi.Input<Connection>;
  web: WebConfig;
  accounts: AccountsConfig;
  mirrorRoot: string;
}

export const WEB_UNIT = "mirrorkit-web.service";

export class WebServer extends pulumi.ComponentResource {
  readonly unitName: string;
  readonly httpPort: number;

  constructor(name: string, args: WebServerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mirrorkit:web:WebServer", name, args, opts);
    this.unitName = WEB_UNIT;
    this.httpPort = args.web.httpPort;

    const model: WebModel = {
      web: args.web,
      mirrorRoot: args.mirrorRoot,
      user: args.accounts.http.user,
      group: args.accounts.http.group,
      unitName: WEB_UNIT,
      configPath: `${KIT_CONFIG_DIR}/nginx/nginx.conf`,
    };
    const rt = runtimeDirName(WEB_UNIT);
    const config = new RemoteFile(
      `${name}-nginx-conf`,
      {
        connection: args.connection,
        path: model.configPath,
        content: renderNginxConf(model),
        mode: "0644",
        owner: "root",
        group: "root",
        // Checked with the real binary before it replaces the working file.
        validate: `install -d -m 0755 /run/${rt} /var/log/${rt} && nginx -t -q -e stderr -c "$STAGED"`,
      },
      { parent: this, dependsOn: opts?.dependsOn },
    );
    new SystemdUnit(
      `${name}-unit`,
      {
        connection: args.connection,
        unitName: WEB_UNIT,
        content: renderNginxUnit(model),
        activation: "start",
        onConfigChange: "reload",
        configHashes: [config.contentHash],
        masks: ["nginx.service", "apache2.service"],
      },
      { parent: this, dependsOn: [config.installed] },
    );

    this.registerOutputs({ unitName: this.unitName, httpPort: this.httpPort });
  }
}
