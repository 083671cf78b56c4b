// The Pulumi program: one mirror node from the stack's `mirrorkit:node` config.
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, parseNodeConfig, type NodeConfig } from "./components/config";
import { MirrorNode } from "./components/mirror-node";
import { useTemplateOverrides } from "./components/render/templates";

// Read raw: the object may hold secret leaves (passwords); MirrorNode keeps
// them secret in every resource and redacts them from component args.
const raw = pulumi.runtime.getConfig("mirrorkit:node");
if (raw === undefined) {
  throw new Error('missing stack config "mirrorkit:node" (see stacks/Pulumi.local.yaml for an example)');
}
let parsed: unknown;
try {
  parsed = JSON.parse(raw);
} catch {
  throw new Error('stack config "mirrorkit:node" must be an object');
}
let node: NodeConfig;
try {
  node = parseNodeConfig(parsed);
} catch (err) {
  // A clean message naming each bad field, no stack trace; nothing has run yet.
  if (err instanceof ConfigError) throw new pulumi.RunError(err.message);
  throw err;
}

useTemplateOverrides(node.templateDir === undefined ? undefined : `${process.cwd()}/${node.templateDir}`);
const mirror = new MirrorNode(node.name, node);

export const endpoints = mirror.endpoints;
