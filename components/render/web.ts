// The web server's files for either server choice: one place decides
// nginx or Apache for the host runtime, the Docker runtime and `npm run render`.
import type { WebConfig } from "../config";
import { renderApacheConf, renderApacheUnit } from "./apache";
import { njsCheckCommand, renderNginxConf, renderNginxListingFilter, renderNginxUnit, type WebModel } from "./nginx";

export function renderWebConf(m: WebModel, serverName: string): string {
  return m.web.server === "nginx" ? renderNginxConf(m) : renderApacheConf(m, serverName);
}

export function renderWebServerUnit(m: WebModel): string {
  return m.web.server === "nginx" ? renderNginxUnit(m) : renderApacheUnit(m);
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

export function webSupportFiles(m: WebModel): WebSupportFile[] {
  return m.web.server === "nginx"
    ? [{ key: "listing-filter", path: m.listingFilterPath, content: renderNginxListingFilter(m), validate: njsCheckCommand() }]
    : [];
}
