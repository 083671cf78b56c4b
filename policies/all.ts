// Every policy of the pack, for the pack and for the tests.
import type { StackValidationPolicy } from "@pulumi/policy";
import { identitiesDistinct } from "./identities-distinct";
import { publicPathsInsideTree } from "./public-paths-inside-tree";
import { rsyncdPrivateModuleRestricted } from "./rsyncd-private-module-restricted";
import { rsyncdPublicModuleUnprivileged } from "./rsyncd-public-module-unprivileged";
import { rsyncdWritableModuleRestricted } from "./rsyncd-writable-module-restricted";
import { syncPreservesPermissions } from "./sync-preserves-permissions";
import { syncSafetyFlags } from "./sync-safety-flags";
import { tierRequirements } from "./tier-requirements";
import { webServerUnprivileged } from "./web-server-unprivileged";

export const ALL_POLICIES: StackValidationPolicy[] = [
  syncPreservesPermissions,
  syncSafetyFlags,
  rsyncdPublicModuleUnprivileged,
  rsyncdPrivateModuleRestricted,
  rsyncdWritableModuleRestricted,
  webServerUnprivileged,
  identitiesDistinct,
  publicPathsInsideTree,
  tierRequirements,
];
