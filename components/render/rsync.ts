// rsync daemon configuration: the public instance and the private tier instance.
import { expandProject, projectName, type AccountsConfig, type NodeConfig } from "../config";
import { sq } from "../shell";
import { HEADER, mountUnitName, renderServiceUnit } from "./systemd";
import { KIT_TEMPLATES, type Templates } from "./templates";
import { METRICS_DIR, PUSH_RECEIVED_SCRIPT, rsyncdConfigPath, rsyncdUnit, RSYNCD_PRIVATE_SECRETS, RSYNCD_PUSH_SECRETS, STATUS_DIR, unitRuntimeDir, type RsyncInstance } from "../../plan/paths";

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
  modules: RsyncdModule[];
  /** Private instance only. */
  hostsAllow: string[];
  authUsers: string[];
  mirrorRoot: string;
  /** The data volumes' mount units: the daemon comes back when a volume is mounted again. */
  mountUnits: string[];
}

export interface RsyncdModule {
  name: string;
  path: string;
  comment: string;
  /** Push instance: each module is its project's, with the project's own upstream hosts and users. */
  project?: string;
  hostsAllow?: string[];
  authUsers?: string[];
}

export const rsyncUnitName = rsyncdUnit;

/** The writable modules through which upstreams push their projects' trees: one per module of a project with `push`. */
export function pushModules(node: NodeConfig): (RsyncdModule & { project: string; hostsAllow: string[]; authUsers: string[] })[] {
  return node.projects.flatMap((p) =>
    p.push
      ? expandProject(p, node.tier).sync.map((job) => ({
          name: `${job.name}-push`,
          path: `${node.mirrorRoot}/${job.path}`.replace(/\/+$/, ""),
          comment: `pushes into ${job.name} (project ${projectName(p)})`,
          project: projectName(p),
          hostsAllow: p.push!.hostsAllow,
          authUsers: p.push!.users.map((u) => u.name),
        }))
      : [],
  );
}

/** The push daemon's users and passwords: every pushed project's. */
export function pushUsers(node: NodeConfig): { name: string; password: string }[] {
  return node.projects.flatMap((p) => p.push?.users ?? []);
}

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
  const pushed = pushModules(node);
  if (pushed.length > 0) {
    models.push({
      instance: "push",
      unitName: rsyncUnitName("push"),
      configPath: rsyncdConfigPath("push"),
      secretsPath: RSYNCD_PUSH_SECRETS,
      port: node.rsync.pushPort,
      // Writes land as the mirror account, which owns the trees.
      user: accounts.mirror.user,
      group: accounts.mirror.group,
      maxConnections: 10,
      modules: pushed,
      hostsAllow: [],
      authUsers: [],
      mirrorRoot: node.mirrorRoot,
      mountUnits,
    });
  }
  return models;
}

export function renderRsyncdConf(m: RsyncdModel, t: Templates = KIT_TEMPLATES): string {
  const isPrivate = m.instance === "private";
  const isPush = m.instance === "push";
  return t.render("rsync/rsyncd.conf.hbs", {
    header: HEADER,
    instance: m.instance,
    unitName: m.unitName,
    port: m.port,
    user: m.user,
    group: m.group,
    runtimeDir: unitRuntimeDir(m.unitName),
    // The private and push modules are never listed; public ones are.
    list: isPrivate || isPush ? "no" : "yes",
    // Push modules take writes (and the pusher's deletions) and never serve a read.
    readOnly: isPush ? "no" : "yes",
    writeOnly: isPush ? "yes" : "no",
    refuseDelete: !isPush,
    // rsync's in-progress directories are never served; a pusher's --delay-updates needs them.
    excludeTmp: !isPush,
    pushReceived: isPush ? PUSH_RECEIVED_SCRIPT : "",
    maxConnections: m.maxConnections,
    hostsAllow: isPrivate ? m.hostsAllow.join(" ") : "",
    secretsFile: isPrivate || isPush ? m.secretsPath : "",
    authUsers: isPrivate ? m.authUsers.join(", ") : "",
    modules: m.modules.map((mod) => ({
      ...mod,
      moduleHostsAllow: mod.hostsAllow?.join(" ") ?? "",
      moduleAuthUsers: mod.authUsers?.join(", ") ?? "",
    })),
  });
}

/** The push daemon's post-xfer hook: records each push in its project's status. */
export function renderPushReceivedScript(m: RsyncdModel, dirs: { statusDir: string; metricsDir: string } = { statusDir: STATUS_DIR, metricsDir: METRICS_DIR }, t: Templates = KIT_TEMPLATES): string {
  return t.render("push/push-received.sh.hbs", { header: HEADER, unitName: m.unitName, userQ: sq(m.user), groupQ: sq(m.group), statusDirQ: sq(dirs.statusDir), metricsDirQ: sq(dirs.metricsDir) });
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
      // The push daemon writes into its modules' trees and records each push.
      // On a new node no sync has made those paths yet (seen on a VM: 226/NAMESPACE).
      ...(m.instance === "push" ? pushWritablePaths(m) : []),
      "CapabilityBoundingSet=CAP_NET_BIND_SERVICE CAP_SETUID CAP_SETGID CAP_SYS_CHROOT",
      "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
    ],
    sandboxExceptions: ["SystemCallFilter=@setuid chroot"],
    wantedBy: ["multi-user.target", ...m.mountUnits].join(" "),
  }, t);
}

/**
 * The push daemon's writable paths, made (as the mirror account's) before the
 * daemon needs them. systemd sets up the sandbox for ExecStartPre too, so a
 * path may be missing then ("-": skipped); each command gets its own, and
 * the daemon's finds them made.
 */
function pushWritablePaths(m: RsyncdModel): string[] {
  const paths = [...m.modules.map((mod) => mod.path), STATUS_DIR, METRICS_DIR];
  return [`ExecStartPre=+/usr/bin/install -d -o ${m.user} -g ${m.group} -m 0755 ${paths.join(" ")}`, `ReadWritePaths=${paths.map((p) => `-${p}`).join(" ")}`];
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
