// `npm start`: boots the demo VM (or reuses the running one), runs the real
// `pulumi up` of the `local` stack against it and prints the node's endpoints.
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
  const outputs = await stackOutputs(STACK);
  console.log("\nThe demo node is up. From this machine:");
  console.log(`  HTTP   http://${ADDRESS}:${FORWARDS[80]}/`);
  console.log(`  ssh    ssh -i .work/vms/${STACK}/id_ed25519 -p ${FORWARDS[22]} root@${ADDRESS}`);
  console.log(`  stack outputs: ${JSON.stringify(outputs)}`);
  console.log("Stop it with: npm run stop");
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
