// A data volume's mount unit (the sync's and the servers' RequiresMountsFor=
// depend on it).
import type { VolumeConfig } from "../components/config";
import { renderMountUnit } from "../components/render/systemd";
import type { Templates } from "../components/render/templates";
import type { PlannedFile, PlannedUnit } from "./files";
import { mountUnitName, VOLUME_METRICS_FILE } from "./paths";
import { prometheusLabel } from "../components/render/sync";

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

/**
 * The volumes as a Prometheus textfile metric (node_exporter's textfile
 * collector reads METRICS_DIR): the alert rules join it with
 * node_filesystem_* by mount point, so they watch the mirror's own disks.
 */
export function planVolumeMetrics(volumes: VolumeConfig[], owner: { user: string; group: string }): PlannedFile | undefined {
  if (volumes.length === 0) return undefined;
  const lines = [
    "# HELP mirrorkit_data_volume_info A data volume of the mirror (1 each), by mount point.",
    "# TYPE mirrorkit_data_volume_info gauge",
    ...volumes.map((v) => `mirrorkit_data_volume_info{volume=${prometheusLabel(v.name)},mountpoint=${prometheusLabel(v.mountPoint.replace(/\/+$/, "") || "/")}} 1`),
  ];
  // Owned by the mirror account, which owns the metrics directory (the sync units' StateDirectory=).
  return { key: "volume-metrics", path: VOLUME_METRICS_FILE, content: `${lines.join("\n")}\n`, mode: "0644", owner: owner.user, group: owner.group };
}
