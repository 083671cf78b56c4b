// The Pulumi program: one mirror node from the stack's `mirrorkit:node` config.
import * as pulumi from "@pulumi/pulumi";
import { completeNode, ConfigError, configWarnings, parseNodeBase, type NodeBaseConfig, type NodeConfig } from "./components/config";
import { downstreamCredentials, downstreamInfo, parseDownstreamInfo, withTier1Stacks, type DownstreamInfo, type Tier1Read } from "./components/downstream";
import { DockerNode } from "./components/docker-node";
import { MirrorNode } from "./components/mirror-node";
import { plainTextSecrets, plainTextSecretsMessage } from "./components/plaintext-secrets";
import { stackFile } from "./components/stack-files";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";

function parse(raw: unknown): NodeBaseConfig {
  try {
    return parseNodeBase(raw);
  } catch (err) {
    // A clean message naming each bad field, no stack trace; nothing has run yet.
    if (err instanceof ConfigError) throw new pulumi.RunError(err.message);
    throw err;
  }
}

/** Reads the raw object: it may hold secret leaves, which MirrorNode keeps secret everywhere. */
function rawConfig(): Record<string, unknown> {
  const raw = pulumi.runtime.getConfig("mirrorkit:node");
  if (raw === undefined) {
    throw new pulumi.RunError('missing stack config "mirrorkit:node" (see stacks/Pulumi.local.yaml for an example)');
  }
  try {
    return JSON.parse(raw) as Record<string, unknown>;
  } catch {
    throw new pulumi.RunError('stack config "mirrorkit:node" must be an object');
  }
}

/** What a tier-1 stack hands its tier 2s, read by StackReference: the private daemon, its modules, the tier user's password. */
async function readTier1({ ref, field, key }: Tier1Read): Promise<{ info: DownstreamInfo; password: string }> {
  const tier1 = new pulumi.StackReference(`upstream-${key}`, { name: ref.name });
  let info: DownstreamInfo | undefined;
  let passwords: Record<string, string> = {};
  try {
    const exported = (await tier1.getOutputDetails("downstream")).value;
    info = exported === undefined ? undefined : parseDownstreamInfo(exported, ref.name);
    const creds = await tier1.getOutputDetails("downstreamCredentials");
    passwords = (creds.secretValue ?? creds.value ?? {}) as Record<string, string>;
  } catch (err) {
    info = undefined;
    if (!pulumi.runtime.isDryRun()) throw new pulumi.RunError(`${field}.name: cannot read stack "${ref.name}": ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!info) {
    const problem = `${field}.name: stack "${ref.name}" exports no "downstream" (a tier 1 with rsync.private, deployed first)`;
    if (!pulumi.runtime.isDryRun()) throw new pulumi.RunError(problem);
    // A preview (e.g. the policy check in CI) still shows everything else.
    void pulumi.log.warn(`${problem}; this preview uses a placeholder upstream`);
    return { info: { rsync: "rsync://tier1-not-deployed:874", modules: {} }, password: "placeholder-password" };
  }
  const password = passwords[ref.user];
  if (password === undefined) {
    throw new pulumi.RunError(`${field}.user: "${ref.user}" is not one of ${ref.name}'s rsync.private.users`);
  }
  return { info, password };
}

/**
 * Refuses secrets written in plain text in the stack file (they would go into
 * git with it). The engine only says that `mirrorkit:node` holds some
 * encrypted value, not which, so the stack file is read (Pulumi.yaml's
 * stackConfigDir). Without a stack file (config given another way), a node
 * with a secret field and no encrypted value at all is refused by what the
 * engine says; one with some encrypted value is let through with a warning.
 */
function plainTextSecretsProblem(raw: Record<string, unknown>): string | undefined {
  const file = path.relative(process.cwd(), stackFile(process.cwd(), pulumi.getStack()));
  if (fs.existsSync(file)) {
    const doc = (parseYaml(fs.readFileSync(file, "utf8")) ?? {}) as { config?: Record<string, unknown> };
    const plain = plainTextSecrets(doc.config?.["mirrorkit:node"]).map((s) => s.path);
    return plain.length > 0 ? plainTextSecretsMessage(file, plain) : undefined;
  }
  const present = plainTextSecrets(raw).map((s) => s.path);
  if (present.length === 0) return undefined;
  // Not in the SDK's typings, but exported: whether the engine marked the key secret.
  const runtime = pulumi.runtime as unknown as { isConfigSecret?: (key: string) => boolean };
  if (runtime.isConfigSecret?.("mirrorkit:node") === false) return plainTextSecretsMessage('config "mirrorkit:node"', present);
  void pulumi.log.warn(`no stack file ${file} to check; make sure ${present.map((p) => `mirrorkit:node.${p}`).join(", ")} are set with --secret`);
  return undefined;
}

/** Parses the config; plain-text secrets are refused with every other problem, in one message. */
function parseChecked(raw: Record<string, unknown>): NodeBaseConfig {
  const secrets = plainTextSecretsProblem(raw);
  let node: NodeBaseConfig;
  try {
    node = parse(raw);
  } catch (err) {
    if (secrets !== undefined && pulumi.RunError.isInstance(err)) throw new pulumi.RunError(`${err.message}\n${secrets}`);
    throw err;
  }
  if (secrets !== undefined) throw new pulumi.RunError(secrets);
  return node;
}

export = async () => {
  const raw = rawConfig();
  // Typed from here on: a tier 2's upstream is filled in before the preset completes the node.
  const node: NodeConfig = completeNode(await withTier1Stacks(parseChecked(raw), readTier1));
  for (const warning of configWarnings(node)) void pulumi.log.warn(warning);
  const mirror = node.runtime === "docker" ? new DockerNode(node.name, node) : new MirrorNode(node.name, node);

  const downstream = downstreamInfo(node);
  return {
    endpoints: mirror.endpoints,
    ...(downstream
      ? {
          // With the push key once the host has made it.
          downstream: pulumi.output(mirror instanceof MirrorNode ? mirror.pushKey : undefined).apply((pushKey) => ({ ...downstream, ...(pushKey ? { pushKey } : {}) })),
          downstreamCredentials: pulumi.secret(downstreamCredentials(node)),
        }
      : {}),
  };
};
