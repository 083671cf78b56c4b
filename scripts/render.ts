// `npm run render -- <stack> <outdir>`: writes every file the stack's node
// would install, under <outdir> at its host path, without touching a host.
import * as fs from "node:fs";
import * as path from "node:path";
import { ConfigError, parseNodeConfig } from "../components/config";
import { nodeFiles } from "../components/render/node-files";
import { templatesFor } from "../components/render/templates";
import { PROJECT_DIR } from "./lib/pulumi";
import { rawNodeConfig } from "./lib/stack-file";

function main() {
  const [stack, outdir] = process.argv.slice(2);
  if (!stack || !outdir) {
    console.error("usage: npm run render -- <stack> <outdir>");
    process.exit(2);
  }
  const node = parseNodeConfig(rawNodeConfig(stack), `stacks/Pulumi.${stack}.yaml: mirrorkit:node`);
  const files = nodeFiles(node, templatesFor(node.templateDir, PROJECT_DIR));
  for (const f of files) {
    const target = path.join(path.resolve(outdir), f.path);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, f.content);
    fs.chmodSync(target, parseInt(f.mode, 8));
    console.log(`${f.mode} ${f.path}`);
  }
  console.log(`${files.length} files for node ${node.name} written under ${outdir}`);
}

try {
  main();
} catch (err) {
  console.error(err instanceof ConfigError || err instanceof Error ? err.message : err);
  process.exit(1);
}
