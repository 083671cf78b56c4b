// A scheduled bitflip: at the announced time, staged (0750) directories are
// opened to the public (0755), as Fedora's `chmod a+rx ... | at ...`.
import type { BitflipConfig, NodeConfig } from "../config";
import { sq } from "../shell";
import { renderServiceUnit, renderTimerUnit } from "./systemd";
import { KIT_TEMPLATES, type Templates } from "./templates";
import { bitflipUnits } from "../../plan/paths";

export interface BitflipModel {
  flip: BitflipConfig;
  paths: string[];
  user: string;
  group: string;
  unitName: string;
  timerName: string;
}

export function bitflipModel(node: NodeConfig, flip: BitflipConfig): BitflipModel {
  return {
    flip,
    paths: flip.paths.map((p) => `${node.mirrorRoot}/${p}`.replace(/\/+$/, "")),
    user: node.accounts.mirror.user,
    group: node.accounts.mirror.group,
    ...bitflipUnits(flip.name),
  };
}

export function renderBitflipService(m: BitflipModel, t: Templates = KIT_TEMPLATES): string {
  // a+rX: directories (and already-executable files) become world-readable and searchable.
  const chmod = `/bin/chmod -R a+rX ${m.paths.map(sq).join(" ")}`;
  return renderServiceUnit({
    description: `mirrorkit bitflip ${m.flip.name}: open ${m.paths.join(" ")} to the public`,
    unit: m.paths.map((p) => `RequiresMountsFor=${p}`),
    service: [
      "Type=oneshot",
      // The owner may change modes; no root needed.
      `User=${m.user}`,
      `Group=${m.group}`,
      `ExecStart=${chmod}`,
      ...m.paths.map((p) => `ReadWritePaths=${p}`),
      "CapabilityBoundingSet=",
      "PrivateUsers=yes",
      "PrivateNetwork=yes",
      "RestrictAddressFamilies=AF_UNIX",
      "IPAddressDeny=any",
    ],
  }, t);
}

export function renderBitflipTimer(m: BitflipModel, t: Templates = KIT_TEMPLATES): string {
  return renderTimerUnit({
    description: `mirrorkit bitflip ${m.flip.name} at ${m.flip.at}`,
    timer: [`OnCalendar=${m.flip.at}`, "Persistent=true", "AccuracySec=1s", `Unit=${m.unitName}`],
  }, t);
}
