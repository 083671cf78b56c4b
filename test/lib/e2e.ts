// End-to-end harness: a VM, a throwaway stack pointing at it, the real CLI.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import { bootVm, type Vm, type VmOptions } from "../../vm/vm";
import { PROJECT_DIR, pulumi, stackLockDir, stackNames, type PulumiResult } from "../../scripts/lib/pulumi";
import { writeStackFile } from "../../scripts/lib/stack-file";

export interface E2eNode {
  vm: Vm;
  stack: string;
  up(extra?: string[]): Promise<PulumiResult>;
  /**
   * A `pulumi up` stopped once `after` resources are created: SIGINT is an
   * operator's Ctrl-C; SIGKILL to its whole process group is the operator's
   * machine going down (nothing of pulumi gets to clean up).
   */
  upInterrupted(after: number, signal?: "SIGINT" | "SIGKILL"): Promise<PulumiResult & { createdBeforeInterrupt: number }>;
  preview(extra?: string[]): Promise<PulumiResult>;
  destroy(): Promise<PulumiResult>;
  /** Removes the stack and its config file, stops the VM. */
  cleanup(): Promise<void>;
  /** The VM port the guest's `port` is forwarded to on vm.address. */
  url(guestPort: number, urlPath?: string): string;
}

export { writeStackFile } from "../../scripts/lib/stack-file";

export async function bootNode(
  name: string,
  node: (vm: Vm) => Record<string, unknown>,
  vmOptions: Partial<VmOptions> = {},
): Promise<E2eNode> {
  const vm = await bootVm({ name, forwards: { 80: 0, 873: 0, 874: 0 }, ...vmOptions });
  const stack = `e2e-${name}`;
  // A killed earlier run may have left the file backend's lock on this throwaway stack.
  const locks = stackLockDir(stack);
  if (locks) fs.rmSync(locks, { recursive: true, force: true });
  if ((await stackNames()).includes(stack)) {
    await pulumi(["stack", "rm", stack, "--yes", "--force"]);
  }
  await pulumi(["stack", "init", stack]);
  const stackFile = await writeStackFile(stack, node(vm));
  return {
    vm,
    stack,
    up: (extra = []) => pulumi(["up", "--stack", stack, "--yes", "--skip-preview", ...extra], { check: false }),
    preview: (extra = []) => pulumi(["preview", "--stack", stack, ...extra], { check: false }),
    upInterrupted: (afterCount, signal = "SIGINT") =>
      new Promise((resolve, reject) => {
        const child = spawn("pulumi", ["up", "--stack", stack, "--yes", "--skip-preview", "--non-interactive", "--color", "never"], {
          cwd: PROJECT_DIR,
          stdio: ["ignore", "pipe", "pipe"],
          // Its own process group, so SIGKILL reaches the plugins too.
          detached: signal === "SIGKILL",
        });
        let stdout = "";
        let stderr = "";
        let created = 0;
        let interrupted = false;
        child.stdout.on("data", (d: Buffer) => {
          stdout += d.toString();
          created = (stdout.match(/^\s*\+ .* created\b/gm) ?? []).length;
          if (!interrupted && created >= afterCount) {
            interrupted = true;
            if (signal === "SIGKILL") process.kill(-child.pid!, "SIGKILL");
            else child.kill("SIGINT");
          }
        });
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        child.on("error", reject);
        child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr, createdBeforeInterrupt: created }));
      }),
    destroy: () => pulumi(["destroy", "--stack", stack, "--yes", "--skip-preview"], { check: false }),
    async cleanup() {
      await pulumi(["stack", "rm", stack, "--yes", "--force"], { check: false });
      fs.rmSync(stackFile, { force: true });
      await vm.stop();
    },
    url: (guestPort, urlPath = "/") => `http://${vm.address}:${vm.ports[guestPort]}${urlPath}`,
  };
}

/** The node config of a VM-backed test node (its ssh forward and key). */
export function vmHost(vm: Vm): Record<string, unknown> {
  return { address: vm.address, port: vm.ports[22], user: "root", privateKeyPath: vm.privateKeyPath };
}

/** Resource counts from the CLI's summary ("+ 3 created", "~ 1 updated", ...). */
export function changeSummary(output: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const m of output.matchAll(/^\s*[+~\-±+]+\s*(\d+)\s+(created|updated|deleted|replaced|to create|to update|to delete|to replace)/gm)) {
    counts[m[2]] = Number(m[1]);
  }
  return counts;
}

/** Polls `probe` every 3 s until it returns a value, or fails after `seconds`. */
export async function waitFor<T>(what: string, seconds: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${seconds}s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 3000));
  }
}

/**
 * Forces the kit's log rotation on a node, then makes a request: the server
 * must write it to a new access.log (the old one rotated to access.log.1).
 * Returns what it saw, for the assertion message.
 */
export async function forcedLogRotation(node: E2eNode, url: string): Promise<{ rotated: boolean; newLogHasRequest: boolean; detail: string }> {
  const marker = `/rotation-probe-${Date.now()}`;
  // A log with something in it: an empty one is not rotated (notifempty).
  await fetch(`${url}/before-rotation`).catch(() => undefined);
  await new Promise((r) => setTimeout(r, 500));
  const forced = await node.vm.ssh("logrotate -f /etc/logrotate.d/mirrorkit && sleep 1 && ls -l /var/log/mirrorkit-web/", { allowFailure: true });
  await fetch(`${url}${marker}`).catch(() => undefined);
  // The server writes its access log line when the request ends.
  await new Promise((r) => setTimeout(r, 1000));
  const after = await node.vm.ssh(`ls /var/log/mirrorkit-web/; grep -c '${marker}' /var/log/mirrorkit-web/access.log || true`, { allowFailure: true });
  const files = after.stdout.split("\n");
  return {
    rotated: files.includes("access.log.1"),
    newLogHasRequest: files.at(-2)?.trim() === "1",
    detail: `${forced.stdout}${forced.stderr}\n${after.stdout}`,
  };
}
