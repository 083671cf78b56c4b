// No public path (web root or alias, public rsync module) reaches outside the
// mirror tree.
import type { StackValidationPolicy } from "@pulumi/policy";
import { ACME_WEBROOT, STATUS_DIR } from "../plan/paths";
import { mandatoryFacts, insideTree } from "./lib/facts";
import { isSystemPath } from "../components/safety";
import { isPrivateModule, isRsyncdConf, parseRsyncd, setting } from "./lib/rsyncd";

/** Filesystem paths a web server config publishes: nginx root/alias, Apache DocumentRoot/Alias. */
export function webPublishedPaths(base: string, text: string): string[] {
  const paths: string[] = [];
  const strip = (s: string) => s.replace(/;$/, "").replace(/^"|"$/g, "");
  if (base === "nginx.conf" || /^\s*http\s*\{/m.test(text)) {
    for (const m of text.matchAll(/(?:^|[\s{;])(?:root|alias)\s+([^\s;]+)\s*;/gm)) paths.push(strip(m[1]));
  }
  if (base === "httpd.conf" || /^\s*DocumentRoot\s/m.test(text)) {
    for (const m of text.matchAll(/^\s*DocumentRoot\s+(\S+)/gm)) paths.push(strip(m[1]));
    for (const m of text.matchAll(/^\s*(?:Alias|AliasMatch)\s+\S+\s+(\S+)/gm)) paths.push(strip(m[1]));
  }
  return paths;
}

export const publicPathsInsideTree: StackValidationPolicy = {
  name: "mirrorkit-public-paths-inside-tree",
  description: "Web roots and aliases and public rsync modules stay inside the mirror tree.",
  enforcementLevel: "mandatory",
  validateStack: async (args, reportViolation) => {
    const { nodes, files } = await mandatoryFacts(args.resources, reportViolation);
    if (nodes.length === 0) return;
    const roots = nodes.map((n) => n.mirrorRoot);
    // Published paths outside the tree: the sync jobs' own status page, and
    // the ACME webroot (challenge tokens only; lego's keys are beside it, not in it).
    const inside = (p: string) => roots.some((r) => insideTree(p, r)) || p.replace(/\/+$/, "") === STATUS_DIR || insideTree(p, ACME_WEBROOT);
    for (const node of nodes) {
      if (isSystemPath(node.mirrorRoot)) {
        reportViolation(`node ${node.name}: the mirror tree ${node.mirrorRoot} is the filesystem root or a system directory; the web server and public rsync would serve the host's files. Fix: mirrorRoot = /srv/mirror.`, node.urn);
      }
      for (const m of node.rsync.modules) {
        if (m.path.startsWith("/") || m.path.split("/").includes("..")) {
          reportViolation(`node ${node.name}: public module "${m.name}" path ${m.path} leaves the tree. Fix: a path relative to mirrorRoot.`, node.urn);
        }
      }
    }
    for (const f of files) {
      for (const p of webPublishedPaths(f.base, f.content)) {
        if (!inside(p)) {
          reportViolation(`${f.file}: the web server publishes ${p}, outside the mirror tree (${roots.join(", ")}).`, f.urn);
        }
      }
      if (isRsyncdConf(f.base, f.content)) {
        const conf = parseRsyncd(f.content);
        for (const mod of conf.modules.filter((m) => !isPrivateModule(conf, m))) {
          const p = setting(conf, mod, "path") ?? "";
          if (!inside(p)) {
            reportViolation(`${f.file} [${mod.name}]: public module path ${p || "(unset)"} is outside the mirror tree.`, f.urn);
          }
        }
      }
    }
  },
};
