// The mirrorkit policy pack: `pulumi preview --policy-pack policies`.
// Each policy lives in its own file and is unit-tested there; this file only
// assembles the pack (constructing it starts the analyzer server).
import { PolicyPack } from "@pulumi/policy";
import { ALL_POLICIES } from "./all";

new PolicyPack("mirrorkit", { policies: ALL_POLICIES });
