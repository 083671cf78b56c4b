// A real Prometheus on loopback for end-to-end tests: scrapes the given
// targets every second with the kit's alert rules loaded; answers queries.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { freePort } from "../../vm/vm";
import { PROJECT_DIR } from "../../scripts/lib/pulumi";
import { tmpDir } from "./tools";

export interface Prometheus {
  url: string;
  /** An instant query's result vector (empty when nothing matches). */
  query(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  /** Polls `expr` until it returns a sample, bounded by `timeoutMs`. */
  waitFor(expr: string, timeoutMs?: number): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  stop(): void;
}

export async function startPrometheus(targets: string[]): Promise<Prometheus> {
  const dir = tmpDir("prometheus");
  const port = await freePort("127.0.0.1");
  const rules = path.join(PROJECT_DIR, "monitoring", "mirrorkit.rules.yml");
  fs.writeFileSync(
    path.join(dir, "prometheus.yml"),
    `global: { scrape_interval: 1s, evaluation_interval: 1s }\nrule_files: ['${rules}']\nscrape_configs:\n  - job_name: mirrorkit\n    static_configs: [ { targets: [${targets.map((t) => `'${t}'`).join(", ")}] } ]\n`,
  );
  const child = spawn("prometheus", [`--config.file=${path.join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${path.join(dir, "data")}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: "ignore" });
  const url = `http://127.0.0.1:${port}`;
  const query = async (expr: string) => {
    const r = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await r.json()) as { status: string; data?: { result: { metric: Record<string, string>; value: [number, string] }[] }; error?: string };
    if (body.status !== "success") throw new Error(`query ${expr}: ${body.error}`);
    return body.data?.result ?? [];
  };
  // Ready in well under a second; bounded.
  for (let i = 0; i < 100; i++) {
    if (await fetch(`${url}/-/ready`).then((r) => r.ok, () => false)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    query,
    // The first sample comes only after the target manager's first tick (~5 s).
    async waitFor(expr, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const result = await query(expr).catch(() => []);
        if (result.length > 0 || Date.now() > deadline) return result;
        await new Promise((r) => setTimeout(r, 1000));
      }
    },
    stop: () => child.kill(),
  };
}
