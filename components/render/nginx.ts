// nginx configuration of a mirror node.
import { isIPv6 } from "node:net";
import type { WebConfig } from "../config";
import { HEADER, mountUnitName, renderServiceUnit } from "./systemd";
import { ACME_CHALLENGE } from "./acme";
import { ACME_WEBROOT, NGINX_LISTING_FILTER, STATUS_DIR, STATUS_URL_PATH, unitLogDir, unitRuntimeDir, WEB_CONFIG, WEB_UNIT } from "../../plan/paths";
import { KIT_TEMPLATES, type Templates } from "./templates";

/** Served as application/octet-stream: packages and images (Fedora guide). */
export const BINARY_EXTENSIONS = [
  "rpm", "drpm", "deb", "udeb", "img", "qcow2", "raw", "vmdk", "vhd", "vhdx",
  "squashfs", "xz", "zst", "gz", "bz2", "tar", "apk",
] as const;

export { WEB_UNIT };

/**
 * Caching by kind of file, for both servers. Repository metadata (indices,
 * signatures, timestamps, traces) changes in place: clients revalidate it.
 * Packages and content-addressed metadata never change under their name:
 * cached long. Images may be replaced under the same name: a day.
 * Each is a regex on the URL path; the first that matches wins.
 */
export const CACHE_CLASSES = [
  {
    name: "metadata",
    pattern:
      "(^|/)(repomd\\.xml(\\.asc|\\.key)?|InRelease|Release(\\.gpg)?|(Packages|Sources|Contents-[^/]+|Translation-[^/]+|Components-[^/]+|Commands-[^/]+|icons-[^/]+)(\\.(gz|xz|bz2|zst|lz4))?|[^/]+\\.(db|files)(\\.tar\\.(gz|xz|zst))?(\\.sig)?|lastsync|lastupdate|fullfiletimelist-[^/]+|fullfilelist|TIME|(MD5|SHA1|SHA256|SHA512)SUMS(\\.gpg|\\.sign)?|[^/]*CHECKSUM|project/trace/[^/]+)$",
    cacheControl: "no-cache",
  },
  {
    name: "package",
    pattern: "(\\.(rpm|drpm|deb|udeb|apk|pkg\\.tar\\.(zst|xz|gz)(\\.sig)?)|/repodata/[0-9a-f]{32,}-[^/]+|/by-hash/[^/]+/[^/]+)$",
    cacheControl: "public, max-age=2592000",
  },
  { name: "image", pattern: "\\.(iso|img|qcow2|raw|vmdk|vhd|vhdx|squashfs)$", cacheControl: "public, max-age=86400" },
] as const;

/** Repository indices and what travels with them: swapped in place by each sync. */
export const METADATA_PATTERN = CACHE_CLASSES.find((c) => c.name === "metadata")!.pattern;

/** The web server's model from node config (shared by WebServer and `npm run render`). */
export function webModel(node: {
  web: WebConfig;
  mirrorRoot: string;
  accounts: { http: { user: string; group: string } };
  volumes?: { mountPoint: string }[];
}): WebModel {
  return {
    mountUnits: (node.volumes ?? []).map((v) => mountUnitName(v.mountPoint)),
    web: node.web,
    mirrorRoot: node.mirrorRoot,
    user: node.accounts.http.user,
    group: node.accounts.http.group,
    unitName: WEB_UNIT,
    configPath: WEB_CONFIG[node.web.server],
    listingFilterPath: NGINX_LISTING_FILTER,
    statusDir: STATUS_DIR,
  };
}

/** Debian's njs module (package libnginx-mod-http-js), which runs the listing filter. */
export const NJS_MODULE = "/usr/lib/nginx/modules/ngx_http_js_module.so";

export interface WebModel {
  /** The data volumes' mount units: the server comes back when a volume is mounted again. */
  mountUnits?: string[];
  web: WebConfig;
  mirrorRoot: string;
  user: string;
  group: string;
  unitName: string;
  configPath: string;
  /** nginx only: the njs filter that hides unreadable entries from listings. */
  listingFilterPath: string;
  /** The sync jobs' status page, served at STATUS_URL_PATH. */
  statusDir: string;
}

/**
 * The sockets a web server listens on for `port`: each configured address, or
 * every address. nginx's bare port is IPv4 only, so it also gets [::]; Apache's
 * bare `Listen` already takes both families.
 */
export function listenSockets(web: WebConfig, port: number, server: WebConfig["server"]): string[] {
  if (web.listenAddresses.length === 0) return server === "nginx" ? [`${port}`, `[::]:${port}`] : [`${port}`];
  return web.listenAddresses.map((a) => (isIPv6(a) ? `[${a}]:${port}` : `${a}:${port}`));
}

/** Listen and TLS fields of a web template: `tls` false, or the certificate paths. */
export function listenAndTlsFields(web: WebConfig, server: WebConfig["server"]) {
  const httpListen = listenSockets(web, web.httpPort, server);
  return web.tls
    ? { httpListen, httpsListen: listenSockets(web, web.tls.httpsPort, server), tls: true, httpsPort: web.tls.httpsPort, tlsCertificate: web.tls.certificatePath, tlsKey: web.tls.keyPath }
    : { httpListen, httpsListen: [], tls: false, httpsPort: 0, tlsCertificate: "", tlsKey: "" };
}

