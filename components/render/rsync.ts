// rsync daemon configuration: the public instance and the private tier instance.
import type { AccountsConfig, NodeConfig } from "../config";
import { HEADER, mountUnitName, renderServiceUnit } from "./systemd";
import { KIT_TEMPLATES, type Templates } from "./templates";
import { rsyncdConfigPath, rsyncdUnit, RSYNCD_PRIVATE_SECRETS, unitRuntimeDir, type RsyncInstance } from "../../plan/paths";

export type { RsyncInstance };

export interface RsyncdModel {
  instance: RsyncInstance;
  unitName: string;
  configPath: string;
  secretsPath: string;
  port: number;
  user: string;
  group: string;
  maxConnections: number;
  modules: { name: string; path: string; comment: string }[];
  /** Private instance only. */
  hostsAllow: string[];
  authUsers: string[];
  mirrorRoot: string;
  /** The data volumes' mount units: the daemon comes back when a volume is mounted again. */
  mountUnits: string[];
}

export const rsyncUnitName = rsyncdUnit;

/** The models of the daemons a node runs: public when it has public modules, private when configured. */
export function rsyncdModels(node: NodeConfig): RsyncdModel[] {
  const models: RsyncdModel[] = [];
  const abs = (p: string) => `${node.mirrorRoot}/${p}`.replace(/\/+$/, "");
  const accounts: AccountsConfig = node.accounts;
  const mountUnits = node.volumes.map((v) => mountUnitName(v.mountPoint));
  if (node.rsync.modules.length > 0) {
    models.push({
      instance: "public",
      unitName: rsyncUnitName("public"),
      configPath: rsyncdConfigPath("public"),
      secretsPath: "",
      port: node.rsync.port,
      user: accounts.rsync.user,
      group: accounts.rsync.group,
      maxConnections: node.rsync.maxConnections,
      modules: node.rsync.modules.map((m) => ({ name: m.name, path: abs(m.path), comment: m.comment })),
      hostsAllow: [],
      authUsers: [],
      mirrorRoot: node.mirrorRoot,
      mountUnits,
    });
  }
  const priv = node.rsync.private;
  if (priv) {
    models.push({
      instance: "private",
      unitName: rsyncUnitName("private"),
      configPath: rsyncdConfigPath("private"),
      secretsPath: RSYNCD_PRIVATE_SECRETS,
      port: priv.port,
      user: accounts.tier.user,
      group: accounts.mirror.group,
      maxConnections: priv.maxConnections,
      modules: priv.modules.map((m) => ({ name: m.name, path: abs(m.path), comment: m.comment })),
      hostsAllow: priv.hostsAllow,
      authUsers: priv.users.map((u) => u.name),
      mirrorRoot: node.mirrorRoot,
      mountUnits,
    });
  }
  return models;
}

export function renderRsyncdConf(m: RsyncdModel, t: Templates = KIT_TEMPLATES): string {
  const isPrivate = m.instance === "private";
  return t.render("rsync/rsyncd.conf.hbs", {
    header: HEADER,
    instance: m.instance,
    unitName: m.unitName,
    port: m.port,
    user: m.user,
    group: m.group,
    runtimeDir: unitRuntimeDir(m.unitName),
    // The private module is never listed; public ones are.
    list: isPrivate ? "no" : "yes",
    maxConnections: m.maxConnections,
    hostsAllow: isPrivate ? m.hostsAllow.join(" ") : "",
    secretsFile: isPrivate ? m.secretsPath : "",
    authUsers: isPrivate ? m.authUsers.join(", ") : "",
    modules: m.modules,
  });
}

/** rsyncd secrets file: `user:password` lines. */
export function renderRsyncdSecrets(users: { name: string; password: string }[]): string {
  return users.map((u) => `${u.name}:${u.password}\n`).join("");
}

export function renderRsyncdUnit(m: RsyncdModel, t: Templates = KIT_TEMPLATES): string {
  const dir = m.unitName.replace(/\.service$/, "");
  return renderServiceUnit({
    description: `mirrorkit rsync daemon (${m.instance}) on port ${m.port}`,
    unit: ["After=network-online.target", "Wants=network-online.target", `RequiresMountsFor=${m.mirrorRoot}`],
    service: [
      "Type=exec",
      // The daemon starts as root only to bind, chroot into the module and
      // drop to the module's uid/gid for each connection (rsyncd's own
      // design); these four capabilities are all it keeps.
      `ExecStart=/usr/bin/rsync --daemon --no-detach --config=${m.configPath}`,
      "Restart=on-failure",
      `RuntimeDirectory=${dir}`,
      "CapabilityBoundingSet=CAP_NET_BIND_SERVICE CAP_SETUID CAP_SETGID CAP_SYS_CHROOT",
      "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
    ],
    sandboxExceptions: ["SystemCallFilter=@setuid chroot"],
    wantedBy: ["multi-user.target", ...m.mountUnits].join(" "),
  }, t);
}

/**
 * A shell check that rsync itself accepts a daemon config: it starts a
 * throwaway daemon on a loopback port with the config (pid and lock files
 * overridden) and lists its modules. `config` is a shell word.
 */
export function rsyncdCheckCommand(config: string): string {
  // A port taken by something else is not a bad config: another port is tried (three in all).
  return [
    `t=$(mktemp -d); ok=1`,
    `for try in 1 2 3; do p=$(( 20000 + ($$ + try * 7919) % 20000 ))`,
    `rsync --daemon --no-detach --config=${config} --address=127.0.0.1 --port=$p -M "pid file=$t/pid" -M "lock file=$t/lock" -M "syslog facility=daemon" -M "hosts allow=127.0.0.1" 2>"$t/err" & d=$!`,
    `for i in 1 2 3 4 5 6 7 8 9 10; do if rsync "rsync://127.0.0.1:$p/" >"$t/list" 2>>"$t/err"; then ok=0; break; fi; kill -0 $d 2>/dev/null || break; sleep 0.5; done`,
    // A daemon that exits by itself with code 10 (socket I/O) could not bind its port.
    `kill -0 $d 2>/dev/null && alive=1 || alive=0; kill $d 2>/dev/null; wait $d 2>/dev/null; rc=$?; rm -f "$t/pid"`,
    `if [ $ok = 0 ] || [ $alive = 1 ] || [ $rc != 10 ]; then break; fi; done`,
    `if [ $ok = 0 ]; then cat "$t/list"; else cat "$t/err" >&2; fi; rm -rf "$t"; exit $ok`,
  ].join("\n");
}
