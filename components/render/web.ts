// The web server's files for either server choice: one place decides
// nginx or Apache for the host runtime, the Docker runtime and `npm run render`.
import type { WebConfig } from "../config";
import { renderApacheConf, renderApacheUnit } from "./apache";
import { njsCheckCommand, renderNginxConf, renderNginxListingFilter, renderNginxUnit, type WebModel } from "./nginx";
import { KIT_TEMPLATES, type Templates } from "./templates";

export function renderWebConf(m: WebModel, serverName: string, t: Templates = KIT_TEMPLATES): string {
  return m.web.server === "nginx" ? renderNginxConf(m, t) : renderApacheConf(m, serverName, t);
}

export function renderWebServerUnit(m: WebModel, t: Templates = KIT_TEMPLATES): string {
  return m.web.server === "nginx" ? renderNginxUnit(m, t) : renderApacheUnit(m, t);
}

/** The server's own config check, run on the staged file ("$STAGED"). */
export function webConfigCheck(server: WebConfig["server"]): string {
  return server === "nginx" ? 'nginx -t -q -e stderr -c "$STAGED"' : 'apache2 -t -f "$STAGED"';
}

/** Files the server's config reads, installed (and checked) before it. */
export interface WebSupportFile {
  /** Key naming the file's resources. */
  key: string;
  path: string;
  content: string;
  /** Check of the staged file ("$STAGED"). */
  validate: string;
}

export function webSupportFiles(m: WebModel, t: Templates = KIT_TEMPLATES): WebSupportFile[] {
  return m.web.server === "nginx"
    ? [{ key: "listing-filter", path: m.listingFilterPath, content: renderNginxListingFilter(m, t), validate: njsCheckCommand() }]
    : [];
}
