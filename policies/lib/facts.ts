// What the policies look at, gathered from a stack's resources: each
// MirrorNode's arguments, and every rendered file that reaches a host, taken
// both from RemoteFile arguments and from the asset the CopyToRemote actually
// copies (so a custom template or override cannot bring a violation back).
import type { PolicyResource } from "@pulumi/policy";

export interface Account {
  user: string;
  group: string;
}

export interface NodeFacts {
  urn: string;
  name: string;
  tier: number;
  mirrorRoot: string;
  accounts: { mirror: Account; http: Account; rsync: Account; tier: { user: string } };
  web: { server: string; keepaliveTimeoutSeconds: number; tls?: unknown };
  rsync: {
    port: number;
    modules: { name: string; path: string }[];
    private?: { port: number; hostsAllow: string[]; users: { name: string }[]; modules: { name: string; path: string }[] };
  };
  sync: { name: string; schedule?: string }[];
  volumes: { name: string }[];
}

export interface FileFacts {
  urn: string;
  /** Destination path (RemoteFile) or the staged file's name (CopyToRemote). */
  file: string;
  /** Base name, e.g. "rsyncd-public.conf", "sync-fedora.sh", "mirrorkit-web.service". */
  base: string;
  content: string;
}

export interface StackFacts {
  nodes: NodeFacts[];
  files: FileFacts[];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null;
}

/** The policy SDK hands props through checking proxies; promises must be awaited unwrapped. */
function unproxy(v: unknown): unknown {
  if (isRecord(v) && (v as Record<string, unknown>).__isSpecialProxy === true) {
    return (v as Record<string, unknown>).__getSpecialProxyTarget;
  }
  return v;
}

async function assetText(source: unknown): Promise<string | undefined> {
  if (!isRecord(source)) return undefined;
  const text = unproxy((source as { text?: unknown }).text);
  if (typeof text === "string") return text;
  if (text instanceof Promise) {
    const resolved: unknown = await text;
    return typeof resolved === "string" ? resolved : undefined;
  }
  return undefined;
}

/** Staged copies are named "<16 hex digest>-<base name>". */
function stagedBase(remotePath: string): string {
  return remotePath.split("/").pop()!.replace(/^[0-9a-f]{16}-/, "");
}

export async function collectFacts(resources: PolicyResource[]): Promise<StackFacts> {
  const nodes: NodeFacts[] = [];
  const files: FileFacts[] = [];
  for (const r of resources) {
    if (r.type === "mirrorkit:node:MirrorNode" || r.type === "mirrorkit:docker:DockerNode") {
      // Stack policies see a component's registered outputs: MirrorNode's `node`.
      const node = isRecord(r.props.node) ? r.props.node : r.props;
      if (isRecord(node.accounts)) nodes.push({ ...(node as unknown as Omit<NodeFacts, "urn">), urn: r.urn });
    } else if (r.type === "mirrorkit:host:RemoteFile" && typeof r.props.path === "string" && typeof r.props.content === "string") {
      files.push({ urn: r.urn, file: r.props.path, base: r.props.path.split("/").pop()!, content: r.props.content });
    } else if (r.type === "docker:index/container:Container" && Array.isArray(r.props.uploads)) {
      // The Docker runtime's containers carry the same rendered files as uploads.
      for (const u of r.props.uploads as { file?: unknown; content?: unknown }[]) {
        if (typeof u.file === "string" && typeof u.content === "string") {
          files.push({ urn: r.urn, file: `${r.name}:${u.file}`, base: u.file.split("/").pop()!, content: u.content });
        }
      }
    } else if (r.type === "command:remote:CopyToRemote" && typeof r.props.remotePath === "string") {
      const content = await assetText(r.props.source);
      if (content !== undefined) {
        files.push({ urn: r.urn, file: r.props.remotePath, base: stagedBase(r.props.remotePath), content });
      }
    }
  }
  return { nodes, files };
}

/** Is `p` the tree root or inside it (lexically; '..' is rejected)? */
export function insideTree(p: string, root: string): boolean {
  const norm = (s: string) => s.replace(/\/+$/, "") || "/";
  if (p.split("/").includes("..")) return false;
  return norm(p) === norm(root) || norm(p).startsWith(`${norm(root)}/`);
}
