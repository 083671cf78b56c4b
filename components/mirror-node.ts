// A whole mirror node on one Linux host, composed from the kit's components.
import * as pulumi from "@pulumi/pulumi";
import type { NodeConfig } from "./config";
import { connectionFor } from "./connection";
import { HostBase } from "./host-base";
import { MirrorTree } from "./mirror-tree";
import { ServiceAccounts } from "./service-accounts";
import { WebServer } from "./web-server";

export interface MirrorNodeEndpoints {
  http: string;
}

/** Debian packages each web server choice needs. */
export const WEB_PACKAGES: Record<NodeConfig["web"]["server"], string[]> = {
  nginx: ["nginx-light"],
  apache: ["apache2", "libapache2-mod-qos"],
};

export class MirrorNode extends pulumi.ComponentResource {
  readonly endpoints: MirrorNodeEndpoints;

  constructor(name: string, args: NodeConfig, opts?: pulumi.ComponentResourceOptions) {
    // Args reach policies through the engine; the key material does not.
    super("mirrorkit:node:MirrorNode", name, { ...args, host: { ...args.host, privateKey: undefined } }, opts);
    const connection = connectionFor(args.host);

    const base = new HostBase(`${name}-base`, { connection, packages: [...WEB_PACKAGES[args.web.server], "rsync"] }, { parent: this });
    const accounts = new ServiceAccounts(`${name}-accounts`, { connection, accounts: args.accounts }, { parent: this, dependsOn: [base.ready] });
    const tree = new MirrorTree(
      `${name}-tree`,
      { connection, mirrorRoot: args.mirrorRoot, accounts: args.accounts },
      { parent: this, dependsOn: accounts.ready },
    );
    new WebServer(
      `${name}-web`,
      { connection, web: args.web, accounts: args.accounts, mirrorRoot: args.mirrorRoot },
      { parent: this, dependsOn: [tree.ready, ...accounts.ready] },
    );

    const port = args.web.httpPort === 80 ? "" : `:${args.web.httpPort}`;
    this.endpoints = { http: `http://${args.host.address}${port}/` };
    this.registerOutputs({ endpoints: this.endpoints });
  }
}
