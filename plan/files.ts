// What a plan is made of: the files a node has and the units it runs, as
// plain values. The runtimes deliver them; nothing here touches a host.
import { unitFilePath } from "./paths";

export interface PlannedFile {
  /** Names the file's resources under its component ("nginx-conf", "script"): children by key. */
  key: string;
  path: string;
  /** The file text; a secret file holds SECRET_PLACEHOLDER (the runtime renders the secret). */
  content: string;
  /** Octal, e.g. "0644". */
  mode: string;
  owner: string;
  group: string;
  /** The file's own tool, run on the staged copy ("$STAGED") before it replaces the working one. */
  check?: string;
  /** True when the content comes from secret config, never from the plan. */
  secret?: true;
}

export interface PlannedUnit {
  /** Names the unit's resources under its component. */
  key: string;
  unitName: string;
  content: string;
  /** "start" keeps it running (enabled); "install" only installs it (a timer's service). */
  activation: "start" | "install";
  /** How a config change reaches the running unit. */
  onConfigChange?: "reload" | "restart";
  /** Distribution units stopped and masked so they cannot take the same ports. */
  masks?: string[];
}

/** A directory the node has, made by the runtime that needs it. */
export interface PlannedDirectory {
  path: string;
  owner: string;
  group: string;
  mode: string;
}

export const SECRET_VALUE_PLACEHOLDER = "(secret: rendered on the host from Pulumi secret config)";
/** A secret file's text in the plan. */
export const SECRET_PLACEHOLDER = `# ${SECRET_VALUE_PLACEHOLDER}\n`;

/** systemd-analyze verify needs the real unit name: checked in a scratch directory. */
export function unitCheck(unitName: string): string {
  return `d=$(mktemp -d) && cp "$STAGED" "$d/${unitName}" && systemd-analyze verify "$d/${unitName}"; rc=$?; rm -rf "$d"; exit $rc`;
}

/** A unit's file, as every runtime installs it. */
export function unitFile(unit: PlannedUnit): PlannedFile {
  return { key: `${unit.key}-file`, path: unitFilePath(unit.unitName), content: unit.content, mode: "0644", owner: "root", group: "root", check: unitCheck(unit.unitName) };
}

/** A root-owned config file. */
export function rootFile(key: string, path: string, content: string, mode = "0644", check?: string): PlannedFile {
  return { key, path, content, mode, owner: "root", group: "root", ...(check !== undefined ? { check } : {}) };
}
