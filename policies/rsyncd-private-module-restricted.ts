// The private tier module runs as a separate daemon on its own port, with a
// non-empty `hosts allow` that does not open it to everyone, authentication
// required, and `list = no`.
import type { StackValidationPolicy } from "@pulumi/policy";
import { mandatoryFacts } from "./lib/facts";
import { isPrivateModule, isRsyncdConf, parseRsyncd, setting } from "./lib/rsyncd";
import { coversEveryone } from "../components/safety";


export const rsyncdPrivateModuleRestricted: StackValidationPolicy = {
  name: "mirrorkit-rsyncd-private-module-restricted",
  description: "The private tier module: own daemon and port, a hosts allow list that is not open, authentication, not listed.",
  enforcementLevel: "mandatory",
  validateStack: async (args, reportViolation) => {
    const { nodes, files } = await mandatoryFacts(args.resources, reportViolation);
    for (const node of nodes) {
      const priv = node.rsync.private;
      if (!priv) continue;
      if (priv.port === node.rsync.port) {
        reportViolation(`node ${node.name}: the private daemon shares port ${priv.port} with the public one. Fix: rsync.private.port (default 874).`, node.urn);
      }
      if (priv.hostsAllow.length === 0 || priv.hostsAllow.some(coversEveryone)) {
        reportViolation(`node ${node.name}: rsync.private.hostsAllow is empty or open to everyone. Fix: list the downstream mirrors' addresses.`, node.urn);
      }
      if (priv.users.length === 0) {
        reportViolation(`node ${node.name}: the private module has no authenticated users. Fix: rsync.private.users.`, node.urn);
      }
      const publicPaths = new Set(node.rsync.modules.map((m) => m.name));
      for (const m of priv.modules) {
        if (publicPaths.has(m.name)) reportViolation(`node ${node.name}: private module "${m.name}" is also public.`, node.urn);
      }
    }
    const confs = files.filter((x) => isRsyncdConf(x.base, x.content)).map((f) => ({ f, conf: parseRsyncd(f.content) }));
    const publicPorts = new Set(
      confs.filter(({ conf }) => conf.modules.some((m) => !isPrivateModule(conf, m))).map(({ conf }) => conf.global.get("port") ?? "873"),
    );
    for (const { f, conf } of confs) {
      const privateModules = conf.modules.filter((m) => isPrivateModule(conf, m));
      if (privateModules.length === 0) continue;
      if (conf.modules.some((m) => !isPrivateModule(conf, m))) {
        reportViolation(`${f.file}: private and public modules share one daemon. Fix: the private module gets its own daemon and port.`, f.urn);
      }
      const port = conf.global.get("port") ?? "873";
      if (publicPorts.has(port) && conf.modules.every((m) => isPrivateModule(conf, m))) {
        reportViolation(`${f.file}: the private daemon listens on ${port}, the public daemon's port.`, f.urn);
      }
      for (const mod of privateModules) {
        const where = `${f.file} [${mod.name}]`;
        const allow = (setting(conf, mod, "hosts allow") ?? "").split(/[\s,]+/).filter(Boolean);
        if (allow.length === 0 || allow.some(coversEveryone)) {
          reportViolation(`${where}: hosts allow is ${allow.length ? `open (${allow.join(" ")})` : "missing"}. Fix: list the downstream mirrors.`, f.urn);
        }
        if ((setting(conf, mod, "secrets file") ?? "") === "") {
          reportViolation(`${where}: auth users without a secrets file. Fix: secrets file = ...`, f.urn);
        }
        if ((setting(conf, mod, "list") ?? "yes").toLowerCase() !== "no") {
          reportViolation(`${where}: the private module is listed. Fix: list = no.`, f.urn);
        }
      }
    }
  },
};
