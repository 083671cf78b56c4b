// Every file a node installs, rendered from its config without touching a
// host: the plan's files (plan/node.ts). Secret files carry a placeholder,
// never the secret.
import type { NodeConfig } from "../config";
import type { Templates } from "./templates";
import { KIT_TEMPLATES } from "./templates";
import { planNode } from "../../plan/node";

export interface RenderedFile {
  path: string;
  content: string;
  mode: string;
}

export function nodeFiles(node: NodeConfig, t: Templates = KIT_TEMPLATES): RenderedFile[] {
  return planNode(node, t).files.map((f) => ({ path: f.path, content: f.content, mode: f.mode }));
}
