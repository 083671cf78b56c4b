// Every file a node installs, rendered from its config without touching a
// host: the same model functions the components use. Secret files carry a
// placeholder, never the secret.
import type { NodeConfig } from "../config";
import { bitflipModel, renderBitflipService, renderBitflipTimer } from "./bitflip";
import { webModel } from "./nginx";
import { renderWebConf, renderWebServerUnit, webSupportFiles } from "./web";
import { renderRsyncdConf, renderRsyncdUnit, rsyncdModels } from "./rsync";
import { renderSyncExcludes, renderSyncScript, renderSyncService, renderSyncTimer, syncModel } from "./sync";
import { mountUnitName, renderMountUnit } from "./systemd";
import { renderReportMirrorConf, reportMirrorModel } from "./report-mirror";
import { pushModel, renderPushAuthorizedKeys, renderPushPathUnit, renderPushTrigger, renderSshdPushDropIn } from "./push";

export interface RenderedFile {
  path: string;
  content: string;
  mode: string;
}

const SECRET_PLACEHOLDER = "# (secret: rendered on the host from Pulumi secret config)\n";

export function nodeFiles(node: NodeConfig): RenderedFile[] {
  const files: RenderedFile[] = [];
  const add = (path: string, content: string, mode = "0644") => files.push({ path, content, mode });
  const unit = (name: string, content: string) => add(`/etc/systemd/system/${name}`, content);

  for (const v of node.volumes) {
    unit(mountUnitName(v.mountPoint), renderMountUnit({ device: v.device, mountPoint: v.mountPoint, fsType: v.fsType }));
  }
  const web = webModel(node);
  for (const f of webSupportFiles(web)) add(f.path, f.content);
  add(web.configPath, renderWebConf(web, node.publicName ?? node.host.address));
  unit(web.unitName, renderWebServerUnit(web));
  for (const m of rsyncdModels(node, "/etc/mirrorkit")) {
    add(m.configPath, renderRsyncdConf(m));
    if (m.instance === "private") add(m.secretsPath, SECRET_PLACEHOLDER, "0600");
    unit(m.unitName, renderRsyncdUnit(m));
  }
  for (const job of node.sync) {
    const m = syncModel(node, job);
    add(m.scriptPath, renderSyncScript(m), "0755");
    add(m.excludePath, renderSyncExcludes(m));
    if (job.password !== undefined) add(m.passwordPath, SECRET_PLACEHOLDER, "0600");
    unit(m.unitName, renderSyncService(m));
    unit(m.timerName, renderSyncTimer(m));
  }
  const report = reportMirrorModel(node);
  if (report) add(report.path, renderReportMirrorConf(report, "(secret: rendered on the host from Pulumi secret config)"), "0640");
  const push = pushModel(node);
  if (push) {
    add(push.triggerScript, renderPushTrigger(push), "0755");
    add(push.authorizedKeysFile, renderPushAuthorizedKeys(push));
    add(push.sshdDropIn, renderSshdPushDropIn(push));
    for (const job of node.sync) {
      const m = syncModel(node, job);
      unit(m.unitName.replace(/\.service$/, ".path"), renderPushPathUnit(push, { name: job.name, unitName: m.unitName }));
    }
  }
  for (const flip of node.bitflips) {
    const m = bitflipModel(node, flip);
    unit(m.unitName, renderBitflipService(m));
    unit(m.timerName, renderBitflipTimer(m));
  }
  return files;
}
