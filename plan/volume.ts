// A data volume's mount unit (the sync's and the servers' RequiresMountsFor=
// depend on it).
import type { VolumeConfig } from "../components/config";
import { renderMountUnit } from "../components/render/systemd";
import type { Templates } from "../components/render/templates";
import type { PlannedUnit } from "./files";
import { mountUnitName } from "./paths";

export interface VolumePlan {
  volume: VolumeConfig;
  mount: PlannedUnit;
}

export function planVolume(volume: VolumeConfig, t: Templates): VolumePlan {
  return {
    volume,
    mount: {
      key: "mount",
      unitName: mountUnitName(volume.mountPoint),
      content: renderMountUnit({ device: volume.device, mountPoint: volume.mountPoint, fsType: volume.fsType }, t),
      activation: "start",
      onConfigChange: "restart",
    },
  };
}
