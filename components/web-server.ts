// The node's web server: nginx (Apache follows in the node issue) running as
// the http account under the kit's own sandboxed unit. The distribution's
// stock unit is stopped and masked so only the kit's config serves the tree.
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import type { AccountsConfig, WebConfig } from "./config";
import { KIT_CONFIG_DIR, KIT_STATE_DIR } from "./connection";
import type { Connection } from "./connection";
import { RemoteFile } from "./remote-file";
import { renderNginxConf, renderNginxUnit, runtimeDirName, type WebModel } from "./render/nginx";
import { script, sq } from "./shell";

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
    const childOpts = { parent: this, dependsOn: opts?.dependsOn };

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
        validate: `install -d -m 0755 /run/${runtimeDirName(WEB_UNIT)} /var/log/${runtimeDirName(WEB_UNIT)} && nginx -t -q -e stderr -c "$STAGED"`,
      },
      childOpts,
    );
    const unit = new RemoteFile(
      `${name}-unit`,
      {
        connection: args.connection,
        path: `/etc/systemd/system/${WEB_UNIT}`,
        content: renderNginxUnit(model),
        mode: "0644",
        owner: "root",
        group: "root",
        validate: `cp "$STAGED" /tmp/${WEB_UNIT} && systemd-analyze verify /tmp/${WEB_UNIT}; rc=$?; rm -f /tmp/${WEB_UNIT}; exit $rc`,
      },
      childOpts,
    );

    // (Re)starts the unit when its unit file changed, reloads it when only
    // the config changed; the hashes in the script make either re-run.
    const hashFile = `${KIT_STATE_DIR}/units/${WEB_UNIT}.hash`;
    new command.remote.Command(
      `${name}-activate`,
      {
        connection: args.connection,
        create: script(
          `# config ${config.contentHash} unit ${unit.contentHash}`,
          "systemctl disable --now nginx.service apache2.service >/dev/null 2>&1 || true",
          "systemctl mask nginx.service apache2.service >/dev/null 2>&1 || true",
          `install -d -m 0755 ${KIT_STATE_DIR}/units`,
          "systemctl daemon-reload",
          `systemctl enable --quiet ${WEB_UNIT}`,
          `if [ "$(cat ${hashFile} 2>/dev/null)" != ${sq(unit.contentHash)} ] || ! systemctl is-active --quiet ${WEB_UNIT}; then`,
          `  systemctl restart ${WEB_UNIT}`,
          "else",
          `  systemctl reload ${WEB_UNIT}`,
          "fi",
          `echo ${sq(unit.contentHash)} > ${hashFile}`,
          `systemctl is-active --quiet ${WEB_UNIT} || { journalctl -u ${WEB_UNIT} -n 20 --no-pager >&2; exit 1; }`,
        ),
        delete: script(
          `systemctl disable --now ${WEB_UNIT} >/dev/null 2>&1 || true`,
          `rm -f ${hashFile}`,
          "systemctl unmask nginx.service apache2.service >/dev/null 2>&1 || true",
          "systemctl daemon-reload",
        ),
      },
      { parent: this, dependsOn: [config.installed, unit.installed] },
    );

    this.registerOutputs({ unitName: this.unitName, httpPort: this.httpPort });
  }
}
