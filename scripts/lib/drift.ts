// The drift report's two halves that need no host: the script that reads
// the facts of the kit's files and units on a host, and the comparison of
// those facts with the plan. Pure, so both are unit-tested.
import * as crypto from "node:crypto";
import { sq } from "../../components/shell";
import type { PlannedFile, PlannedUnit } from "../../plan/files";
import { ACME_CERTIFICATE, ACME_KEY, KIT_CONFIG_DIR, KIT_LIB_DIR, KIT_UNIT_PATTERNS, PUSH_KEY_PATH, SYSTEMD_DIR } from "../../plan/paths";

/** Files the kit makes on the host at run time, not from the plan: the push key, the ACME certificate the renewal installs. */
const MADE_ON_HOST = new Set([PUSH_KEY_PATH, `${PUSH_KEY_PATH}.pub`, ACME_CERTIFICATE, ACME_KEY]);

/**
 * A shell script printing one tab-separated line per fact:
 * `file <path> <mode owner group> <sha256>`, `missing <path>`,
 * `unit <name> <enabled> <active>` and `found <path>` for every file in the
 * kit's own directories (so one the plan no longer has shows too).
 */
export function hostFactsScript(files: PlannedFile[], units: PlannedUnit[]): string {
  const lines = ["set -u"];
  for (const f of files) {
    const p = sq(f.path);
    lines.push(
      `if [ -f ${p} ]; then printf 'file\\t%s\\t%s\\t%s\\n' ${p} "$(stat -c '%a %U %G' ${p})" "$(sha256sum < ${p} | cut -d' ' -f1)"; else printf 'missing\\t%s\\n' ${p}; fi`,
    );
  }
  for (const u of units) {
    const n = sq(u.unitName);
    lines.push(`printf 'unit\\t%s\\t%s\\t%s\\n' ${n} "$(systemctl is-enabled ${n} 2>/dev/null || true)" "$(systemctl is-active ${n} 2>/dev/null || true)"`);
  }
  lines.push(
    `find ${sq(KIT_CONFIG_DIR)} ${sq(KIT_LIB_DIR)} -type f 2>/dev/null | sed 's/^/found\\t/'`,
    `find ${sq(SYSTEMD_DIR)} -maxdepth 1 -type f \\( ${KIT_UNIT_PATTERNS.map((p) => `-name ${sq(p)}`).join(" -o ")} \\) 2>/dev/null | sed 's/^/found\\t/'`,
    "true",
  );
  return `${lines.join("\n")}\n`;
}

export interface Drift {
  path: string;
  /** What differs, in words. */
  problem: string;
  /** A file whose content differs: show a diff (never for a secret). */
  diff?: boolean;
}

/** The differences between the plan (with each file's expected text) and the host's facts. */
export function compareWithHost(files: PlannedFile[], units: PlannedUnit[], expected: (f: PlannedFile) => string, facts: string): Drift[] {
  const seen = new Map<string, string[]>();
  const missing = new Set<string>();
  const unitFacts = new Map<string, [string, string]>();
  const found = new Set<string>();
  for (const line of facts.split("\n")) {
    const [kind, ...rest] = line.split("\t");
    if (kind === "file") seen.set(rest[0], [...(rest[1] ?? "").split(" "), rest[2] ?? ""]);
    else if (kind === "missing") missing.add(rest[0]);
    else if (kind === "unit") unitFacts.set(rest[0], [rest[1] ?? "", rest[2] ?? ""]);
    else if (kind === "found") found.add(rest[0]);
  }
  const drift: Drift[] = [];
  for (const f of files) {
    const fact = seen.get(f.path);
    if (!fact) {
      drift.push({ path: f.path, problem: missing.has(f.path) ? "missing on the host" : "not reported by the host" });
      continue;
    }
    const [mode, owner, group, sha] = fact;
    if (mode.padStart(4, "0") !== f.mode) drift.push({ path: f.path, problem: `mode ${mode.padStart(4, "0")}, planned ${f.mode}` });
    if (owner !== f.owner || group !== f.group) drift.push({ path: f.path, problem: `owner ${owner}:${group}, planned ${f.owner}:${f.group}` });
    const want = crypto.createHash("sha256").update(expected(f)).digest("hex");
    if (sha !== want) drift.push({ path: f.path, problem: f.secret ? "content differs (a secret file: not shown)" : "content differs", ...(f.secret ? {} : { diff: true }) });
  }
  for (const u of units) {
    const [enabled, active] = unitFacts.get(u.unitName) ?? ["", ""];
    // An "install" unit (a timer's service) runs only when its timer starts it.
    if (u.activation === "start" && enabled !== "enabled") drift.push({ path: u.unitName, problem: `unit is ${enabled || "unknown"}, planned enabled` });
    if (u.activation === "start" && active !== "active") drift.push({ path: u.unitName, problem: `unit is ${active || "unknown"}, planned active` });
  }
  const planned = new Set(files.map((f) => f.path));
  for (const p of [...found].sort()) {
    if (!planned.has(p) && !MADE_ON_HOST.has(p)) drift.push({ path: p, problem: "on the host, not in the plan (left by a removed part, or put there by hand)" });
  }
  return drift;
}
