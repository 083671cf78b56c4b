// Secrets written in plain text in a stack file land in git with it. The
// engine tells a program only that the `mirrorkit:node` object holds *some*
// encrypted value (the whole key is then marked secret), never which leaves,
// so the check reads the stack file itself, where an encrypted leaf is
// `{ secure: "v1:..." }` and a plain one is a string.

/** The secret-bearing fields of `mirrorkit:node`; `[]` stands for every list index. */
export const SECRET_FIELDS = ["host.privateKey", "rsync.private.users[].password", "sync[].password", "projects[].password", "projects[].push.users[].password", "distro.password", "reportMirror.sitePassword"] as const;

export type Segment = string | number;

/** The concrete paths (with indices) of `field` present in `node`, with their values. */
function expand(node: unknown, field: string): { path: Segment[]; value: unknown }[] {
  let found: { path: Segment[]; value: unknown }[] = [{ path: [], value: node }];
  for (const part of field.split(".")) {
    const list = part.endsWith("[]");
    const key = list ? part.slice(0, -2) : part;
    found = found.flatMap(({ path, value }) => {
      if (typeof value !== "object" || value === null || Array.isArray(value) || !(key in value)) return [];
      const child = (value as Record<string, unknown>)[key];
      if (!list) return [{ path: [...path, key], value: child }];
      return Array.isArray(child) ? child.map((item, i) => ({ path: [...path, key, i], value: item })) : [];
    });
  }
  return found;
}

/** `rsync.private.users[0].password`, as `pulumi config set --path` takes it after `node.`. */
export function configPath(path: Segment[]): string {
  return path.map((s, i) => (typeof s === "number" ? `[${s}]` : i === 0 ? s : `.${s}`)).join("");
}

/** Every secret-bearing field given as a plain string: its config path, its segments and its value (for tests that encrypt them). */
export function plainTextSecrets(node: unknown): { path: string; segments: Segment[]; value: string }[] {
  return SECRET_FIELDS.flatMap((field) =>
    expand(node, field).flatMap(({ path, value }) => (typeof value === "string" && value !== "" ? [{ path: configPath(path), segments: path, value }] : [])),
  );
}

/** The error text for plain-text secrets in `file`: each field, and the command that stores it encrypted. */
export function plainTextSecretsMessage(file: string, paths: string[]): string {
  const lines = paths.map(
    (p) => `  mirrorkit:node.${p}: a secret in plain text (it would go into git with the file); store it encrypted:\n      pulumi config set --secret --path 'node.${p}' < file-holding-the-value`,
  );
  return `${file} holds secrets in plain text:\n${lines.join("\n")}`;
}
