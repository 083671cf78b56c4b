// Every host path and unit name a node has, in one place. No imports: the
// policy pack and the Docker runtime read it too.

/** The kit's config files. */
export const KIT_CONFIG_DIR = "/etc/mirrorkit";
/** The kit's own records on a host (staged copies, unit hashes). */
export const KIT_STATE_DIR = "/var/lib/mirrorkit";
/** Where files are staged before their check and the swap. */
export const KIT_INCOMING_DIR = `${KIT_STATE_DIR}/incoming`;
/** What the host applied last, per unit: "<unit hash> <config hashes>". */
export const UNIT_HASH_DIR = `${KIT_STATE_DIR}/units`;
/** The kit's scripts (sync jobs, push trigger). */
export const KIT_LIB_DIR = "/usr/local/lib/mirrorkit";
export const SYSTEMD_DIR = "/etc/systemd/system";

/** The sync jobs' state, status page and metrics. */
export const SYNC_STATE_DIR = "/var/lib/mirrorkit-sync";
/** The node's status page directory (shared by all jobs, published by the web server). */
export const STATUS_DIR = `${SYNC_STATE_DIR}/status`;
/** Where the status page is served. */
export const STATUS_URL_PATH = "/mirror-status/";
/** Prometheus textfile metrics (point node_exporter's textfile collector here). */
export const METRICS_DIR = `${SYNC_STATE_DIR}/metrics`;

/** The kit's node_exporter unit (Debian's own unit is masked). */
export const NODE_EXPORTER_UNIT = "mirrorkit-node-exporter.service";

/** The node's data volumes as a metric, for alerts on node_exporter's filesystem metrics. */
export const VOLUME_METRICS_FILE = `${METRICS_DIR}/mirrorkit-volumes.prom`;

/** ACME (web.acme): lego's account and certificates (root's), and the http-01 webroot the web server serves. */
export const ACME_STATE_DIR = "/var/lib/mirrorkit-acme";
export const ACME_LEGO_DIR = `${ACME_STATE_DIR}/lego`;
export const ACME_WEBROOT = `${ACME_STATE_DIR}/webroot`;
/** The certificate and key the web server serves (a self-signed placeholder until the first issuance). */
export const ACME_TLS_DIR = `${KIT_CONFIG_DIR}/tls`;
export const ACME_CERTIFICATE = `${ACME_TLS_DIR}/fullchain.pem`;
export const ACME_KEY = `${ACME_TLS_DIR}/privkey.pem`;
/** The directory's own CA, when web.acme.directoryCaCertificate is set. */
export const ACME_DIRECTORY_CA = `${ACME_TLS_DIR}/acme-directory-ca.pem`;
export const ACME_SCRIPT = `${KIT_LIB_DIR}/acme-renew`;
export const ACME_UNIT = "mirrorkit-acme.service";
export const ACME_TIMER = "mirrorkit-acme.timer";
/** Runs the renewal shortly after boot and after each `up` that changes the script. */
export const ACME_START_TIMER = "mirrorkit-acme-start.timer";
export const ACME_METRICS_FILE = `${METRICS_DIR}/mirrorkit-acme.prom`;
/** Where http-01 challenges are answered. */
export const ACME_CHALLENGE_URL_PATH = "/.well-known/acme-challenge/";

/** The kit's web server unit, whichever server runs in it. */
export const WEB_UNIT = "mirrorkit-web.service";
export const WEB_CONFIG = { nginx: `${KIT_CONFIG_DIR}/nginx/nginx.conf`, apache: `${KIT_CONFIG_DIR}/apache/httpd.conf` } as const;
/** The njs filter that hides unreadable (staged) entries from nginx's listings. */
export const NGINX_LISTING_FILTER = `${KIT_CONFIG_DIR}/nginx/listing-filter.js`;

/** A kit unit's own runtime directory (RuntimeDirectory=, pid files and sockets). */
export function unitRuntimeDir(unit: string): string {
  return `/run/${unit.replace(/\.service$/, "")}`;
}
/** A kit unit's own log directory (LogsDirectory=). */
export function unitLogDir(unit: string): string {
  return `/var/log/${unit.replace(/\.service$/, "")}`;
}

