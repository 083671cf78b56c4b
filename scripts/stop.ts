// `npm run stop`: the real `pulumi destroy` of the demo node, then the VM goes.
import { stopVmByName } from "../vm/vm";
import { pulumi, stackNames } from "./lib/pulumi";

async function main() {
  if ((await stackNames()).includes("local")) {
    const r = await pulumi(["destroy", "--stack", "local", "--yes", "--skip-preview"], { stream: true, check: false });
    if (r.code !== 0) console.error("[stop] destroy failed (is the VM still running?); stopping the VM anyway");
  }
  const wasRunning = await stopVmByName("local");
  console.log(wasRunning ? "[stop] VM stopped" : "[stop] no VM was running");
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
