// Shared test inputs.
import type { NodeConfig } from "../../components/config";
import { parseNodeConfig } from "../../components/config";

/** The smallest valid raw config; tests change one field at a time. */
export function minimalRawConfig(): Record<string, unknown> {
  return {
    name: "test-node",
    host: { address: "192.0.2.10", privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nfake\n-----END OPENSSH PRIVATE KEY-----\n" },
  };
}

export function nodeConfig(overrides: Record<string, unknown> = {}): NodeConfig {
  return parseNodeConfig({ ...minimalRawConfig(), ...overrides });
}