export type RsyncInstance = "public" | "private" | "push";
export function rsyncdUnit(instance: RsyncInstance): string {
  return `mirrorkit-rsyncd-${instance}.service`;
}
export function rsyncdConfigPath(instance: RsyncInstance): string {
  return `${KIT_CONFIG_DIR}/rsyncd-${instance}.conf`;
}
/** The private (tier) daemon's auth users and passwords. */
export const RSYNCD_PRIVATE_SECRETS = `${KIT_CONFIG_DIR}/rsyncd-private.secrets`;
/** The push daemon's (upstreams writing into their projects' trees) auth users and passwords. */
export const RSYNCD_PUSH_SECRETS = `${KIT_CONFIG_DIR}/rsyncd-push.secrets`;
/** What the push daemon runs after each push it received: the project's push status. */
export const PUSH_RECEIVED_SCRIPT = `${KIT_LIB_DIR}/push-received`;

/** A sync job's files and units. */
export function syncPaths(job: string) {
  const unit = `mirrorkit-sync-${job}`;
  return {
    unitName: `${unit}.service`,
    timerName: `${unit}.timer`,
    /** The push trigger's path unit for this job. */
    pathUnitName: `${unit}.path`,
    scriptPath: `${KIT_LIB_DIR}/sync-${job}.sh`,
    passwordPath: `${KIT_CONFIG_DIR}/sync/${job}.password`,
    stateDir: `${SYNC_STATE_DIR}/${job}`,
    metricsFile: `${METRICS_DIR}/${job}.prom`,
    /** The hardlink pass over the job's tree. */
    hardlinkUnitName: `mirrorkit-hardlink-${job}.service`,
    hardlinkTimerName: `mirrorkit-hardlink-${job}.timer`,
    hardlinkScriptPath: `${KIT_LIB_DIR}/hardlink-${job}.sh`,
    hardlinkMetricsFile: `${METRICS_DIR}/hardlink-${job}.prom`,
    /** Its result, served with the status page. */
    hardlinkStatusFile: `${STATUS_DIR}/hardlink/${job}.json`,
  };
}

export function bitflipUnits(name: string) {
  return { unitName: `mirrorkit-bitflip-${name}.service`, timerName: `mirrorkit-bitflip-${name}.timer` };
}

/** The trigger directory an upstream's push rewrites. */
export const PUSH_TRIGGER_DIR = "/var/lib/mirrorkit-push";
export const PUSH_TRIGGER_FILE = `${PUSH_TRIGGER_DIR}/trigger`;
/** The push account's forced command. */
export const PUSH_TRIGGER_SCRIPT = `${KIT_LIB_DIR}/push-trigger`;
export const PUSH_AUTHORIZED_KEYS = `${KIT_CONFIG_DIR}/push/authorized_keys`;
/** The push key a node with downstreams signs in with (owned by the mirror account). */
export const PUSH_KEY_PATH = `${KIT_CONFIG_DIR}/push/id_ed25519`;
export const SSHD_PUSH_DROP_IN = "/etc/ssh/sshd_config.d/mirrorkit-push.conf";
/** What sshd last reloaded with, for the drop-in. */
export const SSHD_RELOADED_HASH = `${UNIT_HASH_DIR}/ssh-push-drop-in.hash`;

/** The kit's logrotate config (the web server's logs). */
export const LOGROTATE_CONF = "/etc/logrotate.d/mirrorkit";

/** Fedora MirrorManager's client config (report_mirror's default path). */
export const REPORT_MIRROR_CONF = "/etc/mirrormanager-client/report_mirror.conf";

/** Shell patterns matching every unit name the kit gives (mount units aside: named by their mount point). */
export const KIT_UNIT_PATTERNS = [WEB_UNIT, NODE_EXPORTER_UNIT, "mirrorkit-rsyncd-*", "mirrorkit-sync-*", "mirrorkit-hardlink-*", "mirrorkit-bitflip-*", "mirrorkit-acme*"];

/** A unit file's path. */
export function unitFilePath(unit: string): string {
  return `${SYSTEMD_DIR}/${unit}`;
}

/** systemd's path escaping (systemd-escape --path), for mount unit names. */
export function escapePath(p: string): string {
  const trimmed = p.replace(/^\/+|\/+$/g, "");
  if (trimmed === "") return "-";
  return trimmed
    .split("/")
    .map((part) =>
      [...part]
        .map((ch, i) => (/[A-Za-z0-9:_]/.test(ch) || (ch === "." && i > 0) ? ch : `\\x${ch.charCodeAt(0).toString(16).padStart(2, "0")}`))
        .join(""),
    )
    .join("-");
}

/** A data volume's mount unit. */
export function mountUnitName(mountPoint: string): string {
  return `${escapePath(mountPoint)}.mount`;
}
