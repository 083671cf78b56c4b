// Certificates from an ACME CA (web.acme): lego by http-01 through the kit's
// own web server, a renewal script, its service and two timers (the schedule,
// and one run soon after boot or a change, for the first issuance).
import type { AccountsConfig, AcmeConfig } from "../config";
import { sq } from "../shell";
import { prometheusLabel } from "./sync";
import { HEADER, renderServiceUnit, renderTimerUnit } from "./systemd";
import { KIT_TEMPLATES, type Templates } from "./templates";
import {
  ACME_CERTIFICATE, ACME_CHALLENGE_URL_PATH, ACME_DIRECTORY_CA, ACME_KEY, ACME_LEGO_DIR, ACME_METRICS_FILE, ACME_SCRIPT,
  ACME_START_TIMER, ACME_STATE_DIR, ACME_TIMER, ACME_TLS_DIR, ACME_UNIT, ACME_WEBROOT, METRICS_DIR, WEB_UNIT,
} from "../../plan/paths";

/** Where the renewal keeps and puts things (the kit's paths; a test points them at a scratch directory). */
export interface AcmePaths {
  legoDir: string;
  webroot: string;
  tlsDir: string;
  certificate: string;
  key: string;
  /** The directory's CA file, when web.acme.directoryCaCertificate is set. */
  directoryCa: string;
  metricsFile: string;
  webUnit: string;
}

export const ACME_PATHS: AcmePaths = {
  legoDir: ACME_LEGO_DIR,
  webroot: ACME_WEBROOT,
  tlsDir: ACME_TLS_DIR,
  certificate: ACME_CERTIFICATE,
  key: ACME_KEY,
  directoryCa: ACME_DIRECTORY_CA,
  metricsFile: ACME_METRICS_FILE,
  webUnit: WEB_UNIT,
};

export interface AcmeModel {
  acme: AcmeConfig;
  /** Lower case (DNS is case-insensitive; lego files certificates by the first). */
  names: string[];
  webGroup: string;
  mirror: { user: string; group: string };
  paths: AcmePaths;
}

export function acmeModel(acme: AcmeConfig, accounts: AccountsConfig): AcmeModel {
  return { acme, names: acme.names.map((n) => n.toLowerCase()), webGroup: accounts.http.group, mirror: accounts.mirror, paths: ACME_PATHS };
}

/** What the web servers add for http-01: the challenge URL path and the directory it is served from. */
export const ACME_CHALLENGE = { urlPath: ACME_CHALLENGE_URL_PATH, directory: `${ACME_WEBROOT}${ACME_CHALLENGE_URL_PATH}` } as const;

export function renderAcmeScript(m: AcmeModel, t: Templates = KIT_TEMPLATES): string {
  const primary = m.names[0];
  return t.render("acme/acme-renew.sh.hbs", {
    header: HEADER,
    // Comments only: names are DNS labels, the URL has no newline (config.ts).
    namesText: m.names.join(", "),
    directoryUrl: m.acme.directoryUrl,
    webroot: m.paths.webroot,
    unitName: ACME_UNIT,
    renewDaysBefore: m.acme.renewDaysBefore,
    legoDirQ: sq(m.paths.legoDir),
    webrootQ: sq(m.paths.webroot),
    tlsDirQ: sq(m.paths.tlsDir),
    certificateQ: sq(m.paths.certificate),
    keyQ: sq(m.paths.key),
    directoryCaQ: sq(m.acme.directoryCaCertificate !== undefined ? m.paths.directoryCa : ""),
    metricsFileQ: sq(m.paths.metricsFile),
    directoryUrlQ: sq(m.acme.directoryUrl),
    contactQ: sq(m.acme.contact),
    primaryQ: sq(primary),
    sortedNamesQ: sq([...m.names].sort().join("\n")),
    webUnitQ: sq(m.paths.webUnit),
    webGroupQ: sq(m.webGroup),
    mirrorUserQ: sq(m.mirror.user),
    mirrorGroupQ: sq(m.mirror.group),
    labelsQ: sq(`name=${prometheusLabel(primary)}`),
    placeholderSanQ: sq(`subjectAltName=${m.names.map((n) => `DNS:${n}`).join(",")}`),
    names: m.names.map(sq),
  });
}

export function renderAcmeService(m: AcmeModel, t: Templates = KIT_TEMPLATES): string {
  return renderServiceUnit(
    {
      description: `mirrorkit ACME certificate for ${m.names[0]}`,
      unit: ["After=network-online.target", "Wants=network-online.target"],
      service: [
        "Type=oneshot",
        `ExecStart=${ACME_SCRIPT}`,
        // Root: it installs the key for the web server's group and reloads the server.
        `StateDirectory=${ACME_STATE_DIR.replace(/^\/var\/lib\//, "")}`,
        `ReadWritePaths=${ACME_TLS_DIR} ${METRICS_DIR}`,
        // A CA that is down is asked again later, not hammered.
        "Restart=on-failure",
        "RestartSec=20min",
        "TimeoutStartSec=10min",
        "CapabilityBoundingSet=CAP_CHOWN CAP_DAC_OVERRIDE CAP_FOWNER",
        "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK",
      ],
      // install -o/-g: the key goes to the web server's group.
      sandboxExceptions: ["SystemCallFilter=@chown"],
    },
    t,
  );
}

export function renderAcmeTimer(m: AcmeModel, t: Templates = KIT_TEMPLATES): string {
  return renderTimerUnit(
    {
      description: `mirrorkit ACME renewal for ${m.names[0]}: schedule`,
      timer: [`OnCalendar=${m.acme.renewSchedule}`, `RandomizedDelaySec=${m.acme.randomizedDelaySeconds}`, "Persistent=true", `Unit=${ACME_UNIT}`],
    },
    t,
  );
}

/** Without a spread: the first certificate comes seconds after `up`, not within the schedule's hour. */
export function renderAcmeStartTimer(m: AcmeModel, t: Templates = KIT_TEMPLATES): string {
  return renderTimerUnit(
    {
      description: `mirrorkit ACME renewal for ${m.names[0]}: soon after boot and after a change`,
      timer: ["OnActiveSec=5s", `Unit=${ACME_UNIT}`],
    },
    t,
  );
}

export { ACME_START_TIMER, ACME_TIMER, ACME_UNIT, ACME_SCRIPT };
