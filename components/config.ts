// The stack config schema: the one place input is validated and the one
// place defaults live. Components take the parsed, fully-defaulted types.
import { z } from "zod";

const name = z
  .string()
  .regex(/^[a-z_][a-z0-9_-]{0,31}$/, "a POSIX account name (lower case, digits, _ or -, at most 32)");
const absolutePath = z
  .string()
  .regex(/^\/[^\0]*$/, "an absolute path")
  .refine((p) => !p.split("/").includes(".."), "a path without '..'");
const port = z.number().int().min(1).max(65535);

export const HostSchema = z
  .object({
    /** Address the engine connects to over SSH. */
    address: z.string().min(1),
    port: port.default(22),
    user: z.string().min(1).default("root"),
    /** Path of the SSH private key, read when the program runs. */
    privateKeyPath: z.string().min(1).optional(),
    /** The key itself; set it with `pulumi config set --secret`. */
    privateKey: z.string().min(1).optional(),
  })
  .strict()
  .refine((h) => (h.privateKeyPath === undefined) !== (h.privateKey === undefined), {
    message: "set exactly one of privateKeyPath or privateKey",
    path: ["privateKeyPath"],
  });

const AccountSchema = z.object({ user: name, group: name }).strict();

export const AccountsSchema = z
  .object({
    /** Runs the sync and owns the tree; staged 0750 content is readable by its group only. */
    mirror: AccountSchema.default({ user: "mirror", group: "mirror" }),
    /** The web server's identity. */
    http: AccountSchema.default({ user: "mirror-http", group: "mirror-http" }),
    /** The public rsync daemon's identity (the guides' uid = nobody, gid = nogroup). */
    rsync: AccountSchema.default({ user: "nobody", group: "nogroup" }),
  })
  .strict();

export const WebSchema = z
  .object({
    server: z.enum(["nginx", "apache"]).default("nginx"),
    httpPort: port.default(80),
    /** Keepalive per the Fedora mirror guide: on, ~2 s, ~100 requests. */
    keepaliveTimeoutSeconds: z.number().int().min(1).max(300).default(2),
    keepaliveRequests: z.number().int().min(1).max(100000).default(100),
    /** Concurrent connections one client address may hold on ISO images (Fedora uses 6). */
    isoConnectionsPerIp: z.number().int().min(1).max(1000).default(6),
  })
  .strict();

export const NodeConfigSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "lower-case letters, digits and '-'"),
    tier: z.union([z.literal(1), z.literal(2)]).default(2),
    region: z.string().min(1).default("local"),
    host: HostSchema,
    mirrorRoot: absolutePath.default("/srv/mirror"),
    accounts: AccountsSchema.default({
      mirror: { user: "mirror", group: "mirror" },
      http: { user: "mirror-http", group: "mirror-http" },
      rsync: { user: "nobody", group: "nogroup" },
    }),
    web: WebSchema.default({
      server: "nginx",
      httpPort: 80,
      keepaliveTimeoutSeconds: 2,
      keepaliveRequests: 100,
      isoConnectionsPerIp: 6,
    }),
  })
  .strict()
  .superRefine((node, ctx) => {
    const { mirror, http, rsync } = node.accounts;
    const users: [string, string][] = [
      ["mirror", mirror.user],
      ["http", http.user],
      ["rsync", rsync.user],
    ];
    for (let i = 0; i < users.length; i++) {
      for (let j = i + 1; j < users.length; j++) {
        if (users[i][1] === users[j][1]) {
          ctx.addIssue({
            code: "custom",
            path: ["accounts", users[j][0], "user"],
            message: `must differ from accounts.${users[i][0]}.user ("${users[i][1]}"): the sync, web and rsync identities are separate`,
          });
        }
      }
    }
    for (const role of ["http", "rsync"] as const) {
      if (node.accounts[role].group === mirror.group) {
        ctx.addIssue({
          code: "custom",
          path: ["accounts", role, "group"],
          message: `must not be the mirror group "${mirror.group}": that would expose staged 0750 content`,
        });
      }
      if (node.accounts[role].user === "root") {
        ctx.addIssue({ code: "custom", path: ["accounts", role, "user"], message: "must not be root" });
      }
    }
  });

export type HostConfig = z.output<typeof HostSchema>;
export type AccountsConfig = z.output<typeof AccountsSchema>;
export type WebConfig = z.output<typeof WebSchema>;
export type NodeConfig = z.output<typeof NodeConfigSchema>;

/** A stack config that failed validation; the message names every bad field. */
export class ConfigError extends Error {
  constructor(
    readonly key: string,
    readonly problems: { path: string; message: string }[],
  ) {
    super(
      `invalid stack config "${key}":\n` + problems.map((p) => `  - ${p.path}: ${p.message}`).join("\n"),
    );
    this.name = "ConfigError";
  }
}

function describePath(key: string, path: PropertyKey[]): string {
  return [key, ...path.map((p) => (typeof p === "number" ? `[${p}]` : String(p)))]
    .join(".")
    .replace(/\.\[/g, "[");
}

/** Parses raw stack config (as read from Pulumi config) into a NodeConfig. */
export function parseNodeConfig(raw: unknown, key = "mirrorkit:node"): NodeConfig {
  const result = NodeConfigSchema.safeParse(raw);
  if (result.success) return result.data;
  throw new ConfigError(
    key,
    result.error.issues.map((issue) => ({ path: describePath(key, issue.path), message: issue.message })),
  );
}
