// How a tier 1 hands its private modules to tier-2 stacks, and how a tier 2
// takes them: the tier-1 stack exports `downstream` (and the tier users'
// passwords as the secret `downstreamCredentials`); a tier-2 stack names that
// stack in `upstreamStack` and reads them through a StackReference.
import type { NodeConfig } from "./config";

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

/** A tier 2's raw config with its upstream filled from the tier 1's outputs. */
export function withUpstreamStack(
  raw: Record<string, unknown>,
  info: DownstreamInfo,
  user: string,
  password: string,
): Record<string, unknown> {
  const distro = (raw.distro ?? {}) as Record<string, unknown>;
  const push = (raw.push ?? {}) as Record<string, unknown>;
  const keys = Array.isArray(push.authorizedKeys) ? (push.authorizedKeys as unknown[]) : [];
  return {
    ...raw,
    distro: { ...distro, upstream: info.rsync, upstreamModules: info.modules, user, password },
    ...(info.pushKey ? { push: { ...push, authorizedKeys: [...keys, info.pushKey] } } : {}),
  };
}
