// Runs the real Pulumi CLI (the pinned one toolchain/env.sh puts on PATH).
import { spawn } from "node:child_process";
import * as path from "node:path";

export const PROJECT_DIR = path.resolve(__dirname, "..", "..");

export interface PulumiResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface PulumiOptions {
  /** Echo output while it runs (for the operator-facing scripts). */
  stream?: boolean;
  env?: NodeJS.ProcessEnv;
  /** Fail (reject) on a non-zero exit; default true. */
  check?: boolean;
  /** Standard input (e.g. a secret value, kept off the command line). */
  input?: string;
}

export function pulumi(args: string[], opts: PulumiOptions = {}): Promise<PulumiResult> {
  return new Promise((resolve, reject) => {
    const child = spawn("pulumi", [...args, "--non-interactive", "--color", "never"], {
      cwd: PROJECT_DIR,
      env: { ...process.env, ...opts.env },
      stdio: [opts.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d: Buffer) => {
      stdout += d.toString();
      if (opts.stream) process.stdout.write(d);
    });
    child.stderr!.on("data", (d: Buffer) => {
      stderr += d.toString();
      if (opts.stream) process.stderr.write(d);
    });
    child.on("error", reject);
    child.on("close", (code) => {
      const result = { code: code ?? -1, stdout, stderr };
      if ((opts.check ?? true) && result.code !== 0) {
        reject(Object.assign(new Error(`pulumi ${args.join(" ")} exited ${result.code}\n${stdout}\n${stderr}`), { result }));
      } else {
        resolve(result);
      }
    });
  });
}

/**
 * Where a file backend keeps a stack's update locks; undefined for any other
 * backend (`backendUrl` defaults to the one toolchain/env.sh sets).
 */
export function stackLockDir(stack: string, backendUrl = process.env.PULUMI_BACKEND_URL ?? ""): string | undefined {
  if (!backendUrl.startsWith("file://")) return undefined;
  return path.join(backendUrl.replace(/^file:\/\//, ""), ".pulumi", "locks", "organization", "mirrorkit", stack);
}

/** Lists the stacks the backend holds. */
export async function stackNames(): Promise<string[]> {
  const { stdout } = await pulumi(["stack", "ls", "--json"]);
  return (JSON.parse(stdout) as { name: string }[]).map((s) => s.name);
}

/**
 * Makes `stack` exist with no resources in its state (keeping its config
 * file): used when the host behind it is new, e.g. a freshly booted VM.
 */
export async function freshStack(stack: string): Promise<void> {
  if ((await stackNames()).includes(stack)) {
    await pulumi(["stack", "rm", stack, "--yes", "--force", "--preserve-config"]);
  }
  await pulumi(["stack", "init", stack]);
}

export async function stackOutputs(stack: string): Promise<Record<string, unknown>> {
  const { stdout } = await pulumi(["stack", "output", "--json", "--stack", stack]);
  return JSON.parse(stdout) as Record<string, unknown>;
}
