// `npm run stack:clone -- <from> <to> [--set path=value ...]`: a new stack for
// another region from an existing one. Paths are relative to mirrorkit:node
// (`host.address`, `rsync.private.hostsAllow[0]`); values are YAML scalars.
// Secrets are never copied: each secret of <from> is asked for again (one line
// each on standard input) and stored encrypted under <to>'s own key. The
// result must pass zod and the policy pack before it is kept; otherwise
// nothing is written.
import * as fs from "node:fs";
import * as readline from "node:readline";
import { isMap, isScalar, isSeq, parseDocument, type Document } from "yaml";
import { ConfigError, parseNodeConfig } from "../components/config";
import { checkStack, violationLines } from "./policy";
import { pulumi, stackNames } from "./lib/pulumi";
import { stackFilePath } from "./lib/stack-file";

type Path = (string | number)[];

const NODE_KEY = ["config", "mirrorkit:node"];

/** "rsync.private.hostsAllow[0]" -> ["rsync", "private", "hostsAllow", 0] */
export function parsePath(path: string): Path {
  const parts: Path = [];
  for (const m of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) parts.push(m[2] !== undefined ? Number(m[2]) : m[1]);
  if (parts.length === 0) throw new Error(`empty path in --set "${path}"`);
  return parts;
}

export function formatPath(path: Path): string {
  return path.map((p) => (typeof p === "number" ? `[${p}]` : `.${p}`)).join("").replace(/^\./, "");
}

/** Paths (under mirrorkit:node) of every `secure:` value in a stack document. */
export function securePaths(doc: Document, base: Path = NODE_KEY): Path[] {
  const found: Path[] = [];
  const walk = (node: unknown, path: Path) => {
    if (isMap(node)) {
      if (node.items.length === 1 && isScalar(node.items[0].key) && node.items[0].key.value === "secure") {
        found.push(path.slice(base.length));
        return;
      }
      for (const item of node.items) walk(item.value, [...path, String(isScalar(item.key) ? item.key.value : item.key)]);
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => walk(item, [...path, i]));
    }
  };
  walk(doc.getIn(base, true), base);
  return found;
}

/** A --set value as YAML (numbers, booleans, lists); anything YAML cannot read is a string. */
export function parseValue(text: string): unknown {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) return text;
  try {
    return doc.toJS() as unknown;
  } catch {
    return text;
  }
}

async function askLines(questions: string[]): Promise<string[]> {
  if (questions.length === 0) return [];
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr, terminal: false });
  const lines = rl[Symbol.asyncIterator]();
  const answers: string[] = [];
  for (const q of questions) {
    process.stderr.write(`${q}: `);
    const next = await lines.next();
    if (next.done || next.value.trim() === "") throw new Error(`no value given for ${q}`);
    answers.push(next.value.trim());
  }
  rl.close();
  return answers;
}

export interface CloneOptions {
  from: string;
  to: string;
  sets: [string, string][];
  /** Values for the secrets, in the order securePaths() lists them (else asked on stdin). */
  secrets?: string[];
}

export async function cloneStack(opts: CloneOptions): Promise<{ secretPaths: string[]; file: string }> {
  const { from, to } = opts;
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(to)) throw new Error(`stack name "${to}": lower-case letters, digits and '-'`);
  const target = stackFilePath(to);
  if (fs.existsSync(target)) throw new Error(`stacks/Pulumi.${to}.yaml already exists`);
  const doc = parseDocument(fs.readFileSync(stackFilePath(from), "utf8"));
  if (!doc.hasIn(NODE_KEY)) throw new Error(`stacks/Pulumi.${from}.yaml has no mirrorkit:node config`);

  // The new stack gets its own key; secrets are removed, to be asked for again.
  doc.delete("encryptionsalt");
  const secrets = securePaths(doc);
  for (const p of secrets) doc.setIn([...NODE_KEY, ...p], "");
  // The node's name follows the stack's when it did in the original.
  if (String(doc.getIn([...NODE_KEY, "name"])) === from) doc.setIn([...NODE_KEY, "name"], to);
  for (const [path, value] of opts.sets) doc.setIn([...NODE_KEY, ...parsePath(path)], parseValue(value));

  const secretNames = secrets.map(formatPath);
  const values = opts.secrets ?? (await askLines(secretNames.map((n) => `secret ${n} for ${to}`)));
  if (values.length !== secrets.length) throw new Error(`expected ${secrets.length} secret values, got ${values.length}`);

  // zod first, on the exact values the stack will hold: nothing is written on a bad config.
  const candidate = doc.getIn(NODE_KEY) as { toJSON(): unknown };
  const plain = structuredClone(candidate.toJSON()) as Record<string, unknown>;
  secrets.forEach((p, i) => setPlain(plain, p, values[i]));
  parseNodeConfig(plain, `stacks/Pulumi.${to}.yaml: mirrorkit:node`);

  // A stack of that name in the backend (with no file in stacks/) is someone's
  // state: refused before anything is written, and never removed.
  const existing = await stackNames();
  if (existing.includes(to)) throw new Error(`a stack "${to}" already exists in this backend; nothing was written`);

  // Then the policy pack, which needs the stack: written, checked, removed on failure.
  fs.writeFileSync(target, doc.toString());
  let created = false;
  try {
    await pulumi(["stack", "init", to]);
    created = true;
    for (let i = 0; i < secrets.length; i++) {
      await pulumi(["config", "set", "--stack", to, "--secret", "--path", `mirrorkit:node.${secretNames[i]}`], { input: values[i] });
    }
    const run = await checkStack(to, [...existing, to]);
    if (!run.ok) {
      throw new Error(`the policy pack rejects the clone:\n${violationLines(run.output).join("\n") || run.output}`);
    }
  } catch (err) {
    // Only the stack this run created goes.
    if (created) await pulumi(["stack", "rm", to, "--yes", "--force"], { check: false });
    fs.rmSync(target, { force: true });
    throw err;
  }
  return { secretPaths: secretNames, file: target };
}

function setPlain(obj: Record<string, unknown>, path: Path, value: unknown) {
  let cur: Record<string | number, unknown> = obj;
  for (const key of path.slice(0, -1)) cur = cur[key] as Record<string | number, unknown>;
  cur[path[path.length - 1]] = value;
}

function parseArgs(argv: string[]): CloneOptions {
  const [from, to, ...rest] = argv;
  if (!from || !to) throw new Error("usage: npm run stack:clone -- <from> <to> [--set path=value ...]");
  const sets: [string, string][] = [];
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i] === "--set" ? rest[++i] : rest[i].startsWith("--set=") ? rest[i].slice(6) : undefined;
    const eq = arg?.indexOf("=") ?? -1;
    if (arg === undefined || eq <= 0) throw new Error(`unexpected argument "${rest[i]}"; use --set path=value`);
    sets.push([arg.slice(0, eq), arg.slice(eq + 1)]);
  }
  return { from, to, sets };
}

if (require.main === module) {
  cloneStack(parseArgs(process.argv.slice(2)))
    .then(({ file, secretPaths }) => {
      console.log(`wrote ${file}`);
      if (secretPaths.length > 0) console.log(`secrets set anew: ${secretPaths.join(", ")}`);
      console.log("passes zod and the policy pack; next: pulumi up --stack <to>");
    })
    .catch((err: unknown) => {
      console.error(err instanceof ConfigError || err instanceof Error ? err.message : err);
      process.exit(1);
    });
}
