// The sync reproduces upstream's permissions (-p/--perms, or -a): that is what
// keeps staged 0750 directories closed on the node until the bitflip.
import type { StackValidationPolicy } from "@pulumi/policy";
import { mandatoryFacts } from "./lib/facts";
import { hasFlag, isSyncScript, transferFlagSets } from "./lib/sync-script";

export const syncPreservesPermissions: StackValidationPolicy = {
  name: "mirrorkit-sync-preserves-permissions",
  description: "The sync's rsync keeps upstream permissions (-p, --perms or -a), so staged 0750 content stays closed.",
  enforcementLevel: "mandatory",
  validateStack: async (args, reportViolation) => {
    const { files } = await mandatoryFacts(args.resources, reportViolation);
    for (const f of files.filter((x) => isSyncScript(x.base, x.content))) {
      const sets = transferFlagSets(f.content);
      if (sets.length === 0) {
        reportViolation(`${f.file}: no rsync transfer into $DEST found; the sync script must run rsync with -p. Fix: render it from templates/sync.`, f.urn);
      }
      for (const flags of sets) {
        if (!hasFlag(flags, "p", "--perms") && !hasFlag(flags, "a", "--archive")) {
          reportViolation(
            `${f.file}: rsync runs without -p/--perms (flags: ${flags.join(" ")}). Staged 0750 directories would arrive world-readable. Fix: add -p (mirrorkit's default is -rtlpH).`,
            f.urn,
          );
        }
        if (hasFlag(flags, undefined, "--no-perms", "--no-p", "--chmod")) {
          reportViolation(`${f.file}: rsync overrides upstream permissions (${flags.join(" ")}). Fix: drop --no-perms/--chmod.`, f.urn);
        }
      }
    }
  },
};
