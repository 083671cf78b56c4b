// Fedora MirrorManager's report_mirror.conf, from the node's reportMirror
// config: the site, the host and, per category, the tree that carries it.
import type { NodeConfig } from "../config";
import { REPORT_MIRROR_CONF } from "../config";
import { HEADER } from "./systemd";
import { KIT_TEMPLATES, type Templates } from "./templates";

export interface ReportMirrorModel {
  path: string;
  server: string;
  site: string;
  host: string;
  categories: { name: string; path: string }[];
  /** Readable by the account that runs the hook. */
  group: string;
}

export function reportMirrorModel(node: NodeConfig): ReportMirrorModel | undefined {
  const rm = node.reportMirror;
  if (!rm) return undefined;
  const dest = (job: string) => {
    const sync = node.sync.find((j) => j.name === job);
    return `${node.mirrorRoot}/${sync?.path ?? job}`.replace(/\/+$/, "");
  };
  return {
    path: REPORT_MIRROR_CONF,
    server: rm.server,
    site: rm.site,
    host: rm.host,
    categories: Object.entries(rm.categories).map(([name, job]) => ({ name, path: dest(job) })),
    group: node.accounts.mirror.group,
  };
}

/** The file, with the site password given separately (a secret, or a placeholder). */
export function renderReportMirrorConf(m: ReportMirrorModel, sitePassword: string, t: Templates = KIT_TEMPLATES): string {
  return t.render("sync/report_mirror.conf.hbs", { header: HEADER, ...m, sitePassword });
}
