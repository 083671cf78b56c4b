// Where a project keeps its stack files: Pulumi.yaml's stackConfigDir (the
// project directory when unset), as the Pulumi CLI reads it.
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";

export function stackFile(projectDir: string, stack: string): string {
  const project = (parse(fs.readFileSync(path.join(projectDir, "Pulumi.yaml"), "utf8")) ?? {}) as { stackConfigDir?: unknown };
  const dir = typeof project.stackConfigDir === "string" ? project.stackConfigDir : ".";
  return path.resolve(projectDir, dir, `Pulumi.${stack}.yaml`);
}
