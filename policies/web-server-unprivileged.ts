// The web server is not root, not the mirror identity and not in the mirror
// group: it must be unable to read staged 0750 content.
import type { StackValidationPolicy } from "@pulumi/policy";
import { mandatoryFacts } from "./lib/facts";
import { isWebUnit, unitIdentity } from "./lib/units";

export const webServerUnprivileged: StackValidationPolicy = {
  name: "mirrorkit-web-server-unprivileged",
  description: "The web server runs as neither root nor the mirror account, and outside the mirror group.",
  enforcementLevel: "mandatory",
  validateStack: async (args, reportViolation) => {
    const { nodes, files } = await mandatoryFacts(args.resources, reportViolation);
    for (const node of nodes) {
      const { http, mirror } = node.accounts;
      if (http.user === "root" || http.user === mirror.user || http.group === mirror.group || http.group === "root") {
        reportViolation(
          `node ${node.name}: the web server identity ${http.user}:${http.group} is root, the mirror account or in the mirror group. Fix: accounts.http = mirror-http/mirror-http.`,
          node.urn,
        );
      }
    }
    const mirrorUsers = new Set(nodes.map((n) => n.accounts.mirror.user));
    const mirrorGroups = new Set(nodes.map((n) => n.accounts.mirror.group));
    for (const f of files.filter((x) => isWebUnit(x.base, x.content))) {
      const id = unitIdentity(f.content);
      if (id.dynamicUser) continue;
      if (id.user === undefined || id.user === "root" || id.user === "0" || mirrorUsers.has(id.user)) {
        reportViolation(`${f.file}: the web server runs as ${id.user ?? "root (no User=)"}. Fix: User= the http account.`, f.urn);
      }
      for (const g of [id.group, ...id.supplementaryGroups]) {
        if (g !== undefined && (mirrorGroups.has(g) || g === "root" || g === "0")) {
          reportViolation(`${f.file}: the web server runs in group ${g}, which can read staged content.`, f.urn);
        }
      }
    }
    for (const f of files.filter((x) => x.base === "nginx.conf")) {
      const user = /^\s*user\s+([^\s;]+)/m.exec(f.content)?.[1];
      if (user !== undefined && (user === "root" || mirrorUsers.has(user))) {
        reportViolation(`${f.file}: nginx "user ${user}" would serve as a privileged or mirror identity.`, f.urn);
      }
    }
  },
};
