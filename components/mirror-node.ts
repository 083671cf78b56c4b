// A whole mirror node on one Linux host, composed from the kit's components:
// data volumes, service accounts, the tree, the web server, the rsync
// daemons, one sync job per upstream module and the scheduled bitflips.
import * as pulumi from "@pulumi/pulumi";
import { Bitflip } from "./bitflip";
import { redactSecrets, type NodeConfig } from "./config";
import { connectionFor } from "./connection";
import { DataVolume } from "./data-volume";
import { HostBase } from "./host-base";
import { MirrorTree } from "./mirror-tree";
import { PushKey } from "./push-key";
import { PushTrigger } from "./push-trigger";
import { plannedFileArgs, RemoteFile } from "./remote-file";
import { renderReportMirrorConf, reportMirrorModel } from "./render/report-mirror";
import { templatesFor } from "./render/templates";
import { planNode } from "../plan/node";
import { RsyncDaemon } from "./rsync-daemon";
import { ServiceAccounts } from "./service-accounts";
import { SyncJob } from "./sync-job";
import { WebServer } from "./web-server";
import { plannedUnitArgs, SystemdUnit } from "./systemd-unit";
import { pushUsers } from "./render/rsync";

export interface MirrorNodeEndpoints {
  http: string;
  https?: string;
  rsync?: string;
  /** rsync URL of the private tier module(s), for downstream stacks. */
  privateRsync?: string;
  privateModules?: string[];
}

export { nodePackages, RPM_METADATA_TOOLS, WEB_PACKAGES } from "../plan/node";

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
    // Everything the node has, from its config alone; the components deliver it.
    const templates = templatesFor(args.templateDir);
    const plan = planNode(args, templates);

    const base = new HostBase(`${name}-base`, { connection, packages: plan.packages }, mine);
    const volumes = plan.volumes.map(
      ({ volume }) =>
        new DataVolume(`${name}-volume-${volume.name}`, { connection, volume, needGiB: args.diskNeedGiB, templates }, {
          ...mine,
          dependsOn: [base.ready],
        }),
    );
    const accounts = new ServiceAccounts(
      `${name}-accounts`,
      { connection, accounts: args.accounts, withTier: args.rsync.private !== undefined, withPush: plan.push !== undefined },
      { ...mine, dependsOn: [base.ready] },
    );
    const tree = new MirrorTree(
      `${name}-tree`,
      { connection, mirrorRoot: plan.tree.path, accounts: args.accounts, jobTrees: plan.sync.map((s) => s.dest) },
      { ...mine, dependsOn: [...accounts.ready, ...volumes.map((v) => v.mounted)] },
    );
    const ready = [tree.ready, ...accounts.ready];
    if (plan.volumeMetrics) new RemoteFile(`${name}-${plan.volumeMetrics.key}`, plannedFileArgs(connection, plan.volumeMetrics), { ...mine, dependsOn: ready });

    new WebServer(
      `${name}-web`,
      {
        connection,
        web: args.web,
        accounts: args.accounts,
        mirrorRoot: args.mirrorRoot,
        serverName: args.publicName ?? args.host.address,
        volumes: args.volumes,
        templates,
      },
      { ...mine, dependsOn: ready },
    );
    for (const { model } of plan.rsyncd) {
      new RsyncDaemon(
        `${name}-rsyncd-${model.instance}`,
        {
          connection,
          model,
          users: model.instance === "private" ? pulumi.secret(args.rsync.private?.users ?? []) : model.instance === "push" ? pulumi.secret(pushUsers(args)) : undefined,
          templates,
        },
        { ...mine, dependsOn: ready },
      );
    }
    const report = reportMirrorModel(args);
    const reportConf =
      plan.reportMirror &&
      report &&
      new RemoteFile(
        `${name}-${plan.reportMirror.key}`,
        // It holds the site password: rendered here from the secret, never from the plan.
        plannedFileArgs(connection, plan.reportMirror, pulumi.secret(renderReportMirrorConf(report, args.reportMirror?.sitePassword ?? "", templates))),
        { ...mine, dependsOn: ready },
      );
    const trigger = plan.push && new PushTrigger(`${name}-push`, { connection, model: plan.push.model, templates }, { ...mine, dependsOn: ready });
    const key =
      args.push.downstreams.length > 0
        ? new PushKey(`${name}-push-key`, { connection, user: args.accounts.mirror.user, group: args.accounts.mirror.group }, { ...mine, dependsOn: ready })
        : undefined;
    this.pushKey = key?.publicKey;
    for (const { model } of plan.sync) {
      new SyncJob(
        `${name}-sync-${model.job.name}`,
        {
          connection,
          model,
          password: model.job.password === undefined ? undefined : pulumi.secret(model.job.password),
          push: plan.push && trigger ? { model: plan.push.model, ready: trigger.ready } : undefined,
          templates,
        },
        { ...mine, dependsOn: [...ready, ...(key ? [key] : []), ...(reportConf ? [reportConf] : [])] },
      );
    }
    if (plan.nodeExporter) {
      // After the accounts and the tree: it reads the sync jobs' metrics directory.
      new SystemdUnit(`${name}-${plan.nodeExporter.key}`, plannedUnitArgs(connection, plan.nodeExporter), { ...mine, dependsOn: ready });
    }
    for (const { model } of plan.bitflips) {
      new Bitflip(`${name}-bitflip-${model.flip.name}`, { connection, model, templates }, { ...mine, dependsOn: ready });
    }

    this.endpoints = nodeEndpoints(args);
    // Stack policies see components by these outputs (args reach only resource policies).
    this.registerOutputs({ endpoints: this.endpoints, node: this.node, ...(this.pushKey ? { pushKey: this.pushKey } : {}) });
  }
}
