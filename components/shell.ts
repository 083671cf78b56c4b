// Small helpers for the shell scripts the kit runs on hosts.
import { createHash } from "node:crypto";

/** Quotes a value for POSIX sh. */
export function sq(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** A short content hash, used to name staged files and to mark scripts. */
export function digest(...parts: string[]): string {
  const h = createHash("sha256");
  for (const p of parts) h.update(p).update("\0");
  return h.digest("hex").slice(0, 16);
}

/** Joins script lines under `set -eu`, so any failing step fails the resource. */
export function script(...lines: string[]): string {
  return ["set -eu", ...lines].join("\n") + "\n";
}
