// Apache httpd configuration of a mirror node: the same behaviour as the
// nginx one, with mod_qos (packaged by Debian) for the per-address limit.
import { acmeFields, BINARY_EXTENSIONS, CACHE_CLASSES, renderWebUnit, listenAndTlsFields, type WebModel } from "./nginx";
import { STATUS_URL_PATH, unitLogDir, unitRuntimeDir } from "../../plan/paths";
import { HEADER } from "./systemd";
import { KIT_TEMPLATES, type Templates } from "./templates";

/** Debian 12 amd64's libpcre3, which mod_qos needs loaded (package libpcre3). */
export const PCRE_LIBRARY = "/usr/lib/x86_64-linux-gnu/libpcre.so.3";

/** Modules the standalone config loads: [module name, file name]. */
export function apacheModules(tls: boolean): { name: string; file: string }[] {
  const mods: [string, string][] = [
    ["mpm_event", "mpm_event"],
    ["authz_core", "authz_core"],
    ["mime", "mime"],
    ["dir", "dir"],
    ["autoindex", "autoindex"],
    ["alias", "alias"],
    ["rewrite", "rewrite"],
    ["setenvif", "setenvif"],
    ["headers", "headers"],
    ["reqtimeout", "reqtimeout"],
    ["qos", "qos"],
  ];
  if (tls) mods.push(["socache_shmcb", "socache_shmcb"], ["ssl", "ssl"]);
  return mods.map(([name, file]) => ({ name, file }));
}

export function renderApacheConf(m: WebModel, serverName = "localhost", t: Templates = KIT_TEMPLATES): string {
  return t.render("apache/httpd.conf.hbs", {
    header: HEADER,
    mirrorRoot: m.mirrorRoot,
    unitName: m.unitName,
    user: m.user,
    configPath: m.configPath,
    serverName,
    runtimeDir: unitRuntimeDir(m.unitName),
    logDir: unitLogDir(m.unitName),
    modules: apacheModules(m.web.tls !== undefined),
    pcreLibrary: PCRE_LIBRARY,
    statusDir: m.statusDir,
    statusUrlPath: STATUS_URL_PATH,
    keepaliveTimeoutSeconds: m.web.keepaliveTimeoutSeconds,
    keepaliveRequests: m.web.keepaliveRequests,
    isoConnectionsPerIp: m.web.isoConnectionsPerIp,
    retryAfterSeconds: m.web.retryAfterSeconds,
    // Last class first: in Apache the last matching `Header set` wins.
    cacheClasses: [...CACHE_CLASSES].reverse(),
    binaryExtensions: BINARY_EXTENSIONS.map((e) => `.${e}`).join(" "),
    ...listenAndTlsFields(m.web, "apache"),
    ...acmeFields(m.web),
  });
}

export function renderApacheUnit(m: WebModel, t: Templates = KIT_TEMPLATES): string {
  const httpd = `/usr/sbin/apache2 -f ${m.configPath}`;
  return renderWebUnit(m, "Apache httpd", {
    check: `${httpd} -t`,
    start: `${httpd} -DFOREGROUND`,
    reload: `${httpd} -k graceful`,
  }, t);
}
