// `npm start`: boots the demo VM (or reuses the running one), runs the real
// `pulumi up` of the `local` stack against it and prints the node's endpoints.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { bootVm } from "../vm/vm";
import { freshStack, PROJECT_DIR, pulumi, stackOutputs } from "./lib/pulumi";

const STACK = "local";
// Fixed forwards on a loopback address of its own, matching stacks/Pulumi.local.yaml.
const ADDRESS = "127.0.77.1";
const FORWARDS = { 22: 2222, 80: 8080, 873: 8873, 874: 8874 };

async function vmRunning(): Promise<boolean> {
  const pidFile = path.join(PROJECT_DIR, ".work", "vms", STACK, "qemu.pid");
  try {
    process.kill(Number(fs.readFileSync(pidFile, "utf8").trim()), 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * The demo has no upstream to sync from: put a small tree in place as a sync
 * would (owned by the mirror account), with one released and one staged (0750)
 * release, so every endpoint has something to show.
 */
async function seedDemoTree() {
  const key = path.join(PROJECT_DIR, ".work", "vms", STACK, "id_ed25519");
  const seed = [
    "set -e",
    "cd /srv/mirror",
    "runuser -u mirror -- sh -c '",
    "  mkdir -p pub/releases/41 pub/releases/next/iso",
    "  echo \"demo release 41\" > pub/releases/41/README",
    "  [ -f pub/releases/41/demo.iso ] || truncate -s 64M pub/releases/41/demo.iso",
    "  echo \"not yet released\" > pub/releases/next/iso/README",
    "  chmod 0750 pub/releases/next pub/releases/next/iso",
    "  date -u +%s > pub/lastupdate'",
  ].join("\n");
  await new Promise<void>((resolve, reject) => {
    const child = spawn("ssh", ["-i", key, "-p", String(FORWARDS[22]), "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
      "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", `root@${ADDRESS}`, seed], { stdio: "inherit" });
    child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`seeding the demo tree failed (${code})`))));
  });
}

async function main() {
  const t0 = Date.now();
  if (await vmRunning()) {
    console.log(`[start] reusing the running VM "${STACK}"`);
  } else {
    console.log(`[start] booting VM "${STACK}" (Debian 12 under qemu)...`);
    const vm = await bootVm({ name: STACK, bindAddress: ADDRESS, forwards: { ...FORWARDS } });
    console.log(`[start] VM up in ${((Date.now() - t0) / 1000).toFixed(0)}s (${vm.accel})`);
    // A new VM holds none of what the old state describes: start the stack afresh.
    await freshStack(STACK);
  }
  const t1 = Date.now();
  await pulumi(["up", "--stack", STACK, "--yes", "--skip-preview"], { stream: true });
  console.log(`[start] pulumi up took ${((Date.now() - t1) / 1000).toFixed(0)}s`);
  await seedDemoTree();
  const outputs = await stackOutputs(STACK);
  console.log("\nThe demo node is up. From this machine:");
  console.log(`  HTTP            http://${ADDRESS}:${FORWARDS[80]}/pub/`);
  console.log(`  rsync (public)  rsync rsync://${ADDRESS}:${FORWARDS[873]}/pub/`);
  console.log(`  rsync (tier)    RSYNC_PASSWORD=mirrorkit-demo-tier2 rsync rsync://tier2@${ADDRESS}:${FORWARDS[874]}/pub-tier/`);
  console.log(`  ssh             ssh -i .work/vms/${STACK}/id_ed25519 -p ${FORWARDS[22]} root@${ADDRESS}`);
  console.log(`  stack outputs (the node's own addresses): ${JSON.stringify(outputs)}`);
  console.log("Stop it with: npm run stop");
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
