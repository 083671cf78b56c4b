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

/** One mod_setenvif rule on the client address: `value` may use $1..$9 of `pattern`. */
export interface ClientKeyRule {
  pattern: string;
  value: string;
}

const HEX = "([0-9a-f]{1,4})";

/**
 * The rules that turn the client address (REMOTE_ADDR, in the canonical
 * text form: lower case, the longest run of zero groups as "::") into its
 * prefix, for mod_qos to count as one client: IPv4 by whole octets, IPv6 by
 * whole 16-bit groups (config.ts refuses other prefixes for Apache). One
 * rule per place a "::" can stand, written out here because Apache has no
 * address arithmetic; the last matching rule wins.
 */
export function clientKeyRules(ipv4Prefix: number, ipv6Prefix: number): ClientKeyRule[] {
  const rules: ClientKeyRule[] = [{ pattern: "^(.+)$", value: "$1" }];
  const octets = ipv4Prefix / 8;
  if (octets < 4) {
    const kept = Array.from({ length: octets }, (_, i) => `$${i + 1}`);
    rules.push({ pattern: "^([0-9]+)\\.([0-9]+)\\.([0-9]+)\\.([0-9]+)$", value: [...kept, ...Array(4 - octets).fill("0")].join(".") });
  }
  const groups = ipv6Prefix / 16;
  if (groups === 8) return rules;
  /** The prefix from the address's eight groups, each a $n or "0". */
  const key = (eight: string[]) => `${eight.slice(0, groups).join(":")}::`;
  // All eight groups written out.
  rules.push({ pattern: `^${Array(8).fill(HEX).join(":")}$`, value: key(Array.from({ length: 8 }, (_, i) => `$${i + 1}`)) });
  // k groups before "::", t after, two or more zero groups between.
  for (let k = 0; k <= 6; k++) {
    for (let t = 0; k + t <= 6; t++) {
      const head = Array(k).fill(HEX).join(":");
      const tail = Array(t).fill(HEX).join(":");
      const eight = [
        ...Array.from({ length: k }, (_, i) => `$${i + 1}`),
        ...Array(8 - k - t).fill("0"),
        ...Array.from({ length: t }, (_, i) => `$${k + i + 1}`),
      ];
      // $n only reaches $9: a key needs at most `groups` (<= 7) of them, all within the first nine.
      rules.push({ pattern: `^${head}::${tail}$`, value: key(eight) });
    }
  }
  return rules;
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
    ipv4Prefix: m.web.ipv4ClientPrefix,
    ipv6Prefix: m.web.ipv6ClientPrefix,
    clientKeyRules: clientKeyRules(m.web.ipv4ClientPrefix, m.web.ipv6ClientPrefix),
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
