// A private network for a multi-host test: a network namespace the test
// makes, with a bridge the VMs' second NICs join (vm.ts `lan`), the tier-0
// upstream's address and the test clients' addresses. Nothing in it can
// reach, or be reached from, any other network.
import { execFileSync, spawn, spawnSync, type ChildProcess, type SpawnOptions } from "node:child_process";

export interface Lan {
  netns: string;
  bridge: string;
  /** "10.77.0": hosts are `${prefix}.N`. */
  prefix: string;
  /** Address of this machine's side (the tier-0 upstream). */
  gateway: string;
  /** Adds an address for a test client on this machine's side. */
  addClient(address: string): void;
  /** Runs a command inside the namespace and waits for it. */
  run(cmd: string, args: string[], opts?: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number }): { code: number; out: string };
  /** Starts a long-running command inside the namespace. */
  spawn(cmd: string, args: string[], opts?: SpawnOptions): ChildProcess;
  destroy(): void;
}

const ip = (...args: string[]) => execFileSync("ip", args, { stdio: ["ignore", "pipe", "pipe"] });

export function createLan(netns: string, prefix = "10.77.0"): Lan {
  spawnSync("ip", ["netns", "del", netns]);
  ip("netns", "add", netns);
  const bridge = "br0";
  ip("-n", netns, "link", "set", "lo", "up");
  ip("-n", netns, "link", "add", bridge, "type", "bridge");
  const gateway = `${prefix}.1`;
  ip("-n", netns, "addr", "add", `${gateway}/24`, "dev", bridge);
  ip("-n", netns, "link", "set", bridge, "up");
  return {
    netns,
    bridge,
    prefix,
    gateway,
    addClient: (address) => void ip("-n", netns, "addr", "add", `${address}/24`, "dev", bridge),
    run(cmd, args, opts = {}) {
      const r = spawnSync("ip", ["netns", "exec", netns, cmd, ...args], {
        encoding: "utf8",
        input: opts.input,
        env: opts.env ?? process.env,
        cwd: opts.cwd,
        timeout: opts.timeoutMs ?? 300_000,
      });
      return { code: r.status ?? -1, out: `${r.stdout ?? ""}${r.stderr ?? ""}` };
    },
    spawn: (cmd, args, opts = {}) => spawn("ip", ["netns", "exec", netns, cmd, ...args], opts),
    destroy: () => void spawnSync("ip", ["netns", "del", netns]),
  };
}
