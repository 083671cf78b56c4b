// What every node needs before anything else: the kit's own directories and
// the Debian packages of the chosen services. Packages already installed
// are left as they are; apt runs only for missing ones.
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { KIT_CONFIG_DIR, KIT_INCOMING_DIR, KIT_STATE_DIR } from "../plan/paths";
import { KIT_DIRECTORIES } from "../plan/node";
import type { Connection } from "./connection";
import { script } from "./shell";

/** Debian's time daemons; without one, the node gets systemd-timesyncd. */
const TIME_DAEMONS = ["chrony", "ntp", "ntpsec", "openntpd", "systemd-timesyncd"];

export interface HostBaseArgs {
  connection: pulumi.Input<Connection>;
  /** Debian packages the node's services need. */
  packages: string[];
}

export class HostBase extends pulumi.ComponentResource {
  /** Depend on this before copying files or using the packages. */
  readonly ready: command.remote.Command;

  constructor(name: string, args: HostBaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mirrorkit:host:HostBase", name, args, opts);
    const packages = [...args.packages].sort().join(" ");
    this.ready = new command.remote.Command(
      `${name}-prepare`,
      {
        connection: args.connection,
        create: script(
          // The plan's kit directories, one install per mode (all root's).
          ...[...new Set(KIT_DIRECTORIES.map((d) => d.mode))].map(
            (mode) => `install -d -m ${mode} ${KIT_DIRECTORIES.filter((d) => d.mode === mode).map((d) => d.path).join(" ")}`,
          ),
          `missing=""`,
          `for p in ${packages}; do`,
          `  dpkg-query -W -f='\${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"`,
          "done",
          // The clock (trace files, freshness, certificates): a time daemon already there is kept.
          `dpkg-query -W -f='\${Status}\\n' ${TIME_DAEMONS.join(" ")} 2>/dev/null | grep -q "install ok installed" || missing="$missing systemd-timesyncd"`,
          `if [ -n "$missing" ]; then`,
          "  export DEBIAN_FRONTEND=noninteractive",
          // Offline first (cached packages), then with fresh package lists.
          "  apt-get install -y -q --no-install-recommends $missing >/dev/null 2>&1 ||",
          "    { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends $missing >/dev/null; }",
          "fi",
          // systemctl, not timedatectl: that one needs D-Bus, which a minimal Debian lacks.
          `systemctl is-active --quiet ${TIME_DAEMONS.filter((d) => d !== "systemd-timesyncd").join(" ")} || systemctl enable --now --quiet systemd-timesyncd.service || { echo "no time synchronisation could be enabled" >&2; exit 1; }`,
        ),
        // Packages stay installed on destroy; the kit's records go.
        delete: script(
          `rm -rf ${KIT_INCOMING_DIR}`,
          `for d in ${KIT_STATE_DIR} ${KIT_CONFIG_DIR}; do [ -d "$d" ] && find "$d" -depth -type d -empty -delete; done; true`,
        ),
      },
      { parent: this, dependsOn: opts?.dependsOn },
    );
    this.registerOutputs({});
  }
}