/** ACME fields of a web template: the challenge location (false without web.acme) and the HTTP-to-HTTPS redirect (false unless asked). */
export function acmeFields(web: WebConfig) {
  const acme = web.acme ? { urlPath: ACME_CHALLENGE.urlPath, pattern: ACME_CHALLENGE.urlPath.replace(/\./g, "\\."), directory: ACME_CHALLENGE.directory, webroot: ACME_WEBROOT } : false;
  const redirect = web.acme?.redirectHttp ? { portSuffix: web.acme.httpsPort === 443 ? "" : `:${web.acme.httpsPort}` } : false;
  return { acme, redirect };
}

export function runtimeDirName(unitName: string): string {
  return unitName.replace(/\.service$/, "");
}

export function renderNginxConf(m: WebModel, t: Templates = KIT_TEMPLATES): string {
  return t.render("nginx/nginx.conf.hbs", {
    header: HEADER,
    mirrorRoot: m.mirrorRoot,
    unitName: m.unitName,
    user: m.user,
    jsModule: NJS_MODULE,
    listingFilter: m.listingFilterPath,
    statusDir: m.statusDir,
    statusUrlPath: STATUS_URL_PATH,
    runtimeDir: unitRuntimeDir(m.unitName),
    logDir: unitLogDir(m.unitName),
    keepaliveTimeoutSeconds: m.web.keepaliveTimeoutSeconds,
    keepaliveRequests: m.web.keepaliveRequests,
    isoConnectionsPerIp: m.web.isoConnectionsPerIp,
    retryAfterSeconds: m.web.retryAfterSeconds,
    ipv4Prefix: m.web.ipv4ClientPrefix,
    ipv6Prefix: m.web.ipv6ClientPrefix,
    cacheClasses: CACHE_CLASSES,
    metadataPattern: METADATA_PATTERN,
    binaryExtensions: BINARY_EXTENSIONS.join("|"),
    ...listenAndTlsFields(m.web, "nginx"),
    ...acmeFields(m.web),
  });
}

/** The njs listing filter the nginx config imports. */
export function renderNginxListingFilter(m: WebModel, t: Templates = KIT_TEMPLATES): string {
  return t.render("nginx/listing-filter.js.hbs", { header: HEADER, user: m.user, ipv4Prefix: m.web.ipv4ClientPrefix, ipv6Prefix: m.web.ipv6ClientPrefix });
}

/**
 * A check of the staged listing filter ("$STAGED"): nginx -t of a minimal
 * config that uses it, which compiles it.
 */
export function njsCheckCommand(): string {
  return [
    // njs compiles a module only where a location uses it.
    `printf 'load_module ${NJS_MODULE};\\nevents {}\\nhttp { js_import listing from %s; server { location / { js_header_filter listing.dropLength; js_body_filter listing.hideUnreadable; } } }\\n' "$STAGED" > "$STAGED.check.conf"`,
    'nginx -t -q -e stderr -c "$STAGED.check.conf"; rc=$?; rm -f "$STAGED.check.conf"; exit $rc',
  ].join(" && ");
}

/**
 * The kit's web server unit, for either server: non-root as the http account,
 * binding low ports with that one capability, its own runtime and log dirs.
 */
export function renderWebUnit(m: WebModel, server: string, exec: { check: string; start: string; reload: string }, t: Templates = KIT_TEMPLATES): string {
  const dir = runtimeDirName(m.unitName);
  return renderServiceUnit({
    description: `mirrorkit web server (${server}) for ${m.mirrorRoot}`,
    unit: ["After=network-online.target", "Wants=network-online.target", `RequiresMountsFor=${m.mirrorRoot}`],
    service: [
      "Type=exec",
      `User=${m.user}`,
      `Group=${m.group}`,
      `ExecStartPre=${exec.check}`,
      `ExecStart=${exec.start}`,
      `ExecReload=${exec.reload}`,
      "KillMode=mixed",
      "Restart=on-failure",
      `RuntimeDirectory=${dir}`,
      `LogsDirectory=${dir}`,
      // Binding port 80 as a non-root user is the one privilege it keeps.
      "AmbientCapabilities=CAP_NET_BIND_SERVICE",
      "CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
      "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
      "LimitNOFILE=65536",
    ],
    // Stopping a data mount stops the server (RequiresMountsFor=); mounting it starts it again.
    wantedBy: ["multi-user.target", ...(m.mountUnits ?? [])].join(" "),
  }, t);
}

export function renderNginxUnit(m: WebModel, t: Templates = KIT_TEMPLATES): string {
  const nginx = `/usr/sbin/nginx -c ${m.configPath} -e stderr`;
  return renderWebUnit(m, "nginx", {
    check: `${nginx} -t -q`,
    start: `${nginx} -g 'daemon off;'`,
    reload: "/bin/kill -HUP $MAINPID",
  }, t);
}
