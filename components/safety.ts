// Meanings that defeat the kit's safety promise however they are written,
// checked by the stack config schema and again by the policy pack (pure: no
// Pulumi or zod here).
import { KIT_STATE_DIR, PUSH_TRIGGER_DIR, SYNC_STATE_DIR } from "../plan/paths";

/** Top-level directories that hold mirrors (/srv/mirror) but are never a tree themselves. */
const TOP_LEVEL = ["/", "/srv", "/var", "/home", "/opt", "/mnt", "/media", "/tmp", "/data"];
/** The system's own directories: a tree inside one would publish the host's files. */
const SYSTEM_DIRS = ["/etc", "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/boot", "/dev", "/proc", "/sys", "/run", "/root", KIT_STATE_DIR, SYNC_STATE_DIR, PUSH_TRIGGER_DIR, "/var/log", "/var/lib/dpkg", "/var/lib/apt", "/var/cache"];

/** Is `p` (normalised: no trailing slash) the root, a bare top-level directory, or inside a system directory? */
export function isSystemPath(p: string): boolean {
  const norm = p.replace(/\/+$/, "") || "/";
  return TOP_LEVEL.includes(norm) || SYSTEM_DIRS.some((d) => norm === d || norm.startsWith(`${d}/`));
}

/**
 * Does an rsyncd "hosts allow" entry let every address in? Wildcard-only
 * patterns ("*", "**", "*.*.*.*"), "ALL", and any prefix or netmask of zero
 * bits, IPv4 or IPv6, however it is written ("0.0.0.0/0", "1.2.3.4/0",
 * "0/0", "::/0", "10.0.0.0/0.0.0.0").
 */
export function coversEveryone(entry: string): boolean {
  const e = entry.trim();
  if (/^all$/i.test(e) || /^[*?.:]+$/.test(e)) return true;
  const slash = e.indexOf("/");
  if (slash < 0) return false;
  const mask = e.slice(slash + 1);
  if (/^0*$/.test(mask)) return true;
  // A dotted netmask: every bit zero.
  return /^[0.]+$/.test(mask) && mask.includes(".");
}
