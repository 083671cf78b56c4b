// Reads [Service] identity lines from a rendered systemd unit.
import { WEB_UNIT } from "../../plan/paths";

export interface UnitIdentity {
  user?: string;
  group?: string;
  supplementaryGroups: string[];
  dynamicUser: boolean;
}

export function unitIdentity(text: string): UnitIdentity {
  const get = (key: string) => {
    const m = new RegExp(`^${key}=(.*)$`, "m").exec(text);
    return m ? m[1].trim() : undefined;
  };
  return {
    user: get("User"),
    group: get("Group"),
    supplementaryGroups: (get("SupplementaryGroups") ?? "").split(/\s+/).filter(Boolean),
    dynamicUser: /^DynamicUser=(yes|true|1)$/m.test(text),
  };
}

/** Is this the unit of the web server (nginx or Apache) the kit installs? */
export function isWebUnit(base: string, content: string): boolean {
  return base === WEB_UNIT || (/\.service$/.test(base) && /^ExecStart=\S*(nginx|apache2|httpd)\b/m.test(content));
}
