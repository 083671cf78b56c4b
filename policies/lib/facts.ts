// What the policies look at, gathered from a stack's resources: each
// MirrorNode's config (its `node` output), and every rendered file that
// reaches a host: the kit's RemoteFile outputs, the Docker runtime's uploads,
// and the asset of any other CopyToRemote. Whatever is unknown (a preview
// value that depends on an unfinished resource) is listed as unseen.
import { UnknownValueError, type PolicyResource } from "@pulumi/policy";

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
  /** Each job's tier is its project's when it has one (`tier`), else the node's. */
  sync: { name: string; path: string; schedule?: string; tier?: number; project?: string }[];
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

/** Something a policy must read but cannot see (a value unknown in this preview). */
export interface Unseen {
  urn: string;
  what: string;
}

export interface StackFacts {
  nodes: NodeFacts[];
  files: FileFacts[];
  /** What could not be read: a mandatory policy fails on it, never passes. */
  unseen: Unseen[];
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

/**
 * Reads a value through the SDK's checking proxy. An unknown value throws
 * UnknownValueError, which the SDK would turn into an advisory "can't run
 * during preview" and so a pass; here it becomes `unknown`, for the caller
 * to record as unseen.
 */
async function read<T>(get: () => T | Promise<T>): Promise<T | typeof UNKNOWN> {
  try {
    return await get();
  } catch (err) {
    if (err instanceof UnknownValueError) return UNKNOWN;
    throw err;
  }
}
const UNKNOWN: unique symbol = Symbol("unknown");

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

const REMOTE_FILE = "mirrorkit:host:RemoteFile";

export async function collectFacts(resources: PolicyResource[]): Promise<StackFacts> {
  const nodes: NodeFacts[] = [];
  const files: FileFacts[] = [];
  const unseen: Unseen[] = [];
  for (const r of resources) {
    if (r.type === "mirrorkit:node:MirrorNode" || r.type === "mirrorkit:docker:DockerNode") {
      // Stack policies see a component's registered outputs: MirrorNode's `node`.
      const node = await read(() => (isRecord(r.props.node) ? r.props.node : r.props));
      if (node === UNKNOWN) unseen.push({ urn: r.urn, what: `the config of node ${r.name}` });
      else if (isRecord(node.accounts)) nodes.push({ ...(node as unknown as Omit<NodeFacts, "urn">), urn: r.urn });
    } else if (r.type === REMOTE_FILE) {
      // The rendered file, registered by the component (known in a preview).
      const path = await read(() => r.props.path as unknown);
      const content = await read(() => r.props.content as unknown);
      if (typeof path !== "string" || typeof content !== "string") {
        unseen.push({ urn: r.urn, what: `the rendered file ${typeof path === "string" ? path : r.name}` });
      } else {
        files.push({ urn: r.urn, file: path, base: path.split("/").pop()!, content });
      }
    } else if (r.type === "docker:index/container:Container") {
      // The Docker runtime's containers carry the same rendered files as uploads.
      const uploads = await read(() => r.props.uploads as unknown);
      if (uploads === UNKNOWN) unseen.push({ urn: r.urn, what: `the uploads of container ${r.name}` });
      else if (Array.isArray(uploads)) {
        for (const u of uploads as { file?: unknown; content?: unknown }[]) {
          const file = await read(() => u.file);
          const content = await read(() => u.content);
          if (typeof file === "string" && typeof content === "string") {
            files.push({ urn: r.urn, file: `${r.name}:${file}`, base: file.split("/").pop()!, content });
          } else if (file === UNKNOWN || content === UNKNOWN) {
            unseen.push({ urn: r.urn, what: `an upload of container ${r.name}` });
          }
        }
      }
    } else if (r.type === "command:remote:CopyToRemote" && r.parent?.type !== REMOTE_FILE) {
      // A copy of the kit's RemoteFile carries that file, read above; any
      // other copy is read from its asset, which must be known.
      const remotePath = await read(() => r.props.remotePath as unknown);
      const content = await read(async () => assetText(r.props.source));
      if (remotePath === UNKNOWN || content === UNKNOWN) {
        unseen.push({ urn: r.urn, what: `the file copied by ${r.name}` });
      } else if (typeof remotePath === "string" && content !== undefined) {
        files.push({ urn: r.urn, file: remotePath, base: stagedBase(remotePath), content });
      }
    }
  }
  return { nodes, files, unseen };
}

/**
 * The facts a mandatory stack policy checks, with its first duty done:
 * whatever it cannot see is reported as a violation, so an unknown value can
 * never turn a mandatory rule into a pass.
 */
export async function mandatoryFacts(
  resources: PolicyResource[],
  report: (message: string, urn?: string) => void,
): Promise<StackFacts> {
  const facts = await collectFacts(resources);
  for (const u of facts.unseen) {
    report(`can't see ${u.what} (unknown in this preview), so this mandatory rule cannot be checked; it fails rather than passes.`, u.urn);
  }
  return facts;
}

/** Is `p` the tree root or inside it (lexically; '..' is rejected)? */
export function insideTree(p: string, root: string): boolean {
  const norm = (s: string) => s.replace(/\/+$/, "") || "/";
  if (p.split("/").includes("..")) return false;
  return norm(p) === norm(root) || norm(p).startsWith(`${norm(root)}/`);
}
