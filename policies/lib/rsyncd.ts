// A small parser for rsyncd.conf: global parameters and module sections,
// with each module's effective settings (module values over global ones).
export interface RsyncdModule {
  name: string;
  settings: Map<string, string>;
}

export interface RsyncdConf {
  global: Map<string, string>;
  modules: RsyncdModule[];
}

const normKey = (k: string) => k.trim().toLowerCase().replace(/\s+/g, " ").replace(/_/g, " ");

export function parseRsyncd(text: string): RsyncdConf {
  const global = new Map<string, string>();
  const modules: RsyncdModule[] = [];
  let current: Map<string, string> = global;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const section = /^\[(.+)\]$/.exec(line);
    if (section) {
      const mod = { name: section[1].trim(), settings: new Map<string, string>() };
      modules.push(mod);
      current = mod.settings;
      continue;
    }
    const eq = line.indexOf("=");
    if (eq > 0) current.set(normKey(line.slice(0, eq)), line.slice(eq + 1).trim());
  }
  return { global, modules };
}

/** A module's effective value of a parameter. */
export function setting(conf: RsyncdConf, mod: RsyncdModule, key: string): string | undefined {
  const k = normKey(key);
  return mod.settings.get(k) ?? conf.global.get(k);
}

export function isYes(v: string | undefined): boolean {
  return v !== undefined && /^(yes|true|1)$/i.test(v);
}

/** A module is private when it requires authentication. */
export function isPrivateModule(conf: RsyncdConf, mod: RsyncdModule): boolean {
  return (setting(conf, mod, "auth users") ?? "").trim() !== "";
}

export function isRsyncdConf(base: string, content: string): boolean {
  return /rsyncd.*\.conf$/.test(base) || (/^\s*\[[^\]]+\]\s*$/m.test(content) && /^\s*path\s*=/m.test(content) && /^\s*(uid|read only|use chroot)\s*=/m.test(content));
}
