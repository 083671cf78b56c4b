// Finds the main rsync transfer in a sync script and its flags.

/** The flags of each rsync command that writes into "$DEST" (the mirror tree). */
export function transferFlagSets(script: string): string[][] {
  const sets: string[][] = [];
  // Shell line continuations make one command of several lines.
  for (const raw of script.replace(/\\\n\s*/g, " ").split("\n")) {
    const line = raw.trim();
    if (line.startsWith("#")) continue;
    // `transfer rsync ...` is the kit's retry wrapper around one pass.
    const m = /(?:^|[;&|]\s*|\bexec\s+|^transfer\s+)rsync\s+(.*)$/.exec(line);
    if (!m || !/\$DEST|\$\{DEST\}/.test(m[1])) continue;
    sets.push(m[1].split(/\s+/).filter((t) => t.startsWith("-")));
  }
  return sets;
}

/** Does a flag set carry a short option letter (in any -xyz cluster) or one of the long forms? */
export function hasFlag(flags: string[], short: string | undefined, ...long: string[]): boolean {
  return flags.some(
    (f) => (short !== undefined && /^-[A-Za-z]+$/.test(f) && f.includes(short)) || long.some((l) => f === l || f.startsWith(`${l}=`)),
  );
}

export function isSyncScript(base: string, content: string): boolean {
  return /^sync-.*\.sh$/.test(base) || /mirrorkit-sync\[/.test(content);
}
