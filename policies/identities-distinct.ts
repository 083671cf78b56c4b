// The sync, web and rsync identities are three distinct accounts.
import type { StackValidationPolicy } from "@pulumi/policy";
import { mandatoryFacts } from "./lib/facts";

export const identitiesDistinct: StackValidationPolicy = {
  name: "mirrorkit-identities-distinct",
  description: "The sync (mirror), web (http) and public rsync identities are distinct accounts.",
  enforcementLevel: "mandatory",
  validateStack: async (args, reportViolation) => {
    const { nodes } = await mandatoryFacts(args.resources, reportViolation);
    for (const node of nodes) {
      const roles: [string, string][] = [
        ["mirror", node.accounts.mirror.user],
        ["http", node.accounts.http.user],
        ["rsync", node.accounts.rsync.user],
      ];
      for (let i = 0; i < roles.length; i++) {
        for (let j = i + 1; j < roles.length; j++) {
          if (roles[i][1] === roles[j][1]) {
            reportViolation(
              `node ${node.name}: accounts.${roles[i][0]} and accounts.${roles[j][0]} are both "${roles[i][1]}". Fix: give each role its own account.`,
              node.urn,
            );
          }
        }
      }
    }
  },
};
