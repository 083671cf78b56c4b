// A writable rsync module (an upstream's pushes, openSUSE style) is where
// anyone who reaches it writes into the tree the public is served: it must
// ask for a password (auth users, secrets file), list the upstream's hosts
// (hosts allow, not open to all), never serve a read (write only), share its
// daemon with no read-only module, and write into its own project's tree only.
import type { StackValidationPolicy } from "@pulumi/policy";
import { coversEveryone } from "../components/safety";
import { mandatoryFacts } from "./lib/facts";
import { isRsyncdConf, isYes, parseRsyncd, setting } from "./lib/rsyncd";

export const rsyncdWritableModuleRestricted: StackValidationPolicy = {
  name: "mirrorkit-rsyncd-writable-module-restricted",
  description: "A writable (push) rsync module: authentication, an address list that is not open, write only, a daemon of its own, its project's tree only.",
  enforcementLevel: "mandatory",
  validateStack: async (args, reportViolation) => {
    const { nodes, files } = await mandatoryFacts(args.resources, reportViolation);
    // A project's trees, by project, over every node of the stack.
    const trees = new Map<string, Set<string>>();
    for (const node of nodes) {
      for (const job of node.sync) {
        const key = job.project ?? job.name;
        const dest = `${node.mirrorRoot}/${job.path}`.replace(/\/+$/, "");
        trees.set(key, (trees.get(key) ?? new Set()).add(dest));
      }
    }
    for (const f of files.filter((x) => isRsyncdConf(x.base, x.content))) {
      const conf = parseRsyncd(f.content);
      const writable = conf.modules.filter((m) => !isYes(setting(conf, m, "read only") ?? "yes"));
      if (writable.length === 0) continue;
      if (writable.length < conf.modules.length) {
        reportViolation(`${f.file}: writable and read-only modules share one daemon. Fix: pushes get a daemon of their own (projects[].push).`, f.urn);
      }
      for (const mod of writable) {
        const where = `${f.file} [${mod.name}]`;
        const allow = (setting(conf, mod, "hosts allow") ?? "").split(/[\s,]+/).filter(Boolean);
        if (allow.length === 0 || allow.some(coversEveryone)) {
          reportViolation(`${where}: a writable module with hosts allow ${allow.length ? `open (${allow.join(" ")})` : "missing"}. Fix: projects[].push.hostsAllow lists the upstream's push hosts.`, f.urn);
        }
        if ((setting(conf, mod, "auth users") ?? "").trim() === "" || (setting(conf, mod, "secrets file") ?? "").trim() === "") {
          reportViolation(`${where}: a writable module without authentication (auth users and a secrets file). Fix: projects[].push.users.`, f.urn);
        }
        if (!isYes(setting(conf, mod, "write only"))) {
          reportViolation(`${where}: a writable module that also serves reads. Fix: write only = yes.`, f.urn);
        }
        // The kit names the module's project in its post-xfer hook: "<hook> <project>".
        const project = (setting(conf, mod, "post-xfer exec") ?? "").trim().split(/\s+/)[1];
        const path = (setting(conf, mod, "path") ?? "").replace(/\/+$/, "");
        const own = project === undefined ? undefined : trees.get(project);
        if (!own) {
          reportViolation(`${where}: a writable module tied to no project of the node. Fix: writable modules come from projects[].push only.`, f.urn);
        } else if (!own.has(path)) {
          reportViolation(`${where}: writes into ${path}, outside project ${project}'s trees (${[...own].join(", ")}). Fix: writable modules come from projects[].push only.`, f.urn);
        }
      }
    }
  },
};
