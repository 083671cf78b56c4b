// `npm run recover -- --stack NAME [--force]`: make a stack usable again after
// a `pulumi up` or `destroy` that died without cleaning up (killed, or the
// operator's machine went down). Such a run leaves the file backend's lock,
// which refuses every later update, and "pending operations" in the state.
//
// The lock is removed (`pulumi cancel`) only when its owner is gone: a lock
// whose process still runs on this machine is an update in progress, and a
// lock from another machine needs --force. Pending creates are dropped from
// the state (`pulumi refresh --clear-pending-creates`); the next `pulumi up`
// runs those steps again, which the kit's host commands allow (each one
// converges: install -d, copy-validate-move, useradd-if-absent).
import { parseArgs } from "node:util";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pulumi, stackLockDir, stackNames } from "./lib/pulumi";

interface LockOwner {
  pid: number;
  username: string;
  hostname: string;
  timestamp: string;
}

interface PendingOperation {
  type: string;
  resource: { urn: string };
}

function fail(message: string): never {
  console.error(`[recover] ${message}`);
  process.exit(1);
}

/** The lock files of a stack on a file backend; undefined for any other backend. */
function stackLocks(stack: string): LockOwner[] | undefined {
  const dir = stackLockDir(stack);
  if (dir === undefined) return undefined;
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), "utf8")) as LockOwner);
}

/** Whether `pid` is a live pulumi process on this machine. */
function pulumiRunning(pid: number): boolean {
  try {
    return /pulumi/.test(fs.readFileSync(`/proc/${pid}/cmdline`, "utf8"));
  } catch {
    return false;
  }
}

async function main() {
  const { values } = parseArgs({
    options: { stack: { type: "string" }, force: { type: "boolean", default: false } },
  });
  const stack = values.stack ?? fail("give the stack: npm run recover -- --stack NAME");
  if (!(await stackNames()).includes(stack)) fail(`no stack "${stack}" in this backend`);

  const locks = stackLocks(stack);
  if (locks === undefined) {
    console.log("[recover] not a file backend: the lock is the service's; run `pulumi cancel` if an update is stuck");
  } else if (locks.length === 0) {
    console.log("[recover] the stack is not locked");
  } else {
    for (const lock of locks) {
      const owner = `${lock.username}@${lock.hostname} (pid ${lock.pid}, since ${lock.timestamp})`;
      if (lock.hostname === os.hostname() && pulumiRunning(lock.pid)) {
        fail(`an update is still running: ${owner}; let it finish, or stop it first`);
      }
      if (lock.hostname !== os.hostname() && !values.force) {
        fail(`locked from another machine: ${owner}; if that update is gone, run again with --force`);
      }
      console.log(`[recover] lock of a run that is gone: ${owner}`);
    }
    await pulumi(["cancel", "--yes", "--stack", stack], { stream: true });
  }

  const exported = await pulumi(["stack", "export", "--stack", stack]);
  const pending = (JSON.parse(exported.stdout) as { deployment?: { pending_operations?: PendingOperation[] } }).deployment?.pending_operations ?? [];
  if (pending.length === 0) {
    console.log("[recover] no pending operations");
  } else {
    for (const op of pending) console.log(`[recover] pending ${op.type}: ${op.resource.urn}`);
    // Refresh reads each resource back and drops the pending operations; the
    // creates that never reported back are run again by the next `up`.
    await pulumi(["refresh", "--yes", "--skip-preview", "--clear-pending-creates", "--stack", stack], { stream: true });
  }
  console.log(`[recover] done: run \`pulumi up --stack ${stack}\` (or npm start for the demo node) to converge the host`);
}

main().catch((err) => fail(err instanceof Error ? err.message : String(err)));
