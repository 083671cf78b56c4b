// The sync carries the flags the mirror guides require: -H (hardlinked trees),
// --delay-updates and --delete-after/--delete-delay (no half-updated tree is
// ever served), --safe-links, --numeric-ids.
import type { StackValidationPolicy } from "@pulumi/policy";
import { mandatoryFacts } from "./lib/facts";
import { hasFlag, isSyncScript, transferFlagSets } from "./lib/sync-script";

/** --del, --delete and --delete-* (but not --delay-updates). */
export function isDeleteFlag(flag: string): boolean {
  return /^--del($|ete($|[-=]))/.test(flag);
}

const REQUIRED: { what: string; ok: (flags: string[]) => boolean }[] = [
  { what: "-H/--hard-links", ok: (f) => hasFlag(f, "H", "--hard-links") },
  { what: "--delay-updates", ok: (f) => hasFlag(f, undefined, "--delay-updates") },
  // No delete option at all is the no-delete mode; any deletion must wait for the transfer.
  { what: "--delete-after or --delete-delay", ok: (f) => !f.some(isDeleteFlag) || hasFlag(f, undefined, "--delete-after", "--delete-delay") },
  { what: "--safe-links", ok: (f) => hasFlag(f, undefined, "--safe-links") },
  { what: "--numeric-ids", ok: (f) => hasFlag(f, undefined, "--numeric-ids") },
];

export const syncSafetyFlags: StackValidationPolicy = {
  name: "mirrorkit-sync-safety-flags",
  description: "The sync's rsync uses -H, --delay-updates, --delete-after (or --delete-delay), --safe-links and --numeric-ids.",
  enforcementLevel: "mandatory",
  validateStack: async (args, reportViolation) => {
    const { files } = await mandatoryFacts(args.resources, reportViolation);
    for (const f of files.filter((x) => isSyncScript(x.base, x.content))) {
      for (const flags of transferFlagSets(f.content)) {
        const missing = REQUIRED.filter((r) => !r.ok(flags)).map((r) => r.what);
        if (missing.length > 0) {
          reportViolation(`${f.file}: rsync lacks ${missing.join(", ")} (flags: ${flags.join(" ")}). Fix: use mirrorkit's sync template flags.`, f.urn);
        }
        if (hasFlag(flags, undefined, "--delete-before", "--delete-during", "--del")) {
          reportViolation(`${f.file}: rsync deletes before or during the transfer; use --delete-after or --delete-delay.`, f.urn);
        }
      }
    }
  },
};
