// A real client in a loop, for B9 (`npm run bench`): runs `kind` against the
// repository at `url` until the file `stop` exists (or `maxRuns` runs, or
// `maxSeconds`), one JSON line per run on stdout. A process of its own, so the
// benchmark's syncs run while the client works.
//   node --import tsx scripts/lib/client-loop.ts '<json ClientLoop>'
import * as fs from "node:fs";
import { runClient, type ClientKind } from "./clients";

export interface ClientLoop {
  kind: ClientKind;
  url: string;
  dist?: string;
  pkg: string;
  key: string;
  stop: string;
  maxRuns: number;
  maxSeconds: number;
}

export interface LoopLine {
  installed: boolean;
  version?: string;
  error: string;
}

function main(): void {
  const loop = JSON.parse(process.argv[2] ?? "") as ClientLoop;
  const deadline = Date.now() + loop.maxSeconds * 1000;
  for (let i = 0; i < loop.maxRuns && Date.now() < deadline && !fs.existsSync(loop.stop); i++) {
    const r = runClient(loop.kind, { url: loop.url, pkg: loop.pkg, key: loop.key, ...(loop.dist !== undefined ? { dist: loop.dist } : {}) });
    const line: LoopLine = { installed: r.installed, ...(r.version !== undefined ? { version: r.version } : {}), error: r.error };
    process.stdout.write(`${JSON.stringify(line)}\n`);
  }
}

main();
