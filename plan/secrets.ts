// The text of a node's secret files, from its config (which holds the
// secrets). The plan itself carries placeholders; this is for the one who
// must compare a host's files with the secret ones (the drift report). The
// host runtime renders the same text from Pulumi secrets.
import type { NodeConfig } from "../components/config";
import { renderReportMirrorConf, reportMirrorModel } from "../components/render/report-mirror";
import { pushUsers, renderRsyncdSecrets } from "../components/render/rsync";
import type { Templates } from "../components/render/templates";
import { RSYNCD_PRIVATE_SECRETS, RSYNCD_PUSH_SECRETS, syncPaths } from "./paths";

/** Path -> text of every secret file the node has. */
export function secretFileContents(node: NodeConfig, t: Templates): Map<string, string> {
  const files = new Map<string, string>();
  if (node.rsync.private) files.set(RSYNCD_PRIVATE_SECRETS, renderRsyncdSecrets(node.rsync.private.users));
  const pushers = pushUsers(node);
  if (pushers.length > 0) files.set(RSYNCD_PUSH_SECRETS, renderRsyncdSecrets(pushers));
  for (const job of node.sync) if (job.password !== undefined) files.set(syncPaths(job.name).passwordPath, `${job.password}\n`);
  const report = reportMirrorModel(node);
  if (report && node.reportMirror) files.set(report.path, renderReportMirrorConf(report, node.reportMirror.sitePassword, t));
  return files;
}
