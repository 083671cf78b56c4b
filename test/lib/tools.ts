// Runs the real config checkers (nginx, systemd-analyze, rsync, apache2ctl) on rendered files.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `mirrorkit-${prefix}-`));
}

export function sh(cmd: string, args: string[], input?: string): { code: number; out: string } {
  const r = spawnSync(cmd, args, { encoding: "utf8", input });
  return { code: r.status ?? -1, out: `${r.stdout ?? ""}${r.stderr ?? ""}` };
}

/** `systemd-analyze security --offline` overall exposure of a unit file. */
export function exposure(unitFile: string): number {
  const r = sh("systemd-analyze", ["security", "--offline=true", "--no-pager", unitFile]);
  const m = /Overall exposure level for \S+: ([0-9.]+)/.exec(r.out);
  if (!m) throw new Error(`no exposure score in output:\n${r.out}`);
  return Number(m[1]);
}
