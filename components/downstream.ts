// How a tier 1 hands its private modules to tier-2 stacks, and how a tier 2
// takes them: the tier-1 stack exports `downstream` (and the tier users'
// passwords as the secret `downstreamCredentials`); a tier-2 stack names that
// stack in `upstreamStack` and reads them through a StackReference.
import { z } from "zod";
import { moduleName, projectName, rsyncServer, sshPublicKey, type NodeBaseConfig, type NodeConfig, type ProjectConfig } from "./config";

export interface DownstreamInfo {
  /** rsync://host:port of the private daemon. */
  rsync: string;
  /** Per synced tree (sync job name), the private module that serves it. */
  modules: Record<string, string>;
  /** The tier 1's push key (when it pushes its downstreams): tier 2s trust it. */
  pushKey?: string;
}

/** What a tier 1 offers its tier 2s; undefined when it has no private module. */
export function downstreamInfo(node: NodeConfig): DownstreamInfo | undefined {
  const priv = node.rsync.private;
  if (!priv) return undefined;
  const modules: Record<string, string> = {};
  for (const job of node.sync) {
    const served = priv.modules.find((m) => m.path.replace(/\/+$/, "") === job.path.replace(/\/+$/, ""));
    if (served) modules[job.name] = served.name;
  }
  return { rsync: `rsync://${node.publicName ?? node.host.address}:${priv.port}`, modules };
}

/** The tier users' passwords, for the secret `downstreamCredentials` output. */
export function downstreamCredentials(node: NodeConfig): Record<string, string> {
  return Object.fromEntries((node.rsync.private?.users ?? []).map((u) => [u.name, u.password]));
}

/** What a tier-1 stack exports as `downstream`, checked before a tier 2 uses it. */
const DownstreamInfoSchema = z.object({
  rsync: rsyncServer,
  modules: z.record(moduleName, moduleName),
  pushKey: sshPublicKey.optional(),
});

/** A tier-1 stack's `downstream` output, or the problems with it (each named by its field). */
export function parseDownstreamInfo(value: unknown, stack: string): DownstreamInfo {
  const r = DownstreamInfoSchema.safeParse(value);
  if (r.success) return r.data;
  throw new Error(`stack "${stack}" exports a "downstream" this kit cannot use:\n${r.error.issues.map((i) => `  - downstream.${i.path.join(".")}: ${i.message}`).join("\n")}`);
}

/**
 * A tier 2 with its upstream filled from the tier 1's outputs: the typed
 * config as written, completed afterwards like any other (completeNode).
 */
export function withUpstreamStack(node: NodeBaseConfig, info: DownstreamInfo, user: string, password: string): NodeBaseConfig {
  if (!node.distro) return node;
  return {
    ...node,
    distro: { ...node.distro, upstream: info.rsync, upstreamModules: info.modules, user, password },
    ...(info.pushKey ? { push: { ...node.push, authorizedKeys: [...node.push.authorizedKeys, info.pushKey] } } : {}),
  };
}

/**
 * A tier-2 project with its upstream filled from its tier-1 stack's outputs;
 * the tier 1's push key joins the node's authorized keys.
 */
export function withProjectUpstream(node: NodeBaseConfig, project: ProjectConfig, info: DownstreamInfo, user: string, password: string): NodeBaseConfig {
  const { upstreamStack: _resolved, ...rest } = project;
  const resolved: ProjectConfig = { ...rest, upstream: info.rsync, upstreamModules: { ...info.modules, ...project.upstreamModules }, user, password };
  return {
    ...node,
    projects: node.projects.map((p) => (p === project ? resolved : p)),
    ...(info.pushKey && !node.push.authorizedKeys.includes(info.pushKey) ? { push: { ...node.push, authorizedKeys: [...node.push.authorizedKeys, info.pushKey] } } : {}),
  };
}

/** A tier-1 stack a node reads: the reference, the config field naming it, and a key naming what reads it. */
export interface Tier1Read {
  ref: { name: string; user: string };
  /** "upstreamStack" or "projects[i].upstreamStack", for messages. */
  field: string;
  /** The node's name, or node and project: one per reference. */
  key: string;
}

/**
 * A node with every tier-1 stack it names resolved: the one-project shape's
 * `upstreamStack`, then each tier-2 project's. `read` fetches one stack's
 * downstream info and the tier user's password (by StackReference in the
 * program, by the CLI in scripts).
 */
export async function withTier1Stacks(node: NodeBaseConfig, read: (r: Tier1Read) => Promise<{ info: DownstreamInfo; password: string }>): Promise<NodeBaseConfig> {
  let resolved = node;
  if (node.upstreamStack) {
    const { info, password } = await read({ ref: node.upstreamStack, field: "upstreamStack", key: node.name });
    resolved = withUpstreamStack(resolved, info, node.upstreamStack.user, password);
  }
  for (const [index, project] of node.projects.entries()) {
    if (!project.upstreamStack) continue;
    const { info, password } = await read({ ref: project.upstreamStack, field: `projects[${index}].upstreamStack`, key: `${node.name}-${projectName(project)}` });
    resolved = withProjectUpstream(resolved, project, info, project.upstreamStack.user, password);
  }
  return resolved;
}
