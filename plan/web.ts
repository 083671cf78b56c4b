// The web server's part of a node: its support files, its config (checked by
// the server itself) and the kit's unit, for nginx or Apache.
import type { AccountsConfig, VolumeConfig, WebConfig } from "../components/config";
import { webModel, type WebModel } from "../components/render/nginx";
import { renderWebConf, renderWebServerUnit, webConfigCheck, webSupportFiles } from "../components/render/web";
import type { Templates } from "../components/render/templates";
import { rootFile, type PlannedFile, type PlannedUnit } from "./files";
import { LOGROTATE_CONF, unitLogDir, unitRuntimeDir } from "./paths";
import { logrotateCheck, renderLogrotate } from "../components/render/logrotate";

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
}

export function planWebServer(input: WebPlanInput, t: Templates): WebPlan {
  const model = webModel(input);
  // The config's own check reads these directories.
  const prepare = `install -d -m 0755 ${unitRuntimeDir(model.unitName)} ${unitLogDir(model.unitName)}`;
  return {
    model,
    support: webSupportFiles(model, t).map((f) => rootFile(f.key, f.path, f.content, "0644", f.validate)),
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
  };
}
