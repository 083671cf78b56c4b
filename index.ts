// The Pulumi program: one mirror node from the stack's `mirrorkit:node` config.
import * as pulumi from "@pulumi/pulumi";
import { parseNodeConfig } from "./components/config";
import { MirrorNode } from "./components/mirror-node";

const config = new pulumi.Config("mirrorkit");
const node = parseNodeConfig(config.requireObject<unknown>("node"));

const mirror = new MirrorNode(node.name, node);

export const endpoints = mirror.endpoints;
