// `npm run policy`: `pulumi preview --policy-pack policies` over every stack in
// stacks/. Needs no reachable host (preview only). Exits non-zero when any
// stack has a mandatory violation, printing the policy, resource and fix.
import * as fs from "node:fs";
import * as path from "node:path";
import { PROJECT_DIR, pulumi, stackNames } from "./lib/pulumi";

export interface PolicyRun {
  stack: string;
  ok: boolean;
  output: string;
}

export function stacksInRepo(): string[] {
  return fs
    .readdirSync(path.join(PROJECT_DIR, "stacks"))
    .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined && !/^(e2e|bench)-/.test(s))
    .sort();
}

export async function checkStack(stack: string, existing: string[]): Promise<PolicyRun> {
  // A stack file with no stack in this backend yet (a fresh clone, CI): init it from the file.
  if (!existing.includes(stack)) await pulumi(["stack", "init", stack]);
  const r = await pulumi(["preview", "--stack", stack, "--policy-pack", path.join(PROJECT_DIR, "policies")], { check: false });
  return { stack, ok: r.code === 0, output: r.stdout + r.stderr };
}

/** The policy report lines of a preview's output. */
export function violationLines(output: string): string[] {
  const lines = output.split("\n");
  const start = lines.findIndex((l) => /Policies:/.test(l));
  return start < 0 ? [] : lines.slice(start).filter((l) => l.trim() !== "");
}

async function main() {
  const stacks = process.argv.slice(2).length > 0 ? process.argv.slice(2) : stacksInRepo();
  const existing = await stackNames();
  let failed = 0;
  for (const stack of stacks) {
    const run = await checkStack(stack, existing);
    const report = violationLines(run.output);
    console.log(`${run.ok ? "PASS" : "FAIL"} ${stack}`);
    for (const line of report) console.log(`    ${line}`);
    if (!run.ok) {
      failed++;
      if (report.length === 0) console.log(run.output.split("\n").slice(-30).join("\n"));
    }
  }
  console.log(`\npolicy pack: ${stacks.length - failed} of ${stacks.length} stacks compliant`);
  process.exit(failed === 0 ? 0 : 1);
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
