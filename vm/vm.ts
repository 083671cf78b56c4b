// Local Debian test hosts under qemu: the real Linux hosts `pulumi up` runs
// against in `npm start` and the end-to-end tests.
//
// Each VM gets a copy-on-write root disk over the shared cached image, its own
// data disk (/dev/vdb), a fresh SSH key, and user-mode networking restricted
// to this machine (`restrict=on`): guest ports are forwarded to a loopback
// address only. KVM is tried first where /dev/kvm exists; a guest that does
// not come up under KVM is retried under software emulation (TCG), and that
// outcome is remembered in the cache.
import { execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { promisify } from "node:util";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, "..");
const CACHE = process.env.MIRRORKIT_CACHE ?? path.join(process.env.HOME ?? "/root", ".cache", "mirrorkit");

export interface VmOptions {
  /** Unique name: the VM's directory under .work/vms and its hostname. */
  name: string;
  /** Loopback address the forwarded ports bind to (default 127.0.0.1). */
  bindAddress?: string;
  /** Guest TCP ports to forward; a value of 0 picks a free host port. */
  forwards?: Record<number, number>;
  /**
   * Services of this machine the guest may reach: guest-visible
   * "10.0.2.100:873" -> host "127.0.0.1:12345". Everything else stays
   * unreachable (restrict=on).
   */
  guestForwards?: Record<string, string>;
  /**
   * A second NIC on a bridge inside a network namespace the caller made:
   * the VM's own address there, next to other VMs and test clients. The
   * user-mode NIC stays for SSH from this machine.
   */
  lan?: VmLan;
  dataDiskGiB?: number;
  memoryMiB?: number;
  cpus?: number;
  bootTimeoutSeconds?: number;
}

export interface VmLan {
  netns: string;
  bridge: string;
  /** The guest's address on it, CIDR form ("10.77.0.11/24"). */
  address: string;
}

export interface Vm {
  name: string;
  dir: string;
  /** Address the forwards listen on. */
  address: string;
  /** Guest port -> host port on `address`. */
  ports: Record<number, number>;
  privateKeyPath: string;
  accel: "kvm" | "tcg";
  /** Runs a shell command on the guest as root. */
  ssh(command: string, opts?: { input?: string; allowFailure?: boolean }): Promise<{ stdout: string; stderr: string; code: number }>;
  stop(opts?: { keepFiles?: boolean }): Promise<void>;
}

