// Shared test inputs.
import * as fs from "node:fs";
import * as path from "node:path";
import type { NodeConfig } from "../../components/config";
import { TEMPLATE_DIR } from "../../components/render/templates";
import { PROJECT_DIR } from "../../scripts/lib/pulumi";
import { parseNodeConfig } from "../../components/config";

/** The smallest valid raw config; tests change one field at a time. */
export function minimalRawConfig(): Record<string, unknown> {
  return {
    name: "test-node",
    host: { address: "192.0.2.10", privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nfake\n-----END OPENSSH PRIVATE KEY-----\n" },
  };
}

export function nodeConfig(overrides: Record<string, unknown> = {}): NodeConfig {
  return parseNodeConfig({ ...minimalRawConfig(), ...overrides });
}

/**
 * An unsafe template override, made from the kit's real templates by the
 * given edits (template name -> edit), under .work/ (ignored by git). Returns
 * the project-relative directory for `templateDir`. An edit that no longer
 * changes its template throws, so a fixture cannot silently go stale.
 */
export function unsafeTemplateDir(name: string, edits: Record<string, (text: string) => string>): string {
  const dir = path.join(".work", "unsafe-templates", name);
  for (const [template, edit] of Object.entries(edits)) {
    const real = fs.readFileSync(path.join(TEMPLATE_DIR, template), "utf8");
    const unsafe = edit(real);
    if (unsafe === real) throw new Error(`unsafe fixture ${name}: the edit of ${template} changed nothing`);
    const file = path.join(PROJECT_DIR, dir, template);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, unsafe);
  }
  return dir;
}

/** The three unsafe overrides the policy pack must refuse, each one property away from safe. */
export const UNSAFE_OVERRIDES = {
  /** The sync's rsync runs without -p (staged 0750 directories would arrive world-readable). */
  syncWithoutPerms: () =>
    unsafeTemplateDir("sync-without-perms", {
      "sync/mirror-sync.sh.hbs": (t) => t.replace(/\{\{(stageOneFlags|rsyncFlags)\}\}/g, "-rtlH --safe-links --numeric-ids --delete-after --delay-updates --max-delete=1000"),
    }),
  /** Every rsync module, the public ones too, runs as the mirror account. */
  rsyncAsMirror: () =>
    unsafeTemplateDir("rsync-as-mirror", {
      "rsync/rsyncd.conf.hbs": (t) => t.replace(/^uid = \{\{user\}\}$/m, "uid = mirror").replace(/^gid = \{\{group\}\}$/m, "gid = mirror"),
    }),
  /** Every service, the web server's too, joins the mirror group. */
  webInMirrorGroup: () =>
    unsafeTemplateDir("web-in-mirror-group", {
      "systemd/service.hbs": (t) => t.replace(/^\[Service\]$/m, "[Service]\nSupplementaryGroups=mirror"),
    }),
};
