// logrotate's config for the web server's logs, which Debian's own logrotate
// files do not cover; a reload makes the server open new files.
import type { WebModel } from "./nginx";
import { unitLogDir } from "../../plan/paths";
import { HEADER } from "./systemd";
import { KIT_TEMPLATES, type Templates } from "./templates";

export function renderLogrotate(m: WebModel, t: Templates = KIT_TEMPLATES): string {
  return t.render("logrotate/mirrorkit.hbs", {
    header: HEADER,
    logDir: unitLogDir(m.unitName),
    unitName: m.unitName,
    user: m.user,
    group: m.group,
    period: m.web.logRotation.period,
    keep: m.web.logRotation.keep,
  });
}

/** logrotate's own check of the staged file: debug mode reads it and changes nothing. */
export function logrotateCheck(): string {
  return 'logrotate -d "$STAGED" 2>"$STAGED.log"; rc=$?; if [ $rc != 0 ] || grep -q "^error:" "$STAGED.log"; then cat "$STAGED.log" >&2; rc=1; fi; rm -f "$STAGED.log"; exit $rc';
}
