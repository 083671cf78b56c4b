// Reads a stack file (stacks/Pulumi.<stack>.yaml) without the engine: its
// `mirrorkit:node` object, with encrypted values replaced by a placeholder.
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { PROJECT_DIR } from "./pulumi";

export const SECRET = "[secret-from-stack]";

function dropSecure(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(dropSecure);
  if (typeof value === "object" && value !== null) {
    const obj = value as Record<string, unknown>;
    if (Object.keys(obj).length === 1 && typeof obj.secure === "string") return SECRET;
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, dropSecure(v)]));
  }
  return value;
}

export function stackFilePath(stack: string): string {
  return path.join(PROJECT_DIR, "stacks", `Pulumi.${stack}.yaml`);
}

export function readStackFile(stack: string): { config: Record<string, unknown> } {
  const file = stackFilePath(stack);
  if (!fs.existsSync(file)) throw new Error(`no stack file ${path.relative(PROJECT_DIR, file)}`);
  const raw = fs.readFileSync(file, "utf8");
  const doc = (parse(raw) ?? {}) as { config?: Record<string, unknown> };
  return { config: dropSecure(doc.config ?? {}) as Record<string, unknown> };
}

/** The stack's raw `mirrorkit:node` value (secrets as placeholders). */
export function rawNodeConfig(stack: string): unknown {
  return readStackFile(stack).config["mirrorkit:node"];
}
