// One systemd unit the kit owns: its file (validated by systemd-analyze
// verify before it replaces the working one) and its activation. The unit is
// restarted when its own file changed and reloaded (or restarted, for
// daemons without reload) when only its config files changed; the config
// hashes in the script make either re-run. Destroy stops and disables it.
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { KIT_STATE_DIR } from "./connection";
import type { Connection } from "./connection";
import { RemoteFile } from "./remote-file";
import { script } from "./shell";

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
    const file = new RemoteFile(
      `${name}-file`,
      {
        connection: args.connection,
        path: `/etc/systemd/system/${unit}`,
        content: args.content,
        mode: "0644",
        owner: "root",
        group: "root",
        // verify needs the real unit name; checked in a scratch directory.
        validate: `d=$(mktemp -d) && cp "$STAGED" "$d/${unit}" && systemd-analyze verify "$d/${unit}"; rc=$?; rm -rf "$d"; exit $rc`,
      },
      { parent: this, dependsOn: opts?.dependsOn },
    );

    const masks = (args.masks ?? []).join(" ");
    const hashFile = `${KIT_STATE_DIR}/units/${unit}.hash`;
    const apply = args.onConfigChange === "reload" ? `systemctl reload ${unit}` : `systemctl restart ${unit}`;
    const startLines =
      args.activation === "start"
        ? [
            `systemctl enable --quiet ${unit}`,
            `if [ "$(cat ${hashFile} 2>/dev/null)" != "$UNIT_HASH" ] || ! systemctl is-active --quiet ${unit}; then`,
            `  systemctl restart ${unit}`,
            "else",
            `  ${apply}`,
            "fi",
            `systemctl is-active --quiet ${unit} || { journalctl -u ${unit} -n 30 --no-pager >&2; exit 1; }`,
          ]
        : [];
    const hashes = pulumi.all(args.configHashes ?? []).apply((h) => h.join(" "));
    this.active = new command.remote.Command(
      `${name}-activate`,
      {
        connection: args.connection,
        create: pulumi.interpolate`# unit ${file.contentHash} config ${hashes}
${script(
  ...(masks ? [`systemctl disable --now ${masks} >/dev/null 2>&1 || true`, `systemctl mask ${masks} >/dev/null 2>&1 || true`] : []),
  `install -d -m 0755 ${KIT_STATE_DIR}/units`,
  "systemctl daemon-reload",
  ...startLines,
  `echo "$UNIT_HASH" > ${hashFile}`,
)}`,
        environment: { UNIT_HASH: file.contentHash },
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
