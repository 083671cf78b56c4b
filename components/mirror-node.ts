// A whole mirror node on one Linux host, composed from the kit's components:
// data volumes, service accounts, the tree, the web server, the rsync
// daemons, one sync job per upstream module and the scheduled bitflips.
import * as pulumi from "@pulumi/pulumi";
import { Bitflip } from "./bitflip";
import { redactSecrets, type NodeConfig } from "./config";
import { connectionFor, KIT_CONFIG_DIR } from "./connection";
import { DataVolume } from "./data-volume";
import { HostBase } from "./host-base";
import { MirrorTree } from "./mirror-tree";
import { PushKey } from "./push-key";
import { PushTrigger } from "./push-trigger";
import { pushModel } from "./render/push";
import { RemoteFile } from "./remote-file";
import { renderReportMirrorConf, reportMirrorModel } from "./render/report-mirror";
import { bitflipModel } from "./render/bitflip";
import { rsyncdModels } from "./render/rsync";
import { syncModel } from "./render/sync";
import { RsyncDaemon } from "./rsync-daemon";
import { ServiceAccounts } from "./service-accounts";
import { SyncJob } from "./sync-job";
import { WebServer } from "./web-server";

export interface MirrorNodeEndpoints {
  http: string;
  https?: string;
  rsync?: string;
  /** rsync URL of the private tier module(s), for downstream stacks. */
  privateRsync?: string;
  privateModules?: string[];
}

/** Debian packages each web server choice needs. */
export const WEB_PACKAGES: Record<NodeConfig["web"]["server"], string[]> = {
  nginx: ["nginx-light", "libnginx-mod-http-js"],
  apache: ["apache2", "libapache2-mod-qos", "libpcre3"],
};

/** Debian packages that unpack RPM metadata (gzip is always there). */
export const RPM_METADATA_TOOLS = ["zstd", "xz-utils", "bzip2"];

export function nodePackages(node: NodeConfig): string[] {
  const packages = new Set([...WEB_PACKAGES[node.web.server], "rsync"]);
  if (node.volumes.some((v) => v.fsType === "xfs")) packages.add("xfsprogs");
  // RPM syncs read primary lists, which upstreams compress with any of these.
  if (node.sync.some((job) => job.stages === "rpm")) for (const p of RPM_METADATA_TOOLS) packages.add(p);
  return [...packages];
}

export function nodeEndpoints(node: NodeConfig): MirrorNodeEndpoints {
  const host = node.publicName ?? node.host.address;
  const withPort = (scheme: string, port: number, standard: number) =>
    `${scheme}://${host}${port === standard ? "" : `:${port}`}/`;
  return {
    http: withPort("http", node.web.httpPort, 80),
    ...(node.web.tls ? { https: withPort("https", node.web.tls.httpsPort, 443) } : {}),
    ...(node.rsync.modules.length > 0 ? { rsync: withPort("rsync", node.rsync.port, 873) } : {}),
    ...(node.rsync.private
      ? { privateRsync: `rsync://${host}:${node.rsync.private.port}/`, privateModules: node.rsync.private.modules.map((m) => m.name) }
      : {}),
  };
}

export class MirrorNode extends pulumi.ComponentResource {
  readonly endpoints: MirrorNodeEndpoints;
  /** The node's effective config (defaults filled, secrets redacted): for policies and downstream stacks. */
  readonly node: NodeConfig;
  /** The public key this node pushes its downstreams with (when it has downstreams). */
  readonly pushKey?: pulumi.Output<string>;

  constructor(name: string, args: NodeConfig, opts?: pulumi.ComponentResourceOptions) {
    // Args reach the state and policies: secrets are redacted there.
    super("mirrorkit:node:MirrorNode", name, redactSecrets(args), opts);
    this.node = redactSecrets(args);
    const connection = connectionFor(args.host);
    const mine = { parent: this };

    const base = new HostBase(`${name}-base`, { connection, packages: nodePackages(args) }, mine);
    const volumes = args.volumes.map(
      (volume) =>
        new DataVolume(`${name}-volume-${volume.name}`, { connection, volume, needGiB: args.diskNeedGiB }, {
          ...mine,
          dependsOn: [base.ready],
        }),
    );
    // Pushes this node accepts (undefined when no key may push).
    const accepts = pushModel(args);
    const accounts = new ServiceAccounts(
      `${name}-accounts`,
      { connection, accounts: args.accounts, withTier: args.rsync.private !== undefined, withPush: accepts !== undefined },
      { ...mine, dependsOn: [base.ready] },
    );
    const tree = new MirrorTree(
      `${name}-tree`,
      { connection, mirrorRoot: args.mirrorRoot, accounts: args.accounts },
      { ...mine, dependsOn: [...accounts.ready, ...volumes.map((v) => v.mounted)] },
    );
    const ready = [tree.ready, ...accounts.ready];

    new WebServer(
      `${name}-web`,
      {
        connection,
        web: args.web,
        accounts: args.accounts,
        mirrorRoot: args.mirrorRoot,
        serverName: args.publicName ?? args.host.address,
        volumes: args.volumes,
      },
      { ...mine, dependsOn: ready },
    );
    for (const model of rsyncdModels(args, KIT_CONFIG_DIR)) {
      new RsyncDaemon(
        `${name}-rsyncd-${model.instance}`,
        {
          connection,
          model,
          users: model.instance === "private" ? pulumi.secret(args.rsync.private?.users ?? []) : undefined,
        },
        { ...mine, dependsOn: ready },
      );
    }
    const report = reportMirrorModel(args);
    const reportConf =
      report &&
      new RemoteFile(
        `${name}-report-mirror`,
        {
          connection,
          path: report.path,
          content: pulumi.secret(renderReportMirrorConf(report, args.reportMirror?.sitePassword ?? "")),
          // It holds the site password: the mirror account, which runs the hook, reads it.
          mode: "0640",
          owner: "root",
          group: report.group,
        },
        { ...mine, dependsOn: ready },
      );
    const trigger = accepts && new PushTrigger(`${name}-push`, { connection, model: accepts }, { ...mine, dependsOn: ready });
    const key =
      args.push.downstreams.length > 0
        ? new PushKey(`${name}-push-key`, { connection, user: args.accounts.mirror.user, group: args.accounts.mirror.group }, { ...mine, dependsOn: ready })
        : undefined;
    this.pushKey = key?.publicKey;
    for (const job of args.sync) {
      new SyncJob(
        `${name}-sync-${job.name}`,
        {
          connection,
          model: syncModel(args, job),
          password: job.password === undefined ? undefined : pulumi.secret(job.password),
          push: accepts && trigger ? { model: accepts, ready: trigger.ready } : undefined,
        },
        { ...mine, dependsOn: [...ready, ...(key ? [key] : []), ...(reportConf ? [reportConf] : [])] },
      );
    }
    for (const flip of args.bitflips) {
      new Bitflip(`${name}-bitflip-${flip.name}`, { connection, model: bitflipModel(args, flip) }, { ...mine, dependsOn: ready });
    }

    this.endpoints = nodeEndpoints(args);
    // Stack policies see components by these outputs (args reach only resource policies).
    this.registerOutputs({ endpoints: this.endpoints, node: this.node, ...(this.pushKey ? { pushKey: this.pushKey } : {}) });
  }
}
