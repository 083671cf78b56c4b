// Advisory: what the tier definitions ask of a node (Parabola, Fedora guides).
import type { StackValidationPolicy } from "@pulumi/policy";
import { collectFacts } from "./lib/facts";

/** Does an OnCalendar expression fire at least hourly? (Its hour field is "*".) */
export function firesHourlyOrMore(schedule: string): boolean {
  const s = schedule.trim().toLowerCase();
  if (s === "minutely" || s === "hourly") return true;
  const time = s.split(/\s+/).pop() ?? "";
  return time.includes(":") && time.split(":")[0].startsWith("*");
}

export const tierRequirements: StackValidationPolicy = {
  name: "mirrorkit-tier-requirements",
  description: "Tier guidance: sync frequency by tier, a dedicated data volume, HTTPS on tier-2 nodes, a short keepalive.",
  enforcementLevel: "advisory",
  validateStack: async (args, reportViolation) => {
    const { nodes } = await collectFacts(args.resources);
    for (const node of nodes) {
      for (const job of node.sync) {
        const tier = job.tier ?? node.tier;
        if (job.schedule !== undefined && !firesHourlyOrMore(job.schedule)) {
          reportViolation(
            `node ${node.name}: sync ${job.name}${job.project ? ` (project ${job.project})` : ""} runs "${job.schedule}", less than hourly; tier ${tier} mirrors sync ${tier === 1 ? "several times an hour" : "hourly"}.`,
            node.urn,
          );
        }
      }
      if (node.volumes.length === 0) {
        reportViolation(`node ${node.name}: the tree has no dedicated data volume (volumes); the sync cannot require its mount.`, node.urn);
      }
      if ((node.tier === 2 || node.sync.some((j) => j.tier === 2)) && node.web.tls === undefined) {
        reportViolation(`node ${node.name}: tier-2 mirrors serve HTTPS as well as HTTP; set web.tls.`, node.urn);
      }
      if (node.web.keepaliveTimeoutSeconds > 15) {
        reportViolation(`node ${node.name}: keepalive timeout ${node.web.keepaliveTimeoutSeconds}s; the Fedora guide suggests about 2 s.`, node.urn);
      }
    }
  },
};
