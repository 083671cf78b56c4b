// Public rsync modules serve as an unprivileged identity outside the mirror
// group (nobody/nogroup by default), read only, with `ignore nonreadable`, so
// staged 0750 directories neither transfer nor even show in listings.
import type { StackValidationPolicy } from "@pulumi/policy";
import { mandatoryFacts } from "./lib/facts";
import { isPrivateModule, isRsyncdConf, isYes, parseRsyncd, setting } from "./lib/rsyncd";

export const rsyncdPublicModuleUnprivileged: StackValidationPolicy = {
  name: "mirrorkit-rsyncd-public-module-unprivileged",
  description: "Public rsync modules run as an unprivileged identity not in the mirror group, read only, with ignore nonreadable.",
  enforcementLevel: "mandatory",
  validateStack: async (args, reportViolation) => {
    const { nodes, files } = await mandatoryFacts(args.resources, reportViolation);
    for (const node of nodes) {
      const { rsync, mirror } = node.accounts;
      if (rsync.user === "root" || rsync.group === "root" || rsync.user === mirror.user || rsync.group === mirror.group) {
        reportViolation(
          `node ${node.name}: the public rsync identity ${rsync.user}:${rsync.group} is privileged or the mirror's. Fix: accounts.rsync = nobody/nogroup.`,
          node.urn,
        );
      }
    }
    // The mirror groups and users of every node in the stack (one per stack in practice).
    const mirrorGroups = new Set(nodes.map((n) => n.accounts.mirror.group));
    const mirrorUsers = new Set(nodes.map((n) => n.accounts.mirror.user));
    if (mirrorGroups.size === 0) mirrorGroups.add("mirror");
    if (mirrorUsers.size === 0) mirrorUsers.add("mirror");
    for (const f of files.filter((x) => isRsyncdConf(x.base, x.content))) {
      const conf = parseRsyncd(f.content);
      for (const mod of conf.modules.filter((m) => !isPrivateModule(conf, m))) {
        const uid = setting(conf, mod, "uid");
        const gid = setting(conf, mod, "gid");
        const where = `${f.file} [${mod.name}]`;
        if (uid === undefined || uid === "root" || uid === "0" || mirrorUsers.has(uid)) {
          reportViolation(`${where}: public module runs as uid ${uid ?? "(unset)"}. Fix: uid = nobody.`, f.urn);
        }
        if (gid === undefined || gid === "root" || gid === "0" || mirrorGroups.has(gid)) {
          reportViolation(`${where}: public module runs as gid ${gid ?? "(unset)"}, which can read staged content. Fix: gid = nogroup.`, f.urn);
        }
        if (!isYes(setting(conf, mod, "ignore nonreadable"))) {
          reportViolation(`${where}: "ignore nonreadable" is not yes; staged directories would be listed. Fix: ignore nonreadable = yes.`, f.urn);
        }
        const readOnly = setting(conf, mod, "read only");
        if (readOnly !== undefined && !isYes(readOnly)) {
          reportViolation(`${where}: public module is writable. Fix: read only = yes.`, f.urn);
        }
      }
    }
  },
};
