// The web server's part of a node: its support files, its config (checked by
// the server itself) and the kit's unit, for nginx or Apache.
import type { AccountsConfig, VolumeConfig, WebConfig } from "../components/config";
import { webModel, type WebModel } from "../components/render/nginx";
import { renderWebConf, renderWebServerUnit, webConfigCheck, webSupportFiles } from "../components/render/web";
import type { Templates } from "../components/render/templates";
import { rootFile, type PlannedFile, type PlannedUnit } from "./files";
import { ACME_DIRECTORY_CA, ACME_SCRIPT, ACME_TIMER, ACME_UNIT, LOGROTATE_CONF, unitLogDir, unitRuntimeDir } from "./paths";
import { logrotateCheck, renderLogrotate } from "../components/render/logrotate";
import { ACME_START_TIMER, acmeModel, renderAcmeScript, renderAcmeService, renderAcmeStartTimer, renderAcmeTimer, type AcmeModel } from "../components/render/acme";

export interface WebPlanInput {
  web: WebConfig;
  accounts: AccountsConfig;
  mirrorRoot: string;
  /** Name the server answers to (Apache's ServerName). */
  serverName: string;
  volumes: VolumeConfig[];
}

export interface WebPlan {
  model: WebModel;
  /** Files the config reads, installed (and checked) before it. */
  support: PlannedFile[];
  config: PlannedFile;
  unit: PlannedUnit;
  /** Files for the host only (the Docker runtime's containers log to their own tmpfs): the log rotation. */
  hostFiles: PlannedFile[];
  /** web.acme: the renewal's service, its schedule, and the timer that runs it soon after a change (its files are support files). */
  acme?: AcmePlan;
}

export interface AcmePlan {
  script: PlannedFile;
  /** The directory's own CA, when the config gives one. */
  directoryCa?: PlannedFile;
  service: PlannedUnit;
  timer: PlannedUnit;
  startTimer: PlannedUnit;
}

export function planWebServer(input: WebPlanInput, t: Templates): WebPlan {
  const model = webModel(input);
  const acme = input.web.acme ? planAcme(acmeModel(input.web.acme, input.accounts), t) : undefined;
  // The config's own check reads these directories, and with ACME the
  // certificate: a placeholder until the first issuance.
  const prepare = [`install -d -m 0755 ${unitRuntimeDir(model.unitName)} ${unitLogDir(model.unitName)}`, ...(acme ? [`${ACME_SCRIPT} --placeholder`] : [])].join(" && ");
  const acmeSupport = acme ? [...(acme.directoryCa ? [acme.directoryCa] : []), acme.script] : [];
  return {
    model,
    support: [...webSupportFiles(model, t).map((f) => rootFile(f.key, f.path, f.content, "0644", f.validate)), ...acmeSupport],
    config: rootFile(`${input.web.server}-conf`, model.configPath, renderWebConf(model, input.serverName, t), "0644", `${prepare} && ${webConfigCheck(input.web.server)}`),
    unit: {
      key: "unit",
      unitName: model.unitName,
      content: renderWebServerUnit(model, t),
      activation: "start",
      onConfigChange: "reload",
      masks: ["nginx.service", "apache2.service"],
    },
    hostFiles: [rootFile("logrotate", LOGROTATE_CONF, renderLogrotate(model, t), "0644", logrotateCheck())],
    ...(acme ? { acme } : {}),
  };
}

/** The renewal's script (checked by sh -n), the directory's CA (checked by openssl), its service and its two timers. */
function planAcme(m: AcmeModel, t: Templates): AcmePlan {
  const ca = m.acme.directoryCaCertificate;
  return {
    script: rootFile("acme-script", ACME_SCRIPT, renderAcmeScript(m, t), "0755", 'sh -n "$STAGED"'),
    ...(ca !== undefined ? { directoryCa: rootFile("acme-directory-ca", ACME_DIRECTORY_CA, ca.replace(/\n?$/, "\n"), "0644", 'openssl x509 -in "$STAGED" -noout') } : {}),
    service: { key: "acme-service", unitName: ACME_UNIT, content: renderAcmeService(m, t), activation: "install" },
    timer: { key: "acme-timer", unitName: ACME_TIMER, content: renderAcmeTimer(m, t), activation: "start" },
    // Restarted when the script changes (new names, another CA): the renewal runs again at once.
    startTimer: { key: "acme-start-timer", unitName: ACME_START_TIMER, content: renderAcmeStartTimer(m, t), activation: "start", onConfigChange: "restart" },
  };
}
