// `npm run drift -- --stack NAME`: compares every file and unit the kit
// installs on the stack's host with what the stack renders now (its plan),
// and prints the differences: content (with a diff, never for a secret
// file), mode, owner, a missing file, a unit not enabled or not running, and
// a file in the kit's directories the plan does not have. Hand edits show
// here; `pulumi refresh` cannot see them (the command provider reads nothing
// back). Exits 0 when the host is as planned, 1 on drift, 2 when it cannot tell.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { completeNode, ConfigError, parseNodeBase, type HostConfig, type NodeConfig } from "../components/config";
import { privateKeyFile } from "../components/connection";
import { parseDownstreamInfo, withTier1Stacks } from "../components/downstream";
import { templatesFor } from "../components/render/templates";
import { planNode } from "../plan/node";
import { secretFileContents } from "../plan/secrets";
import { compareWithHost, hostFactsScript, type Drift } from "./lib/drift";
import { PROJECT_DIR, pulumi } from "./lib/pulumi";

const USAGE = "usage: npm run drift -- --stack NAME [--json]";

function fail(message: string): never {
  process.stderr.write(`drift: ${message}\n`);
  process.exit(2);
}

/** The stack's node config with its secrets, as the program reads it. */
async function stackNode(stack: string): Promise<NodeConfig> {
  const config = await pulumi(["config", "--stack", stack, "--json", "--show-secrets"], { check: false });
  if (config.code !== 0) fail(`cannot read the config of stack ${stack}: ${config.stderr.trim()}`);
  const entry = (JSON.parse(config.stdout) as Record<string, { value?: string; objectValue?: unknown }>)["mirrorkit:node"];
  if (!entry) fail(`stack ${stack} has no mirrorkit:node config`);
  const raw = entry.objectValue ?? JSON.parse(entry.value ?? "null");
  const base = parseNodeBase(raw, `stack ${stack}: mirrorkit:node`);
  // A tier 2 (or tier-2 project) renders its sync jobs from its tier 1's outputs, as `up` does.
  const resolved = await withTier1Stacks(base, async ({ ref }) => {
    const out = await pulumi(["stack", "output", "--stack", ref.name, "--json", "--show-secrets"], { check: false });
    if (out.code !== 0) fail(`cannot read the outputs of the tier-1 stack ${ref.name}: ${out.stderr.trim()}`);
    const outputs = JSON.parse(out.stdout) as { downstream?: unknown; downstreamCredentials?: Record<string, string> };
    const password = outputs.downstreamCredentials?.[ref.user];
    if (outputs.downstream === undefined || password === undefined) fail(`stack ${ref.name} exports no downstream for user ${ref.user}`);
    return { info: parseDownstreamInfo(outputs.downstream, ref.name), password };
  });
  return completeNode(resolved);
}

/** ssh to the node as `pulumi up` does (its key; host keys not checked, as the command provider does not). */
function sshArgs(host: HostConfig, scratch: string): string[] {
  let key: string | undefined;
  if (host.privateKeyPath !== undefined) {
    key = privateKeyFile(host.privateKeyPath, PROJECT_DIR);
  } else if (host.privateKey !== undefined) {
    key = path.join(scratch, "key");
    fs.writeFileSync(key, host.privateKey.endsWith("\n") ? host.privateKey : `${host.privateKey}\n`, { mode: 0o600 });
  }
  return [
    ...(key ? ["-i", key] : []),
    "-p", String(host.port),
    "-o", "BatchMode=yes",
    "-o", "StrictHostKeyChecking=no",
    "-o", "UserKnownHostsFile=/dev/null",
    "-o", "LogLevel=ERROR",
    "-o", "ConnectTimeout=10",
    `${host.user}@${host.address}`,
  ];
}

function ssh(args: string[], script: string): string {
  const r = spawnSync("ssh", [...args, "sh -s"], { input: script, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) fail(`ssh to the node failed (exit ${r.status}): ${r.stderr.trim()}`);
  return r.stdout;
}

/** A unified diff of the host's file against the planned text. */
function diffOf(args: string[], scratch: string, file: string, planned: string): string {
  const host = ssh(args, `cat '${file.replace(/'/g, "'\\''")}'\n`);
  const a = path.join(scratch, "host");
  const b = path.join(scratch, "planned");
  fs.writeFileSync(a, host);
  fs.writeFileSync(b, planned);
  const r = spawnSync("diff", ["-u", "--label", `${file} (host)`, "--label", `${file} (plan)`, a, b], { encoding: "utf8" });
  return r.stdout;
}

async function main() {
  let values: { stack?: string; json?: boolean };
  try {
    ({ values } = parseArgs({ options: { stack: { type: "string" }, json: { type: "boolean" } } }));
  } catch (err) {
    fail(`${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
  }
  if (!values.stack) fail(USAGE);
  const node = await stackNode(values.stack);
  if (node.runtime === "docker") fail("a Docker node's files live in its containers; the drift report reads hosts");
  const templates = templatesFor(node.templateDir, PROJECT_DIR);
  const plan = planNode(node, templates);
  const secrets = secretFileContents(node, templates);
  const expected = (f: { path: string; content: string; secret?: boolean }) => (f.secret ? (secrets.get(f.path) ?? "") : f.content);

  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "mirrorkit-drift-"));
  let drifted: boolean;
  try {
    const args = sshArgs(node.host, scratch);
    const drift: Drift[] = compareWithHost(plan.files, plan.units, expected, ssh(args, hostFactsScript(plan.files, plan.units)));
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ stack: values.stack, files: plan.files.length, units: plan.units.length, drift }, null, 2)}\n`);
    } else if (drift.length === 0) {
      console.log(`no drift: ${plan.files.length} files and ${plan.units.length} units on ${node.host.address} are as stack ${values.stack} plans them`);
    } else {
      console.log(`DRIFT on ${node.host.address} (stack ${values.stack}): ${drift.length} difference(s)`);
      for (const d of drift) {
        console.log(`  ${d.path}: ${d.problem}`);
        const file = d.diff ? plan.files.find((f) => f.path === d.path) : undefined;
        if (file) console.log(diffOf(args, scratch, file.path, file.content).trimEnd().replace(/^/gm, "    "));
      }
      // The command provider reads nothing back: neither refresh nor up sees a hand edit.
      console.log(`\`pulumi up\` does not see these. Put each file back as planned (\`npm run render -- ${values.stack} DIR\` writes them, secrets aside) and start what is stopped.`);
    }
    drifted = drift.length > 0;
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  process.exit(drifted ? 1 : 0);
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) fail(err.message);
  fail(err instanceof Error ? err.message : String(err));
});
