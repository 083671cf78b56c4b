// A data volume for the mirror tree: formatted only when the device holds no
// filesystem (never reformatted, never a partitioned disk), mounted through a
// systemd mount unit so the sync's RequiresMountsFor= can depend on it, and
// checked against the space the distro needs. Destroy unmounts it and keeps
// the data.
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import type { VolumeConfig } from "./config";
import type { Connection } from "./connection";
import { KIT_TEMPLATES, type Templates } from "./render/templates";
import { planVolume } from "../plan/volume";
import { script, sq } from "./shell";
import { plannedUnitArgs, SystemdUnit } from "./systemd-unit";

export interface DataVolumeArgs {
  connection: pulumi.Input<Connection>;
  volume: VolumeConfig;
  /** Free space the distro needs, for the size warning. */
  needGiB: number;
  /** The templates its mount unit is rendered from (code, not config: not an input of the resource). */
  templates?: Templates;
}

export function formatScript(v: VolumeConfig): string {
  const mkfs = v.fsType === "xfs" ? `mkfs.xfs -q -L mirror-${v.name}` : `mkfs.ext4 -q -L mirror-${v.name}`;
  return script(
    `dev=${sq(v.device)}`,
    `[ -b "$dev" ] || { echo "volume ${v.name}: $dev is not a block device" >&2; exit 1; }`,
    'have=$(blkid -p -o value -s TYPE "$dev" 2>/dev/null || true)',
    'if [ -z "$have" ]; then',
    '  if [ -n "$(blkid -p -o value -s PTTYPE "$dev" 2>/dev/null || true)" ]; then',
    `    echo "volume ${v.name}: $dev has a partition table; refusing to format it" >&2; exit 1`,
    "  fi",
    `  ${mkfs} "$dev"`,
    `  echo "formatted $dev as ${v.fsType}"`,
    `elif [ "$have" != ${sq(v.fsType)} ]; then`,
    `  echo "volume ${v.name}: $dev already holds $have, not ${v.fsType}; it is never reformatted" >&2; exit 1`,
    "else",
    `  echo "$dev already holds ${v.fsType}; kept as it is"`,
    "fi",
  );
}

export class DataVolume extends pulumi.ComponentResource {
  readonly mountPoint: string;
  readonly mounted: command.remote.Command;

  constructor(name: string, args: DataVolumeArgs, opts?: pulumi.ComponentResourceOptions) {
    const { templates = KIT_TEMPLATES, ...inputs } = args;
    super("mirrorkit:node:DataVolume", name, inputs, opts);
    const plan = planVolume(args.volume, templates);
    const v = args.volume;
    this.mountPoint = v.mountPoint;
    const format = new command.remote.Command(
      `${name}-format`,
      { connection: args.connection, create: formatScript(v) },
      { parent: this, dependsOn: opts?.dependsOn },
    );
    const mount = new SystemdUnit(`${name}-${plan.mount.key}`, plannedUnitArgs(args.connection, plan.mount), { parent: this, dependsOn: [format] });
    this.mounted = new command.remote.Command(
      `${name}-size-check`,
      {
        connection: args.connection,
        create: script(
          `mountpoint -q ${sq(v.mountPoint)} || { echo "${v.mountPoint} is not mounted" >&2; exit 1; }`,
          `size=$(df -BG --output=size ${sq(v.mountPoint)} | tail -n1 | tr -dc 0-9)`,
          `echo "size_gib=$size need_gib=${args.needGiB}"`,
        ),
      },
      { parent: this, dependsOn: [mount.active] },
    );
    // Surfaced as a Pulumi warning: the volume is smaller than the distro needs.
    this.mounted.stdout.apply((out) => {
      const m = /size_gib=(\d+) need_gib=(\d+)/.exec(out ?? "");
      if (m && Number(m[1]) < Number(m[2])) {
        void pulumi.log.warn(
          `volume ${v.name} (${v.device} at ${v.mountPoint}) has ${m[1]} GiB; the mirrored distro needs about ${m[2]} GiB`,
          this,
        );
      }
    });
    this.registerOutputs({ mountPoint: this.mountPoint });
  }
}