/** A TCP port free on `address` right now. */
export async function freePort(address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, address, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Builds (once) and returns the cached image directory. */
export async function ensureImage(): Promise<string> {
  const { stdout } = await run("bash", [path.join(ROOT, "vm", "build-image.sh")], {
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout.trim().split("\n").pop() as string;
}

function sshArgs(keyPath: string, address: string, port: number): string[] {
  return [
    "-i", keyPath,
    "-p", String(port),
    "-o", "BatchMode=yes",
    "-o", "StrictHostKeyChecking=no",
    "-o", "UserKnownHostsFile=/dev/null",
    "-o", "LogLevel=ERROR",
    "-o", "ConnectTimeout=5",
    `root@${address}`,
  ];
}

function sshRun(keyPath: string, address: string, port: number, command: string, input?: string) {
  return new Promise<{ stdout: string; stderr: string; code: number }>((resolve) => {
    const child = spawn("ssh", [...sshArgs(keyPath, address, port), command], { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => resolve({ stdout, stderr, code: code ?? -1 }));
    child.stdin.end(input ?? "");
  });
}

function kvmUsable(): boolean {
  if (process.env.MIRRORKIT_VM_ACCEL === "tcg") return false;
  if (fs.existsSync(path.join(CACHE, "vm", "kvm-does-not-boot"))) return false;
  try {
    fs.accessSync("/dev/kvm", fs.constants.R_OK | fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

async function waitForSsh(vm: { keyPath: string; address: string; port: number; pid: () => number | undefined }, seconds: number) {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    const pid = vm.pid();
    if (pid === undefined) return false;
    const r = await sshRun(vm.keyPath, vm.address, vm.port, "systemctl is-system-running --wait >/dev/null 2>&1; true");
    if (r.code === 0) return true;
    await new Promise((res) => setTimeout(res, 2000));
  }
  return false;
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(file, "utf8").trim());
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

async function killPid(file: string) {
  const pid = readPid(file);
  if (pid === undefined) return;
  process.kill(pid, "SIGTERM");
  for (let i = 0; i < 50 && readPid(file) !== undefined; i++) await new Promise((r) => setTimeout(r, 100));
  if (readPid(file) !== undefined) process.kill(pid, "SIGKILL");
}

/** Boots a VM and resolves once sshd answers and systemd has settled. */
export async function bootVm(opts: VmOptions): Promise<Vm> {
  const image = await ensureImage();
  const address = opts.bindAddress ?? "127.0.0.1";
  const dir = path.join(ROOT, ".work", "vms", opts.name);
  const pidFile = path.join(dir, "qemu.pid");
  await killPid(pidFile);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });

  const keyPath = path.join(dir, "id_ed25519");
  await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", `mirrorkit-${opts.name}`, "-f", keyPath]);
  fs.writeFileSync(path.join(dir, "hostname"), opts.name);
  fs.writeFileSync(path.join(dir, "network"), opts.lan ? `eth0 dhcp\neth1 address=${opts.lan.address}\n` : "dhcp");
  // The tap is made here, where qemu opens it, and moved into the namespace once qemu holds it.
  const tap = `mkt${createHash("sha256").update(opts.name).digest("hex").slice(0, 8)}`;
  const makeTap = async (lan: VmLan) => {
    await run("ip", ["link", "del", tap]).catch(() => undefined);
    await run("ip", ["-n", lan.netns, "link", "del", tap]).catch(() => undefined);
    await run("ip", ["tuntap", "add", "dev", tap, "mode", "tap"]);
  };
  const lanArgs = opts.lan
    ? ["-netdev", `tap,id=lan,ifname=${tap},script=no,downscript=no`, "-device", `virtio-net-pci,netdev=lan,mac=52:54:00:${tap.slice(3, 5)}:${tap.slice(5, 7)}:${tap.slice(7, 9)}`]
    : [];
  await run("qemu-img", ["create", "-q", "-f", "qcow2", "-F", "raw", "-b", path.join(image, "rootfs.img"), path.join(dir, "root.qcow2")]);
  await run("qemu-img", ["create", "-q", "-f", "qcow2", path.join(dir, "data.qcow2"), `${opts.dataDiskGiB ?? 20}G`]);

  const ports: Record<number, number> = { 22: 0, ...(opts.forwards ?? {}) };
  for (const guest of Object.keys(ports).map(Number)) {
    if (ports[guest] === 0) ports[guest] = await freePort(address);
  }
  const hostfwd = [
    ...Object.entries(ports).map(([guest, host]) => `hostfwd=tcp:${address}:${host}-:${guest}`),
    // One socat per guest connection, to a loopback service of this machine.
    ...Object.entries(opts.guestForwards ?? {}).map(
      ([guest, host]) => `guestfwd=tcp:${guest}-cmd:socat STDIO TCP:${host}`,
    ),
  ].join(",");

  const boot = async (accel: "kvm" | "tcg") => {
    const args = [
      "-name", `mirrorkit-${opts.name}`,
      "-machine", accel === "kvm" ? "q35,accel=kvm" : "q35,accel=tcg",
      // "-cpu host" aborts on an MSR under this machine's KVM; the default model boots.
      ...(accel === "kvm" ? [] : ["-cpu", "max"]),
      "-m", String(opts.memoryMiB ?? 1536),
      "-smp", String(opts.cpus ?? 2),
      "-kernel", path.join(image, "vmlinuz"),
      "-initrd", path.join(image, "initrd.img"),
      "-append", "root=/dev/vda rw console=ttyS0 quiet net.ifnames=0",
      "-drive", `file=${path.join(dir, "root.qcow2")},if=virtio,format=qcow2`,
      "-drive", `file=${path.join(dir, "data.qcow2")},if=virtio,format=qcow2`,
      "-netdev", `user,id=net0,restrict=on,${hostfwd}`,
      "-device", "virtio-net-pci,netdev=net0",
      ...lanArgs,
      "-fw_cfg", `name=opt/mirrorkit/authorized_keys,file=${keyPath}.pub`,
      "-fw_cfg", `name=opt/mirrorkit/hostname,file=${path.join(dir, "hostname")}`,
      "-fw_cfg", `name=opt/mirrorkit/network,file=${path.join(dir, "network")}`,
      "-display", "none",
      "-serial", `file:${path.join(dir, "console.log")}`,
      "-pidfile", pidFile,
      "-daemonize",
    ];
    try {
      if (opts.lan) await makeTap(opts.lan);
      await run("qemu-system-x86_64", args);
      if (opts.lan) {
        await run("ip", ["link", "set", tap, "netns", opts.lan.netns]);
        await run("ip", ["-n", opts.lan.netns, "link", "set", tap, "master", opts.lan.bridge, "up"]);
      }
    } catch (err) {
      fs.appendFileSync(path.join(dir, "qemu-errors.log"), `${accel}: ${String(err)}\n`);
      return false;
    }
    const ok = await waitForSsh(
      { keyPath, address, port: ports[22], pid: () => readPid(pidFile) },
      accel === "kvm" ? 45 : (opts.bootTimeoutSeconds ?? 240),
    );
    if (!ok) await killPid(pidFile);
    return ok;
  };

  let accel: "kvm" | "tcg" = kvmUsable() ? "kvm" : "tcg";
  let up = await boot(accel);
  if (!up && accel === "kvm") {
    fs.mkdirSync(path.join(CACHE, "vm"), { recursive: true });
    fs.writeFileSync(path.join(CACHE, "vm", "kvm-does-not-boot"), `guest did not boot under KVM on ${new Date().toISOString()}\n`);
    accel = "tcg";
    up = await boot(accel);
  }
  if (!up && accel === "tcg") {
    // Under software emulation on a loaded 2-core machine a guest kernel can
    // soft-lock during boot (seen: cryptomgr_test stuck for minutes). One
    // fresh boot of the same disks; the first attempt's console is kept.
    const consoleFile = path.join(dir, "console.log");
    if (fs.existsSync(consoleFile)) fs.renameSync(consoleFile, path.join(dir, "console.first-boot.log"));
    up = await boot(accel);
  }
  if (!up) {
    const consoleLog = fs.existsSync(path.join(dir, "console.log")) ? fs.readFileSync(path.join(dir, "console.log"), "utf8") : "";
    throw new Error(`VM ${opts.name} did not come up; console tail:\n${consoleLog.split("\n").slice(-30).join("\n")}`);
  }
  fs.writeFileSync(path.join(dir, "vm.json"), JSON.stringify({ name: opts.name, address, ports, accel, keyPath }, null, 2));

  return {
    name: opts.name,
    dir,
    address,
    ports,
    privateKeyPath: keyPath,
    accel,
    async ssh(command, o) {
      const r = await sshRun(keyPath, address, ports[22], command, o?.input);
      if (r.code !== 0 && !o?.allowFailure) {
        throw new Error(`ssh ${opts.name}: '${command}' exited ${r.code}: ${r.stderr}${r.stdout}`);
      }
      return r;
    },
    async stop(o) {
      await killPid(pidFile);
      if (opts.lan) await run("ip", ["-n", opts.lan.netns, "link", "del", tap]).catch(() => undefined);
      if (!o?.keepFiles) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Stops a VM left running by an earlier process (e.g. `npm start`). */
export async function stopVmByName(name: string): Promise<boolean> {
  const dir = path.join(ROOT, ".work", "vms", name);
  const pidFile = path.join(dir, "qemu.pid");
  const running = readPid(pidFile) !== undefined;
  await killPid(pidFile);
  return running;
}
