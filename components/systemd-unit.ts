// One systemd unit the kit owns: its file (validated by systemd-analyze
// verify before it replaces the working one) and its activation. The unit is
// restarted when its own file changed and reloaded (or restarted, for
// daemons without reload) when only its config files changed; the config
// hashes in the script make either re-run. Destroy stops and disables it.
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { UNIT_HASH_DIR } from "../plan/paths";
import type { Connection } from "./connection";
import { plannedFileArgs, RemoteFile } from "./remote-file";
import { script, sq } from "./shell";
import { unitFile, type PlannedUnit } from "../plan/files";

export interface SystemdUnitArgs {
  connection: pulumi.Input<Connection>;
  /** e.g. mirrorkit-web.service, mirrorkit-sync-fedora.timer */
  unitName: string;
  content: string;
  /**
   * What `up` does with it: "start" keeps it running (enabled), "install"
   * only installs it (a timer's service, started by the timer).
   */
  activation: "start" | "install";
  /** How a config change is applied to a running unit. */
  onConfigChange?: "reload" | "restart";
  /** Hashes of the config files the unit reads. */
  configHashes?: pulumi.Input<string>[];
  /** Distribution units to stop and mask so they cannot take the same ports. */
  masks?: string[];
}

export class SystemdUnit extends pulumi.ComponentResource {
  readonly unitName: string;
  /** Done when the unit is installed (and running, for "start"). */
  readonly active: command.remote.Command;

  constructor(name: string, args: SystemdUnitArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mirrorkit:host:SystemdUnit", name, args, opts);
    this.unitName = args.unitName;
    const unit = args.unitName;
    // The same file every runtime installs (checked by systemd-analyze verify).
    const file = new RemoteFile(
      `${name}-file`,
      plannedFileArgs(args.connection, unitFile({ key: "unit", unitName: unit, content: args.content, activation: args.activation })),
      { parent: this, dependsOn: opts?.dependsOn },
    );

    const masks = (args.masks ?? []).join(" ");
    const hashFile = `${UNIT_HASH_DIR}/${unit}.hash`;
    const apply = args.onConfigChange === "reload" ? `systemctl reload ${unit}` : `systemctl restart ${unit}`;
    const hashes = pulumi.all(args.configHashes ?? []).apply((h) => h.join(" "));
    this.active = new command.remote.Command(
      `${name}-activate`,
      {
        connection: args.connection,
        // The hashes are in the command text, never in `environment`: the
        // command provider sends that as SSH setenv requests, which a stock
        // sshd refuses (AcceptEnv LANG LC_*).
        create: pulumi.all([file.contentHash, hashes]).apply(([unitHash, configHashes]) =>
          activationScript({ unit, hashFile, unitHash, configHashes, activation: args.activation, apply, masks }),
        ),
        delete: script(
          `systemctl disable --now ${unit} >/dev/null 2>&1 || true`,
          `rm -f ${hashFile}`,
          ...(masks ? [`systemctl unmask ${masks} >/dev/null 2>&1 || true`] : []),
          // The unit file itself goes with its RemoteFile, after this.
        ),
      },
      { parent: this, dependsOn: [file.installed] },
    );
    this.registerOutputs({ unitName: this.unitName });
  }
}

interface Activation {
  unit: string;
  /** Where the host records what it last applied: "<unit hash> <config hashes>". */
  hashFile: string;
  unitHash: string;
  configHashes: string;
  activation: SystemdUnitArgs["activation"];
  /** The command that applies a config change to the running unit. */
  apply: string;
  masks: string;
}

/**
 * The activation script. The provider runs it again whenever any input of
 * the command changes, the connection included (a new address or key), so
 * it acts on what the host recorded, not on being run: a new unit file is
 * loaded (a daemon-reload only when systemd holds an older file) and the unit restarted; new config alone is applied (reload or
 * restart); a stopped unit is started; otherwise nothing is touched.
 */
export function activationScript(a: Activation): string {
  const want = `${a.unitHash} ${a.configHashes}`.trimEnd();
  const lines = [
    ...(a.masks ? [`systemctl disable --now ${a.masks} >/dev/null 2>&1 || true`, `systemctl mask ${a.masks} >/dev/null 2>&1 || true`] : []),
    `want=${sq(want)}`,
    `have=$(cat ${sq(a.hashFile)} 2>/dev/null || true)`,
    `unit_changed=yes; [ "\${have%% *}" = ${sq(a.unitHash)} ] && unit_changed=no`,
    // Only a unit systemd has loaded from an older file needs a reload (a
    // reload costs seconds on a small host and stalls systemd); a new one is
    // read from disk when first used.
    `[ "$unit_changed" = no ] || [ "$(systemctl show -p NeedDaemonReload --value ${a.unit})" != yes ] || systemctl daemon-reload`,
  ];
  if (a.activation === "start") {
    lines.push(
      // Without enable's own reload: the symlink matters at the next boot, and the restart below loads the unit.
      `systemctl enable --quiet --no-reload ${a.unit}`,
      `if [ "$unit_changed" = yes ] || ! systemctl is-active --quiet ${a.unit}; then`,
      `  systemctl restart ${a.unit}`,
      `elif [ "$have" != "$want" ]; then`,
      `  ${a.apply}`,
      "fi",
      `systemctl is-active --quiet ${a.unit} || { journalctl -u ${a.unit} -n 30 --no-pager >&2; exit 1; }`,
    );
  }
  lines.push(`install -d -m 0755 ${sq(a.hashFile.replace(/\/[^/]+$/, ""))}`, `[ "$have" = "$want" ] || echo "$want" > ${sq(a.hashFile)}`);
  return `# unit ${a.unit} ${want}\n${script(...lines)}`;
}

/** A planned unit's delivery args, with the hashes of the config files it reads. */
export function plannedUnitArgs(connection: pulumi.Input<Connection>, u: PlannedUnit, configHashes?: pulumi.Input<string>[]): SystemdUnitArgs {
  return {
    connection,
    unitName: u.unitName,
    content: u.content,
    activation: u.activation,
    ...(u.onConfigChange !== undefined ? { onConfigChange: u.onConfigChange } : {}),
    ...(configHashes !== undefined ? { configHashes } : {}),
    ...(u.masks !== undefined ? { masks: u.masks } : {}),
  };
}
