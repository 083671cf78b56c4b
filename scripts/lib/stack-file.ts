// Reads a stack file (stacks/Pulumi.<stack>.yaml) without the engine: its
// `mirrorkit:node` object, with encrypted values replaced by a placeholder;
// writes one as an operator must, secrets encrypted.
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { plainTextSecrets, type Segment } from "../../components/plaintext-secrets";
import { PROJECT_DIR, pulumi, stackNames } from "./pulumi";
import { stackFile } from "../../components/stack-files";

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
  return stackFile(PROJECT_DIR, stack);
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

/**
 * Writes stacks/Pulumi.<stack>.yaml with `node` as the mirrorkit:node config,
 * as an operator must: every secret-bearing field encrypted (`pulumi config
 * set --secret --path`, the value on stdin), the rest as written. Creates the
 * stack when it does not exist; keeps the file's encryption salt.
 */
export async function writeStackFile(stack: string, node: Record<string, unknown>): Promise<string> {
  const file = stackFilePath(stack);
  const secrets = plainTextSecrets(node);
  const plain = structuredClone(node);
  for (const { segments } of secrets) removePath(plain, segments);
  const salt = fs.existsSync(file) ? /^encryptionsalt: .*$/m.exec(fs.readFileSync(file, "utf8"))?.[0] : undefined;
  // JSON is YAML: no YAML library needed to write a config file.
  fs.writeFileSync(file, `${salt ? `${salt}\n` : ""}config:\n  mirrorkit:node: ${JSON.stringify(plain)}\n`);
  if (secrets.length > 0 && !(await stackNames()).includes(stack)) await pulumi(["stack", "init", stack]);
  for (const { path: p, value } of secrets) await pulumi(["config", "set", "--secret", "--path", `node.${p}`, "--stack", stack], { input: value });
  return file;
}

/** Deletes the value at `parts` (keys and list indices) from an object. */
function removePath(obj: Record<string, unknown>, parts: Segment[]): void {
  let at: unknown = obj;
  for (const part of parts.slice(0, -1)) at = (at as Record<string | number, unknown>)[part];
  delete (at as Record<string | number, unknown>)[parts[parts.length - 1]];
}
