// The SSH connection every remote resource of a node uses.
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type * as command from "@pulumi/command";
import type { HostConfig } from "./config";

export type Connection = command.types.input.remote.ConnectionArgs;

/**
 * Builds connection args from validated host config. A key path is resolved
 * against the project directory (a leading ~ against $HOME) and read now, so
 * a missing key fails `up` before any remote command runs. A preview touches
 * no host, so there it is only a warning (policy checks need no key).
 */
export function connectionFor(host: HostConfig, projectDir = process.cwd()): pulumi.Output<Connection> {
  let key: string;
  if (host.privateKeyPath !== undefined) {
    const file = privateKeyFile(host.privateKeyPath, projectDir);
    if (fs.existsSync(file)) {
      key = fs.readFileSync(file, "utf8");
    } else if (pulumi.runtime.isDryRun()) {
      void pulumi.log.warn(`host.privateKeyPath: no such file: ${file} (fine for a preview; \`up\` needs it)`);
      key = "";
    } else {
      throw new pulumi.RunError(`host.privateKeyPath: no such file: ${file}`);
    }
  } else {
    key = host.privateKey ?? "";
  }
  return pulumi.secret({
    host: host.address,
    port: host.port,
    user: host.user,
    // No key at all: the provider then tries an SSH agent (SSH_AUTH_SOCK);
    // an empty key would fail to parse.
    ...(key !== "" ? { privateKey: key } : {}),
    dialErrorLimit: 20,
    perDialTimeout: 20,
  });
}


/** Where host.privateKeyPath points: a leading ~ against $HOME, anything else against the project. */
export function privateKeyFile(keyPath: string, projectDir = process.cwd()): string {
  return keyPath.startsWith("~/") ? path.join(process.env.HOME ?? "/", keyPath.slice(2)) : path.resolve(projectDir, keyPath);
}
