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
  /**
   * A client host of its own: a namespace joined to the bridge by a veth pair,
   * with `address` as its only address, for clients that cannot choose a
   * source address (package managers). Returns a runner inside it.
   */
  addHost(name: string, address: string): { run: Lan["run"] };
  /** Runs a command inside the namespace and waits for it. */
  run(cmd: string, args: string[], opts?: RunOpts): { code: number; out: string };
  /** Starts a long-running command inside the namespace. */
  spawn(cmd: string, args: string[], opts?: SpawnOptions): ChildProcess;
  destroy(): void;
}

const ip = (...args: string[]) => execFileSync("ip", args, { stdio: ["ignore", "pipe", "pipe"] });

type RunOpts = { input?: string; env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number };

function runIn(netns: string, cmd: string, args: string[], opts: RunOpts = {}): { code: number; out: string } {
  const r = spawnSync("ip", ["netns", "exec", netns, cmd, ...args], {
    encoding: "utf8",
    input: opts.input,
    env: opts.env ?? process.env,
    cwd: opts.cwd,
    timeout: opts.timeoutMs ?? 300_000,
  });
  return { code: r.status ?? -1, out: `${r.stdout ?? ""}${r.stderr ?? ""}` };
}

export function createLan(netns: string, prefix = "10.77.0"): Lan {
  const hosts: string[] = [];
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
    addHost(name, address) {
      const ns = `${netns}-${name}`;
      spawnSync("ip", ["netns", "del", ns]);
      ip("netns", "add", ns);
      hosts.push(ns);
      const side = `vh-${name}`.slice(0, 15);
      ip("-n", netns, "link", "add", side, "type", "veth", "peer", "name", "eth0", "netns", ns);
      ip("-n", netns, "link", "set", side, "master", bridge, "up");
      ip("-n", ns, "link", "set", "lo", "up");
      ip("-n", ns, "addr", "add", `${address}/24`, "dev", "eth0");
      ip("-n", ns, "link", "set", "eth0", "up");
      return { run: (cmd, args, opts) => runIn(ns, cmd, args, opts) };
    },
    run: (cmd, args, opts) => runIn(netns, cmd, args, opts),
    spawn: (cmd, args, opts = {}) => spawn("ip", ["netns", "exec", netns, cmd, ...args], opts),
    destroy: () => {
      for (const ns of hosts) spawnSync("ip", ["netns", "del", ns]);
      spawnSync("ip", ["netns", "del", netns]);
    },
  };
}
